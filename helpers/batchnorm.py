"""Batch normalization in NumPy: forward, backward, running statistics, inference.

The lecture's recipe, for the pre-activations z of one layer and one mini-batch:

    mu     = mean of z over the batch                       (one value per unit)
    var    = mean of (z - mu)**2 over the batch             (biased, as TensorFlow uses)
    z_norm = (z - mu) / sqrt(var + eps)                     (mean 0, variance ~1 per unit)
    z~     = gamma * z_norm + beta                          (gamma, beta learned like W)

Layout. Examples lie along axis 0, as in TensorFlow: a dense layer's z has shape (m, n)
(m examples, n units), the transpose of the lecture's Z[l] of shape (n[l], m). `axes` names
the axes reduced over, exactly like `tf.nn.moments`: (0,) for dense layers, (0, 1, 2) for
NHWC convolution activations (one mean and variance per channel). gamma, beta, mu and var
have the shape of the axes that are kept: (n,) for dense, (C,) for NHWC.

Every function checks its input and raises a ValueError/TypeError that says which argument
was wrong, what it got and what was expected.
"""

import math
import numbers

import numpy as np

__all__ = [
    "batch_moments",
    "batchnorm_forward",
    "batchnorm_backward",
    "update_running_stats",
    "batchnorm_inference",
]


# ----------------------------------------------------------------------------- checks
def _float_array(x, name):
    """x as an ndarray of float16/32/64; TypeError for anything else (ints, bools, objects)."""
    arr = np.asarray(x)
    if arr.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(
            f"{name} must be a floating-point array (float16, float32 or float64); "
            f"got dtype {arr.dtype}. Convert it first, e.g. {name}.astype(np.float32)."
        )
    return arr


def _compute_dtype(dtype):
    # float16 has ~3 significant digits: sums over a batch lose too much, so compute in float32.
    return np.float32 if dtype == np.float16 else dtype


def _normalize_axes(axes, ndim, name="axes"):
    """axes as a sorted tuple of non-negative ints, checked against z's ndim."""
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = (axes,)
    try:
        axes = tuple(axes)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints; got {axes!r}.") from None
    if not axes:
        raise ValueError(f"{name} must name at least one axis to average over; got ().")
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name} must contain ints; got {a!r} in {axes!r}.")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{name}={axes!r} is out of range for z with {ndim} dimension(s); "
                f"valid axes are {-ndim}..{ndim - 1}."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={axes!r} names the same axis twice.")
    if len(out) == ndim:
        raise ValueError(
            f"{name}={axes!r} reduces over every axis of z, leaving no units to normalize; "
            f"for dense z of shape (m, n) use axes=(0,), for NHWC use axes=(0, 1, 2)."
        )
    return tuple(sorted(out))


def _kept_shape(shape, axes):
    """Shape of one statistic per unit: the axes of z that are not reduced."""
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _check_z(z, axes, training):
    z = _float_array(z, "z")
    if z.ndim < 2:
        raise ValueError(
            f"z must have at least 2 dimensions, examples along axis 0 (dense: (m, n)); "
            f"got shape {z.shape}. A single unit's values need shape (m, 1)."
        )
    axes = _normalize_axes(axes, z.ndim)
    m = math.prod(z.shape[a] for a in axes)
    if m == 0 or 0 in _kept_shape(z.shape, axes):
        raise ValueError(f"z is empty (shape {z.shape}); a batch needs at least one example.")
    if training and m == 1:
        raise ValueError(
            f"z has one value per unit over axes={axes} (shape {z.shape}): the batch variance "
            "is 0, so every z_norm would be 0 and gamma/beta alone would set the output. "
            "Train with a batch of at least 2, or use batchnorm_inference with running statistics."
        )
    return z, axes, m


def _check_per_unit(x, name, kept_shape, dtype):
    """A per-unit parameter (gamma, beta, mean, var): right shape, float, finite."""
    arr = _float_array(x, name)
    if arr.shape != kept_shape:
        raise ValueError(
            f"{name} must have shape {kept_shape}, one value per normalized unit "
            f"(the axes of z that are not averaged over); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; every entry must be a finite number.")
    return arr.astype(dtype, copy=False)


def _check_eps(eps):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a positive float such as 1e-5; got {eps!r}.")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(
            f"eps must be positive and finite (it keeps sqrt(var + eps) away from 0); got {eps!r}."
        )
    return float(eps)


def _keepdims(stat, shape, axes):
    """Reshape a per-unit statistic of the kept shape so it broadcasts against z."""
    return stat.reshape([1 if i in axes else s for i, s in enumerate(shape)])


