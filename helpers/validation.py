"""Argument checks for every public helper, and the one place their error messages are worded.

A student who passes the wrong thing should read what was wrong and what was expected, not a
NumPy broadcasting error three calls deep. Each check returns the cleaned value, so a helper
starts with one line per argument:

    z, axes, m = validation.batch(z, axes, training=True)
    eps = validation.eps(eps)

Errors: TypeError for the wrong kind of value (an int array where floats are needed, a string
for a number), ValueError for the right kind with a wrong value (a shape, eps <= 0, NaN).
This module imports nothing from `helpers`.
"""

import math
import numbers

import numpy as np

__all__ = [
    "float_array",
    "number_array",
    "real",
    "integer",
    "eps",
    "fraction",
    "choice",
    "axes",
    "batch",
    "per_unit",
    "same_shape",
    "finite",
    "labels",
]

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


# ----------------------------------------------------------------------------- scalars
def _is_real(value):
    # bool is an int in Python, but True is never a sensible learning rate or eps.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def real(value, name, *, low=None, high=None, low_open=True, high_open=False, example=None):
    """value as a float in the interval given by low/high (open or closed ends), finite.

    Example: real(lr, "learning_rate", low=0) accepts 0 < lr < inf.
    """
    hint = f" such as {example}" if example is not None else ""
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number{hint}; got {value!r} "
                        f"of type {type(value).__name__}.")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        low_text = "-inf" if low is None else low
        high_text = "inf" if high is None else high
        interval = f"{left}{low_text}, {high_text}{right}"
        raise ValueError(f"{name} must be a finite number in {interval}{hint}; got {value!r}.")
    return value


def integer(value, name, *, low=1, high=None):
    """value as an int with low <= value (<= high); bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {value!r} of type {type(value).__name__}.")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bounds}; got {value!r}.")
    return int(value)


def eps(value, name="eps"):
    """eps > 0 and finite: it keeps sqrt(var + eps) away from 0 when a unit is constant."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a positive float such as 1e-5; got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite (it keeps sqrt(var + {name}) "
                         f"away from 0); got {value!r}.")
    return float(value)


def fraction(value, name, *, high_open=False, why="the weight of the old average"):
    """A weight in [0, 1] (or [0, 1) with high_open), such as momentum or Adam's beta1."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a float in [0, 1] such as 0.9; got {value!r}.")
    value = float(value)
    if not (0.0 <= value < 1.0 if high_open else 0.0 <= value <= 1.0):
        interval = "[0, 1)" if high_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval} ({why}); got {value!r}.")
    return value


def choice(value, name, options):
    """value must be one of options (a dict's keys or a sequence)."""
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)!r}; got {value!r}.")
    return value


# ----------------------------------------------------------------------------- arrays
def float_array(x, name, ndim=None):
    """x as an ndarray of float16/32/64; TypeError for ints, bools and objects."""
    arr = np.asarray(x)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a floating-point array (float16, float32 or float64); "
                        f"got dtype {arr.dtype}. Convert it first, e.g. {name}.astype(np.float32).")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}.")
    return arr


def number_array(x, name, ndim=None):
    """x as an ndarray of ints or floats (raw data such as pixel counts may be ints)."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold numbers (an int or float dtype); got dtype {arr.dtype}.")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}.")
    return arr


def finite(arr, name):
    """arr unchanged, after checking it has no NaN or inf."""
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(f"{name} contains NaN or inf ({bad} value(s)); "
                         "every entry must be a finite number.")
    return arr


def same_shape(x, like, name, what="the forward output"):
    """x as a float array of like's shape (an upstream gradient must match its forward output)."""
    x = float_array(x, name)
    if x.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape} ({what}); got shape {x.shape}.")
    return x


def labels(y, m, classes=None):
    """y as an int array of shape (m,), with values in range(classes) if classes is given."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels; got dtype {y.dtype}.")
    if y.shape != (m,):
        raise ValueError(f"y must have shape ({m},), one label per example (row); "
                         f"got shape {y.shape}.")
    if classes is not None and y.size and not (0 <= y.min() and y.max() < classes):
        raise ValueError(f"y must hold labels in 0..{classes - 1}; got values from "
                         f"{y.min()} to {y.max()}.")
    return y


# ----------------------------------------------------------------------------- batch norm
def axes(value, ndim, name="axes"):
    """The axes a statistic is averaged over, as a sorted tuple of non-negative ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        given = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints; got {value!r}.") from None
    if not given:
        raise ValueError(f"{name} must name at least one axis to average over; got ().")
    out = []
    for a in given:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name} must contain ints; got {a!r} in {given!r}.")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={given!r} is out of range for z with {ndim} dimension(s); "
                             f"valid axes are {-ndim}..{ndim - 1}.")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={given!r} names the same axis twice.")
    if len(out) == ndim:
        raise ValueError(f"{name}={given!r} reduces over every axis of z, leaving no units to "
                         "normalize; for dense z of shape (m, n) use axes=(0,), for NHWC "
                         "use axes=(0, 1, 2).")
    return tuple(sorted(out))


def batch(z, axes_, training):
    """z (float, at least 2-D), its axes as a tuple, and m = values per statistic.

    In training mode a batch needs m >= 2: with one value per unit the batch variance is 0 and
    every z_norm would be 0. NaN in z is data, not a wrong argument: it stays in its own unit,
    so a diverging training run shows up as NaN losses instead of stopping with an error.
    """
    z = float_array(z, "z")
    if z.ndim < 2:
        raise ValueError(f"z must have at least 2 dimensions, examples along axis 0 "
                         f"(dense: (m, n)); got shape {z.shape}. A single unit's values "
                         "need shape (m, 1).")
    axes_ = axes(axes_, z.ndim)
    if z.size == 0:
        raise ValueError(f"z is empty (shape {z.shape}); a batch needs at least one example.")
    m = math.prod(z.shape[a] for a in axes_)
    if training and m == 1:
        raise ValueError(
            f"z has one value per unit over axes={axes_} (shape {z.shape}): the batch variance "
            "is 0, so every z_norm would be 0 and gamma/beta alone would set the output. "
            "Train with a batch of at least 2, or use batchnorm_inference with running statistics.")
    return z, axes_, m


def per_unit(x, name, shape, nonnegative=False):
    """A per-unit parameter or statistic (gamma, beta, mu, var): float, given shape, finite."""
    arr = float_array(x, name)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, one value per normalized unit "
                         f"(the axes of z that are not averaged over); got shape {arr.shape}.")
    finite(arr, name)
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} has negative entries; a variance is never negative.")
    return arr
