"""Layer norm and group norm in NumPy: the normalizations that do not depend on the batch.

Batch norm (helpers.batchnorm) takes one mean and variance per unit over the BATCH. Two
alternatives take them over the units of ONE example instead, so an example's output no longer
depends on which other examples share its mini-batch (and a batch of one works):

    layer norm (Ba et al. 2016):  mean and variance per example, over all its units
                                  (dense (m, n): over the n units; NHWC: over H, W and C);
    group norm (Wu & He 2018):    the C channels (or n units) are split into `groups` groups of
                                  C / groups neighbouring channels; one mean and variance per
                                  example and group (NHWC: over H, W and the group's channels).
                                  (A dense layer's units have no order, so there the groups are
                                  arbitrary sets of units, not related channels.)

Layer norm is group norm with one group; group norm with one channel per group is "instance
norm". After normalizing, every method scales and shifts with gamma and beta of shape (C,) (or
(n,)): one pair per channel, as in batch norm and in the group-norm paper. (Keras'
LayerNormalization(axis=[1, 2, 3]) learns one gamma per H x W x C entry instead; with those
entries equal per channel it computes exactly ours.)

Layout as everywhere in `helpers`: examples along axis 0, channels last. z is dense (m, n) or
NHWC (N, H, W, C). The functions follow helpers.batchnorm: `*_forward -> (out, cache)`,
`*_backward(dout, cache) -> (dz, dgamma, dbeta)`, and every input is checked: a wrong shape,
dtype, eps or groups raises a ValueError/TypeError naming the argument, what it got and what was
expected.

helpers.network.MLP uses these as normalizers (norm="layer" or "group").
"""

import numbers

import numpy as np

from helpers import validation

__all__ = [
    "groupnorm_backward",
    "groupnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
]


# ----------------------------------------------------------------------------- checks
def _check_z(z):
    """z as a float array, dense (m, n) or NHWC (N, H, W, C), with no empty axis."""
    z = validation.float_array(z, "z")
    if z.ndim not in (2, 4):
        raise ValueError(
            f"z must be dense (m, n) or NHWC (N, H, W, C), examples along axis 0 and channels "
            f"last; got shape {z.shape} ({z.ndim} dimension(s))."
        )
    if 0 in z.shape:
        raise ValueError(f"z is empty (shape {z.shape}); it needs at least one example and unit.")
    return z


def _check_groups(groups, channels):
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"groups must be an int such as 8 (channels per group = C / groups); "
                        f"got {groups!r}.")
    if not 1 <= groups <= channels or channels % groups:
        divisors = [g for g in range(1, channels + 1) if channels % g == 0]
        raise ValueError(
            f"groups must divide the number of channels C = {channels} (the last axis of z) so "
            f"that every group has C / groups channels; got groups={groups!r}. "
            f"Valid values: {divisors}."
        )
    return int(groups)


