"""Layer norm and group norm in NumPy, and a small MLP to compare them with batch norm.

Batch norm (helpers.batchnorm) takes one mean and variance per unit over the BATCH. Two
alternatives take them over the units of ONE example instead, so an example's output no longer
depends on which other examples share its mini-batch (and a batch of one works):

    layer norm (Ba et al. 2016):  mean and variance per example, over all its units
                                  (dense (m, n): over the n units; NHWC: over H, W and C);
    group norm (Wu & He 2018):    the C channels (or n units) are split into `groups` groups of
                                  C / groups neighbouring channels; one mean and variance per
                                  example and group (NHWC: over H, W and the group's channels).

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

The second half holds `NormMLP` and `train_norm_mlp`: the course's MLP (dense -> norm -> relu,
softmax output) with a choice of normalization, for notebook 08's batch-size experiment.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from helpers.batchnorm import (
    _check_eps,
    _check_per_unit,
    _compute_dtype,
    _float_array,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.data import minibatches
from helpers.layers import (
    dense_backward,
    dense_forward,
    relu_backward,
    relu_forward,
    softmax_cross_entropy,
)

__all__ = [
    "NORMS",
    "NormMLP",
    "groupnorm_backward",
    "groupnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
    "train_norm_mlp",
]


# ----------------------------------------------------------------------------- checks
def _check_z(z):
    """z as a float array, dense (m, n) or NHWC (N, H, W, C), with no empty axis."""
    z = _float_array(z, "z")
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
    eps = _check_eps(eps)
    C = z.shape[-1]
    groups = _check_groups(groups, C)
    size = z.size // (z.shape[0] * groups)  # values per example and group
    if size == 1:
        raise ValueError(
            f"{method} of z with shape {z.shape} and {groups} group(s) averages over one value "
            f"per example and group: the variance is 0, so every z_norm would be 0 and gamma/beta "
            f"alone would set the output. Use more units per group (fewer groups)."
        )
    dtype = _compute_dtype(z.dtype)
    gamma = _check_per_unit(gamma, "gamma", (C,), dtype)
    beta = _check_per_unit(beta, "beta", (C,), dtype)

    zg = _grouped(z.astype(dtype, copy=False), groups)
    # Two passes, as in helpers.batchnorm: var = mean((z - mu)**2) never cancels catastrophically.
    mu = zg.mean(axis=_AXES, keepdims=True)
    z_norm = zg - mu
    var = np.mean(z_norm * z_norm, axis=_AXES, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    z_norm *= inv_std
    g = gamma.reshape(1, 1, groups, C // groups)
    b = beta.reshape(1, 1, groups, C // groups)
    z_tilde = (z_norm * g + b).reshape(z.shape)
    cache = {
        "z_norm": z_norm,                       # (N, S, G, C/G)
        "gamma": gamma,
        "inv_std": inv_std,
        "size": size,
        "shape": z.shape,
        "groups": groups,
        "method": method,
        "mu": mu.reshape(z.shape[0], groups),   # one mean per example and group
        "var": var.reshape(z.shape[0], groups),
        "eps": eps,
        "dtype": z.dtype,
    }
    return z_tilde.astype(z.dtype, copy=False), cache


def _groupwise_backward(dz_tilde, cache, method):
    if not isinstance(cache, dict) or cache.get("method") != method:
        raise TypeError(f"cache must be the dict returned by {method}_forward.")
    shape, z_norm = cache["shape"], cache["z_norm"]
    dout = _float_array(dz_tilde, "dz_tilde")
    if dout.shape != shape:
        raise ValueError(f"dz_tilde must have the shape of z, {shape}; got shape {dout.shape}.")
    dout = dout.astype(z_norm.dtype, copy=False).reshape(z_norm.shape)
    C = shape[-1]
    dbeta = dout.sum(axis=(0, 1)).reshape(C)
    dgamma = (dout * z_norm).sum(axis=(0, 1)).reshape(C)
    # The batch-norm formula, with the sums over one example's group instead of over the batch:
    #     dz = inv_std / M * (M * dz_norm - sum(dz_norm) - z_norm * sum(dz_norm * z_norm))
    # with dz_norm = gamma * dz~. gamma now varies inside a group, so it stays inside the sums.
    dz_norm = dout * cache["gamma"].reshape(1, 1, *z_norm.shape[2:])
    M = cache["size"]
    dz = M * dz_norm
    dz -= dz_norm.sum(axis=_AXES, keepdims=True)
    dz -= z_norm * (dz_norm * z_norm).sum(axis=_AXES, keepdims=True)
    dz *= cache["inv_std"] / M
    dtype = cache["dtype"]
    return (dz.reshape(shape).astype(dtype, copy=False), dgamma.astype(dtype, copy=False),
            dbeta.astype(dtype, copy=False))


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


# ============================================================================= an MLP to compare
NORMS = ("none", "batch", "layer", "group")


@dataclass(frozen=True)
class NormMLP:
    """Dense -> normalization -> relu per hidden layer, then a dense softmax output layer.

    layer_sizes: (n_x, n[1], ..., n_classes); norm: one of NORMS; groups: for norm="group"
    (must divide every hidden size); momentum, eps: batch norm's running averages and eps.
    Parameters ("W1", "gamma1", "beta1", ..., "W{L}", "b{L}") as in helpers.network: the hidden
    layers have no bias b under any normalization (beta is the shift), nor without one
    (norm="none" keeps "b{l}"). Only batch norm has running statistics ("running_mean{l}",
    "running_var{l}"), because only batch norm behaves differently at inference.
    """

    layer_sizes: tuple
    norm: str = "batch"
    groups: int = 8
    momentum: float = 0.9
    eps: float = 1e-5

    def __post_init__(self):
        sizes = tuple(self.layer_sizes)
        if len(sizes) < 3 or any(isinstance(n, bool) or not isinstance(n, numbers.Integral)
                                 or n < 1 for n in sizes):
            raise ValueError(f"layer_sizes must hold at least 3 positive ints (inputs, hidden "
                             f"layer(s), classes); got {self.layer_sizes!r}.")
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in sizes))
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}; got {self.norm!r}.")
        if self.norm == "group":
            for n in sizes[1:-1]:
                _check_groups(self.groups, n)
        _check_eps(self.eps)
        m = self.momentum
        if isinstance(m, bool) or not isinstance(m, numbers.Real) or not 0 <= m <= 1:
            raise ValueError(f"momentum must be a number in [0, 1], e.g. 0.9; got {m!r}.")

    @property
    def L(self):
        return len(self.layer_sizes) - 1

    def init(self, seed=0):
        """(params, state): He-initialised W, zero b and beta, unit gamma; running 0 / 1."""
        rng = np.random.default_rng(seed)
        params, state = {}, {}
        for l in range(1, self.L + 1):
            n_in, n_out = self.layer_sizes[l - 1], self.layer_sizes[l]
            scale = math.sqrt(2 / n_in) if l < self.L else math.sqrt(2 / (n_in + n_out))
            params[f"W{l}"] = scale * rng.standard_normal((n_in, n_out))
            if l == self.L or self.norm == "none":
                params[f"b{l}"] = np.zeros(n_out)
            else:
                params[f"gamma{l}"], params[f"beta{l}"] = np.ones(n_out), np.zeros(n_out)
            if l < self.L and self.norm == "batch":
                state[f"running_mean{l}"], state[f"running_var{l}"] = np.zeros(n_out), np.ones(n_out)
        return params, state

    def _normalize(self, z, params, state, new_state, l, training):
        gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
        if self.norm == "layer":
            return layernorm_forward(z, gamma, beta, self.eps)
        if self.norm == "group":
            return groupnorm_forward(z, gamma, beta, self.groups, self.eps)
        mean, var = f"running_mean{l}", f"running_var{l}"
        if not training:
            return batchnorm_inference(z, gamma, beta, state[mean], state[var], self.eps), None
        out, cache = batchnorm_forward(z, gamma, beta, self.eps)
        new_state[mean], new_state[var] = update_running_stats(
            state[mean], state[var], cache["mu"], cache["var"], self.momentum)
        return out, cache

    def forward(self, params, state, X, training):
        """(logits (m, n_classes), new_state, cache). training=True: batch norm uses the batch's
        statistics (m >= 2) and updates the running ones; layer/group norm ignore the flag."""
        a, new_state, layers = X, dict(state), []
        for l in range(1, self.L):
            z, dense = dense_forward(a, params[f"W{l}"], params.get(f"b{l}"))
            norm = None
            if self.norm != "none":
                z, norm = self._normalize(z, params, state, new_state, l, training)
            a, relu = relu_forward(z)
            layers.append((dense, norm, relu))
        logits, out = dense_forward(a, params[f"W{self.L}"], params[f"b{self.L}"])
        return logits, new_state, {"layers": layers, "out": out}

    def backward(self, dlogits, cache):
        """grads, a dict with the keys and shapes of params (cache from a training forward)."""
        backward = {"batch": batchnorm_backward, "layer": layernorm_backward,
                    "group": groupnorm_backward}.get(self.norm)
        grads = {}
        da, grads[f"W{self.L}"], grads[f"b{self.L}"] = dense_backward(dlogits, cache["out"])
        for l in range(self.L - 1, 0, -1):
            dense, norm, relu = cache["layers"][l - 1]
            dz = relu_backward(da, relu)
            if backward is not None:
                dz, grads[f"gamma{l}"], grads[f"beta{l}"] = backward(dz, norm)
            da, grads[f"W{l}"], db = dense_backward(dz, dense)
            if db is not None:
                grads[f"b{l}"] = db
        return grads

    def accuracy(self, params, state, X, y):
        """Fraction of X classified as y in inference mode (batch norm: running statistics)."""
        logits, _, _ = self.forward(params, state, X, training=False)
        return float(np.mean(logits.argmax(axis=1) == np.asarray(y)))


def train_norm_mlp(net, params, state, X, y, optimizer, *, epochs=3, batch_size=32, seed=0):
    """Mini-batch training; returns (params, state, step_losses (steps,)).

    Each epoch visits every example once in an order drawn from np.random.default_rng(seed).
    A last batch of one example is skipped: batch norm cannot normalize it (the other
    normalizations could, but then every method sees the same examples).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}.")
    rng = np.random.default_rng(seed)
    opt_state = optimizer.init_state(params)
    losses = []
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, seed=rng):
            if len(X_batch) < 2:
                continue
            logits, state, cache = net.forward(params, state, X_batch, training=True)
            loss, dlogits = softmax_cross_entropy(logits, y_batch)
            params, opt_state = optimizer.step(params, net.backward(dlogits, cache), opt_state)
            losses.append(loss)
    return params, state, np.asarray(losses)