# ----------------------------------------------------------------------------- forward
def _centered_moments(z, axes):
    """(z_centered, mu, var) with mu and var in keepdims shape, computed stably.

    Two ideas keep float32 accurate:
    - subtract one example first (the "shifted data" trick): when |mu| >> std, the sums are
      then of small numbers and keep their digits, and a constant unit centres to exactly 0;
    - two passes: var = mean((z - mu)**2). The one-pass E[z^2] - E[z]^2 cancels
      catastrophically when |mu| >> std and can even come out negative.
    """
    shift = z[tuple(slice(0, 1) if i in axes else slice(None) for i in range(z.ndim))]
    z_centered = z - shift
    m = z_centered.size // shift.size
    mean_shifted = z_centered.sum(axis=axes, keepdims=True) / m
    z_centered -= mean_shifted
    var = _sum_of_products(z_centered, z_centered, axes, m) / m
    return z_centered, shift + mean_shifted, var


def _sum_of_products(a, b, axes, m):
    """sum(a * b) over axes (keepdims), without a full-size temporary where possible.

    Dense (0,) and NHWC (0, 1, 2) reduce over the leading axes, so a and b are (m, units)
    matrices in disguise and einsum sums the products column by column (about 4x faster
    than building a * b first). Any other choice of axes takes the plain route.
    """
    kept = [1 if i in axes else s for i, s in enumerate(a.shape)]
    if axes == tuple(range(len(axes))):
        return np.einsum("ij,ij->j", a.reshape(m, -1), b.reshape(m, -1)).reshape(kept)
    return (a * b).sum(axis=axes, keepdims=True)


def batch_moments(z, axes=(0,)):
    """Mean and biased variance of z over `axes`, like `tf.nn.moments`.

    Inputs:  z of shape (m, n) (or NHWC with axes=(0, 1, 2)), floating point.
    Returns: (mu, var), each of the kept shape ((n,) or (C,)), in z's dtype.
    """
    z, axes, _ = _check_z(z, axes, training=False)
    _, mu, var = _centered_moments(z.astype(_compute_dtype(z.dtype), copy=False), axes)
    kept = _kept_shape(z.shape, axes)
    return mu.reshape(kept).astype(z.dtype), var.reshape(kept).astype(z.dtype)


def batchnorm_forward(z, gamma, beta, eps=1e-5, axes=(0,)):
    """Batch norm in training mode: normalize z with the statistics of this batch.

    Inputs:
      z:     pre-activations, shape (m, n) for a dense layer, or (N, H, W, C) with axes=(0, 1, 2).
      gamma: scale, shape of the kept axes: (n,) or (C,).
      beta:  shift, same shape as gamma.
      eps:   small positive number added to the variance before the square root.
      axes:  the axes to average over, as in `tf.nn.moments`.
    Returns:
      z_tilde: gamma * z_norm + beta, same shape and dtype as z.
      cache:   dict with what the backward pass needs (z_norm, gamma, inv_std, axes) and
               the batch statistics mu and var (kept shape) for the running averages.
    """
    z, axes, m = _check_z(z, axes, training=True)
    eps = _check_eps(eps)
    dtype = _compute_dtype(z.dtype)
    kept = _kept_shape(z.shape, axes)
    gamma = _check_per_unit(gamma, "gamma", kept, dtype)
    beta = _check_per_unit(beta, "beta", kept, dtype)

    z_centered, mu, var = _centered_moments(z.astype(dtype, copy=False), axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    z_norm = z_centered
    z_norm *= inv_std  # in place: z_centered's memory becomes z_norm, no new array
    z_tilde = z_norm * _keepdims(gamma, z.shape, axes)
    z_tilde += _keepdims(beta, z.shape, axes)

    cache = {
        "z_norm": z_norm,
        "gamma": gamma,
        "inv_std": inv_std,
        "axes": axes,
        "m": m,
        "mu": mu.reshape(kept),
        "var": var.reshape(kept),
        "eps": eps,
        "dtype": z.dtype,
    }
    return z_tilde.astype(z.dtype, copy=False), cache


# ----------------------------------------------------------------------------- backward
def batchnorm_backward(dz_tilde, cache):
    """Gradients of batch norm, given the upstream gradient dL/dz~.

    Inputs:
      dz_tilde: shape of z (e.g. (m, n)), the gradient of the loss with respect to z~.
      cache:    from batchnorm_forward.
    Returns:
      dz:     shape of z.
      dgamma: kept shape ((n,) or (C,)).
      dbeta:  kept shape.

    Every example's z enters z_norm three ways: directly, through mu and through var.
    Summing the three paths gives the compact form
        dz = inv_std / m * (m * dz_norm - sum(dz_norm) - z_norm * sum(dz_norm * z_norm))
    with dz_norm = gamma * dz~ and sums over the batch axes.
    """
    if not isinstance(cache, dict) or "z_norm" not in cache:
        raise TypeError("cache must be the dict returned by batchnorm_forward.")
    z_norm, axes, m = cache["z_norm"], cache["axes"], cache["m"]
    dout = _float_array(dz_tilde, "dz_tilde")
    if dout.shape != z_norm.shape:
        raise ValueError(
            f"dz_tilde must have the shape of z, {z_norm.shape}; got shape {dout.shape}."
        )
    dout = dout.astype(z_norm.dtype, copy=False)
    kept = cache["gamma"].shape

    dbeta = dout.sum(axis=axes)
    dgamma = _sum_of_products(dout, z_norm, axes, m)
    # dz_norm = gamma * dz~, and gamma is constant over the batch, so
    # sum(dz_norm) = gamma * dbeta and sum(dz_norm * z_norm) = gamma * dgamma:
    #     dz = gamma * inv_std / m * (m * dz~ - dbeta - z_norm * dgamma)
    # The mean branch removes the average of dz~; the variance branch removes its
    # projection on z_norm. What is left is orthogonal to both: sum(dz) = 0 per unit.
    gamma = _keepdims(cache["gamma"], z_norm.shape, axes)
    dz = m * dout
    dz -= _keepdims(dbeta, z_norm.shape, axes)
    dz -= z_norm * _keepdims(dgamma, z_norm.shape, axes)
    dz *= gamma * cache["inv_std"] / m
    dtype = cache["dtype"]
    return (
        dz.astype(dtype, copy=False),
        dgamma.reshape(kept).astype(dtype, copy=False),
        dbeta.reshape(kept).astype(dtype, copy=False),
    )


# ----------------------------------------------------------------------------- test time
def _check_momentum(momentum):
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"momentum must be a float in [0, 1] such as 0.9; got {momentum!r}.")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(
            f"momentum must be in [0, 1] (the weight of the old average); got {momentum!r}."
        )
    return float(momentum)


