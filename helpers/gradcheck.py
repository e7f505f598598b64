"""Numerical gradients: the check that a hand-written backward pass is right.

Centred differences, (f(x + h) - f(x - h)) / (2h), have error O(h^2), so in float64 with
h = 1e-5 a correct analytic gradient agrees to about 1e-8 or better in relative terms.
"""

import numpy as np

from helpers import validation

__all__ = ["numerical_gradient", "numerical_gradient_array", "relative_error"]


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function f at x by centred differences (CS231n's convention).

    Inputs:  f, a function called as f(x) that returns a float; x, a float64 array of any
             shape, nudged in place one entry at a time (so f may also read x from elsewhere,
             e.g. a parameter dict holding the same array).
    Returns: grad, same shape as x. x is restored exactly afterwards.
    """
    return numerical_gradient_array(f, x, 1.0, h)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f(x) * dout) with respect to x, for array-valued f (a layer's output).

    Inputs:  f, called as f(x), returning an array of dout's shape;
             x, float64 array nudged in place; dout, the upstream gradient.
    Returns: grad, same shape as x.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 ndarray (float32 is too coarse for a gradient "
                        f"check); got {got}.")
    h = validation.real(h, "h", low=0, example="1e-5")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = np.array(f(x), dtype=np.float64)   # a copy: f may return a view of x
        x[i] = old - h
        minus = np.array(f(x), dtype=np.float64)
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
