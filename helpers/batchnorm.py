"""Batch normalization in NumPy: forward, backward, running statistics, inference.

The lecture's recipe, for the pre-activations z of one layer and one mini-batch:

    mu     = mean of z over the batch                       (one value per unit)
    var    = mean of (z - mu)**2 over the batch             (biased, as TensorFlow uses)
    z_norm = (z - mu) / sqrt(var + eps)                     (mean 0, variance ~1 per unit)
    z~     = gamma * z_norm + beta                          (gamma, beta learned like W)

Layout. Examples lie along axis 0, as in TensorFlow: a dense layer's z has shape (m, n)
(m examples, n units), the transpose of the lecture's Z[l] of shape (n[l], m). `axes` names
the axes averaged over, exactly like `tf.nn.moments`: (0,) for dense layers, (0, 1, 2) for
NHWC convolution activations (one mean and variance per channel, over every example and
every position). gamma, beta, mu and var have the shape of the axes that are kept: (n,) for
dense, (C,) for NHWC.

Precision. Whatever z's dtype, the arithmetic is done in float64 and the results are cast
back to z's dtype. float32 sums over 65,536 examples, or around an offset of 1e5, would lose
digits; float64 keeps them, and the code stays the four lines above.

Every function checks its arguments first (helpers.validation): a wrong shape, dtype, eps or
a NaN parameter gets an error that names the argument and what was expected.
"""

import numpy as np

from helpers import validation

__all__ = [
    "batch_moments",
    "batchnorm_forward",
    "batchnorm_backward",
    "update_running_stats",
    "batchnorm_inference",
]


def kept_shape(shape, axes):
    """Shape of one statistic per unit: the axes of z that are not averaged over."""
    return tuple(size for axis, size in enumerate(shape) if axis not in axes)


# ----------------------------------------------------------------------------- forward
def batch_moments(z, axes=(0,)):
    """Mean and biased variance of z over `axes`, like `tf.nn.moments`.

    Inputs:  z of shape (m, n) (or NHWC with axes=(0, 1, 2)), floating point.
    Returns: (mu, var), each of the kept shape ((n,) or (C,)), in z's dtype.
    """
    z, axes, _ = validation.batch(z, axes, training=False)
    x = z.astype(np.float64)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    kept = kept_shape(z.shape, axes)
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
      cache:   dict with what the backward pass needs (z_norm, gamma, inv_std, m, axes) and
               the batch statistics mu and var (kept shape) for the running averages.
    """
    z, axes, m = validation.batch(z, axes, training=True)
    eps = validation.eps(eps)
    kept = kept_shape(z.shape, axes)
    gamma = validation.per_unit(gamma, "gamma", kept)
    beta = validation.per_unit(beta, "beta", kept)

    x = z.astype(np.float64)
    mu = x.mean(axis=axes, keepdims=True)                   # (1, n): one mean per unit
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)    # (1, n): biased, divides by m
    z_norm = (x - mu) / np.sqrt(var + eps)                  # (m, n): mean 0, variance ~1
    # gamma and beta have the kept shape (n,); reshaping them like mu lines them up with
    # their units for any choice of axes.
    z_tilde = gamma.reshape(mu.shape) * z_norm + beta.reshape(mu.shape)

    cache = {
        "z_norm": z_norm,
        "gamma": gamma,
        "inv_std": 1.0 / np.sqrt(var + eps),  # (1, n), kept for the backward pass
        "m": m,
        "axes": axes,
        "mu": mu.reshape(kept),
        "var": var.reshape(kept),
        "eps": eps,
        "dtype": z.dtype,
    }
    return z_tilde.astype(z.dtype), cache


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
    """
    if not isinstance(cache, dict) or "z_norm" not in cache:
        raise TypeError("cache must be the dict returned by batchnorm_forward.")
    z_norm, inv_std, m, axes = cache["z_norm"], cache["inv_std"], cache["m"], cache["axes"]
    gamma = cache["gamma"].reshape(inv_std.shape)  # (n,) -> (1, n), lined up with its unit
    dz_tilde = validation.same_shape(dz_tilde, z_norm, "dz_tilde", "the shape of z")
    dz_tilde = dz_tilde.astype(np.float64)

    # z~ = gamma * z_norm + beta, so beta collects dz~ and gamma collects dz~ * z_norm.
    dbeta = dz_tilde.sum(axis=axes)
    dgamma = (dz_tilde * z_norm).sum(axis=axes)
    dz_norm = gamma * dz_tilde
    # Each z enters z_norm three ways: directly, through mu and through var. Adding the
    # three chain-rule paths (notebook 04 derives them one by one) gives
    #     dz = inv_std / m * (m * dz_norm - sum(dz_norm) - z_norm * sum(dz_norm * z_norm))
    # The mean path removes the average of dz_norm; the variance path removes its part
    # along z_norm. So the gradients of one unit's z sum to 0: shifting a whole unit by a
    # constant does not change z_norm, and cannot change the loss.
    dz = inv_std / m * (
        m * dz_norm
        - dz_norm.sum(axis=axes, keepdims=True)
        - z_norm * (dz_norm * z_norm).sum(axis=axes, keepdims=True)
    )
    dtype = cache["dtype"]
    return dz.astype(dtype), dgamma.astype(dtype), dbeta.astype(dtype)


