"""Numerical gradients: the check that a hand-written backward pass is right.

Centred differences, (f(x + h) - f(x - h)) / (2h), have error O(h^2), so in float64 with
h = 1e-5 a correct analytic gradient agrees to about 1e-8 or better in relative terms.
"""

import numpy as np

__all__ = ["numerical_gradient", "numerical_gradient_array", "relative_error"]


def _check_float64(x, name):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"{name} must be a float64 ndarray (float32 is too coarse for a gradient check); "
            f"got {got}."
        )


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function f at x by centred differences.

    Inputs:  f, a function of no arguments returning a float, that reads x (it is called
             after each entry of x is nudged in place); x, a float64 array of any shape.
    Returns: grad, same shape as x. x is restored exactly afterwards.
    """
    return numerical_gradient_array(lambda: np.asarray(f(), dtype=np.float64), x, 1.0, h)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f() * dout) with respect to x, for array-valued f (a layer's output).

    Inputs:  f, a function of no arguments returning an array of dout's shape;
             x, float64 array nudged in place; dout, the upstream gradient.
    Returns: grad, same shape as x.
    """
    _check_float64(x, "x")
    if not h > 0:
        raise ValueError(f"h must be positive; got {h!r}.")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.array(f(), dtype=np.float64, copy=True)
        x[i] = old - h
        minus = np.array(f(), dtype=np.float64, copy=True)
        x[i] = old
        grad[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def relative_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)): one number for how far two gradients differ.

    Scaled by the size of the gradients as a whole, so entries that are ~0 in both do not
    blow up the ratio. Below 1e-8 in float64: the backward pass is right.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}.")
    if a.size == 0:
        raise ValueError("a and b are empty; nothing to compare.")
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))