def update_running_stats(running_mean, running_var, batch_mean, batch_var, momentum=0.9):
    """Exponentially weighted averages of the batch statistics, for use at test time.

        new = momentum * old + (1 - momentum) * batch

    This is the lecture's exponentially weighted average with beta = momentum, and the
    meaning of `momentum` in Keras' BatchNormalization (PyTorch's momentum is 1 - ours).

    Inputs:  four arrays of the same shape (n,) (or (C,)); momentum in [0, 1].
    Returns: (running_mean, running_var), new arrays; the inputs are not modified.
    """
    momentum = _check_momentum(momentum)
    running_mean = _float_array(running_mean, "running_mean")
    shape = running_mean.shape
    dtype = running_mean.dtype
    arrays = {"running_mean": running_mean}
    for name, x in (
        ("running_var", running_var),
        ("batch_mean", batch_mean),
        ("batch_var", batch_var),
    ):
        arrays[name] = _check_per_unit(x, name, shape, dtype)
    if not np.all(np.isfinite(running_mean)):
        raise ValueError("running_mean contains NaN or inf; every entry must be a finite number.")
    for name in ("running_var", "batch_var"):
        if np.any(arrays[name] < 0):
            raise ValueError(f"{name} has negative entries; a variance is never negative.")
    new_mean = momentum * running_mean + (1 - momentum) * arrays["batch_mean"]
    new_var = momentum * arrays["running_var"] + (1 - momentum) * arrays["batch_var"]
    return new_mean.astype(dtype, copy=False), new_var.astype(dtype, copy=False)


def batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5, axes=(0,)):
    """Batch norm at test time: normalize with fixed (running) statistics, not the batch's.

    Each example's output then depends on that example alone, so a batch of one works.

    Inputs:
      z: shape (m, n) (or NHWC with axes=(0, 1, 2)); m may be 1.
      gamma, beta, running_mean, running_var: kept shape ((n,) or (C,)).
    Returns:
      z_tilde of the shape and dtype of z.
    """
    z, axes, _ = _check_z(z, axes, training=False)
    eps = _check_eps(eps)
    dtype = _compute_dtype(z.dtype)
    kept = _kept_shape(z.shape, axes)
    gamma = _check_per_unit(gamma, "gamma", kept, dtype)
    beta = _check_per_unit(beta, "beta", kept, dtype)
    mean = _check_per_unit(running_mean, "running_mean", kept, dtype)
    var = _check_per_unit(running_var, "running_var", kept, dtype)
    if np.any(var < 0):
        raise ValueError("running_var has negative entries; a variance is never negative.")
    # Fold the fixed statistics into one scale and one shift per unit: two operations per value.
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    zc = z.astype(dtype, copy=False)
    z_tilde = zc * _keepdims(scale, z.shape, axes) + _keepdims(shift, z.shape, axes)
    return z_tilde.astype(z.dtype, copy=False)