# ----------------------------------------------------------------------------- test time
def update_running_stats(running_mean, running_var, batch_mean, batch_var, momentum=0.9):
    """Exponentially weighted averages of the batch statistics, for use at test time.

        new = momentum * old + (1 - momentum) * batch

    This is the lecture's exponentially weighted average with beta = momentum, and the
    meaning of `momentum` in Keras' BatchNormalization (PyTorch's momentum is 1 - ours).

    Inputs:  four arrays of the same shape (n,) (or (C,)); momentum in [0, 1].
    Returns: (running_mean, running_var), new arrays; the inputs are not modified.
    """
    momentum = validation.fraction(momentum, "momentum")
    shape = validation.float_array(running_mean, "running_mean").shape
    running_mean = validation.per_unit(running_mean, "running_mean", shape)
    running_var = validation.per_unit(running_var, "running_var", shape, nonnegative=True)
    batch_mean = validation.per_unit(batch_mean, "batch_mean", shape)
    batch_var = validation.per_unit(batch_var, "batch_var", shape, nonnegative=True)

    new_mean = momentum * running_mean + (1 - momentum) * batch_mean
    new_var = momentum * running_var + (1 - momentum) * batch_var
    return new_mean.astype(running_mean.dtype), new_var.astype(running_mean.dtype)


def batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5, axes=(0,)):
    """Batch norm at test time: normalize with fixed (running) statistics, not the batch's.

    Each example's output then depends on that example alone, so a batch of one works.

    Inputs:
      z: shape (m, n) (or NHWC with axes=(0, 1, 2)); m may be 1.
      gamma, beta, running_mean, running_var: kept shape ((n,) or (C,)).
    Returns:
      z_tilde of the shape and dtype of z.
    """
    z, axes, _ = validation.batch(z, axes, training=False)
    eps = validation.eps(eps)
    kept = kept_shape(z.shape, axes)
    gamma = validation.per_unit(gamma, "gamma", kept)
    beta = validation.per_unit(beta, "beta", kept)
    mu = validation.per_unit(running_mean, "running_mean", kept)
    var = validation.per_unit(running_var, "running_var", kept, nonnegative=True)

    # The same two steps as in training, with the running statistics in place of the batch's.
    unit_shape = [1 if axis in axes else size for axis, size in enumerate(z.shape)]
    mu, var = mu.reshape(unit_shape), var.reshape(unit_shape)
    z_norm = (z.astype(np.float64) - mu) / np.sqrt(var + eps)
    z_tilde = gamma.reshape(unit_shape) * z_norm + beta.reshape(unit_shape)
    return z_tilde.astype(z.dtype)