# ----------------------------------------------------------------------------- the shared core
def _grouped(z, groups):
    """View z as (N, S, G, C/G): S = H*W positions (1 for dense), G groups of C/G channels.

    One example's group is the slice [i, :, g, :]; its statistics are over axes (1, 3).
    """
    N, C = z.shape[0], z.shape[-1]
    return z.reshape(N, -1, groups, C // groups)


_AXES = (1, 3)  # the axes of the grouped view that one mean and variance are taken over


def _groupwise_forward(z, gamma, beta, groups, eps, method):
    z = _check_z(z)
    eps = validation.eps(eps)
    C = z.shape[-1]
    groups = _check_groups(groups, C)
    size = z.size // (z.shape[0] * groups)  # values per example and group
    if size == 1:
        raise ValueError(
            f"{method} of z with shape {z.shape} and {groups} group(s) averages over one value "
            f"per example and group: the variance is 0, so every z_norm would be 0 and gamma/beta "
            f"alone would set the output. Use more units per group (fewer groups)."
        )
    gamma = validation.per_unit(gamma, "gamma", (C,))
    beta = validation.per_unit(beta, "beta", (C,))

    # The batch-norm steps, with the statistics taken over one example's group instead of
    # over the batch (float64 arithmetic, cast back at the end, as in helpers.batchnorm).
    x = _grouped(z.astype(np.float64), groups)             # (N, S, G, C/G)
    mu = x.mean(axis=_AXES, keepdims=True)                 # (N, 1, G, 1)
    var = ((x - mu) ** 2).mean(axis=_AXES, keepdims=True)  # (N, 1, G, 1)
    z_norm = (x - mu) / np.sqrt(var + eps)
    channel_shape = (1, 1, groups, C // groups)            # gamma and beta: one per channel
    z_tilde = gamma.reshape(channel_shape) * z_norm + beta.reshape(channel_shape)
    cache = {
        "z_norm": z_norm,                       # (N, S, G, C/G)
        "gamma": gamma,
        "inv_std": 1.0 / np.sqrt(var + eps),
        "size": size,
        "shape": z.shape,
        "groups": groups,
        "method": method,
        "mu": mu.reshape(z.shape[0], groups),   # one mean per example and group
        "var": var.reshape(z.shape[0], groups),
        "eps": eps,
        "dtype": z.dtype,
    }
    return z_tilde.reshape(z.shape).astype(z.dtype), cache


def _groupwise_backward(dz_tilde, cache, method):
    if not isinstance(cache, dict) or cache.get("method") != method:
        raise TypeError(f"cache must be the dict returned by {method}_forward.")
    shape, z_norm = cache["shape"], cache["z_norm"]
    dout = validation.float_array(dz_tilde, "dz_tilde")
    if dout.shape != shape:
        raise ValueError(f"dz_tilde must have the shape of z, {shape}; got shape {dout.shape}.")
    dout = dout.astype(np.float64).reshape(z_norm.shape)
    C = shape[-1]
    dbeta = dout.sum(axis=(0, 1)).reshape(C)
    dgamma = (dout * z_norm).sum(axis=(0, 1)).reshape(C)
    # The batch-norm formula, with the sums over one example's group instead of over the batch:
    #     dz = inv_std / M * (M * dz_norm - sum(dz_norm) - z_norm * sum(dz_norm * z_norm))
    # with dz_norm = gamma * dz~. gamma now varies inside a group, so it stays inside the sums.
    dz_norm = dout * cache["gamma"].reshape(1, 1, *z_norm.shape[2:])
    M = cache["size"]
    dz = cache["inv_std"] / M * (
        M * dz_norm
        - dz_norm.sum(axis=_AXES, keepdims=True)
        - z_norm * (dz_norm * z_norm).sum(axis=_AXES, keepdims=True)
    )
    dtype = cache["dtype"]
    return dz.reshape(shape).astype(dtype), dgamma.astype(dtype), dbeta.astype(dtype)


# ----------------------------------------------------------------------------- layer norm
def layernorm_forward(z, gamma, beta, eps=1e-5):
    """Layer norm: normalize each example with the mean and variance of its own units.

    Inputs:
      z:     dense (m, n) or NHWC (N, H, W, C), floating point; m may be 1.
      gamma: scale, shape (n,) or (C,): one per unit / channel.
      beta:  shift, same shape as gamma.
      eps:   small positive number added to the variance before the square root.
    Returns:
      z_tilde: gamma * (z - mu) / sqrt(var + eps) + beta, shape and dtype of z, where mu and var
               (biased) are taken per example over all its other axes (dense: axis 1; NHWC:
               axes 1, 2, 3).
      cache:   what layernorm_backward needs; cache["mu"] and cache["var"] have shape (m, 1).
    Nothing depends on the other examples: training and inference compute the same thing.
    """
    return _groupwise_forward(z, gamma, beta, 1, eps, "layernorm")


def layernorm_backward(dz_tilde, cache):
    """Gradients of layer norm.

    Inputs:  dz_tilde, shape of z; cache from layernorm_forward.
    Returns: dz (shape of z), dgamma (n,) or (C,), dbeta (n,) or (C,).
    """
    return _groupwise_backward(dz_tilde, cache, "layernorm")


# ----------------------------------------------------------------------------- group norm
def groupnorm_forward(z, gamma, beta, groups, eps=1e-5):
    """Group norm: normalize each example's channels in groups of C / groups neighbours.

    Inputs:
      z:      dense (m, n) or NHWC (N, H, W, C), floating point; m may be 1.
      gamma:  scale, shape (n,) or (C,).
      beta:   shift, same shape as gamma.
      groups: G, an int dividing C. Group g holds channels g*C/G .. (g+1)*C/G - 1 (as Keras'
              GroupNormalization). G = 1 is layer norm; G = C (NHWC) is instance norm.
      eps:    small positive number added to the variance before the square root.
    Returns:
      z_tilde: shape and dtype of z.
      cache:   what groupnorm_backward needs; cache["mu"] and cache["var"] have shape (m, G).
    """
    return _groupwise_forward(z, gamma, beta, groups, eps, "groupnorm")


def groupnorm_backward(dz_tilde, cache):
    """Gradients of group norm.

    Inputs:  dz_tilde, shape of z; cache from groupnorm_forward.
    Returns: dz (shape of z), dgamma (C,), dbeta (C,).
    """
    return _groupwise_backward(dz_tilde, cache, "groupnorm")

