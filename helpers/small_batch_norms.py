"""Ghost batch norm and batch renormalization: batch norm variants for batch-size trouble (09).

Both keep batch norm's architecture (per-unit statistics over examples, gamma, beta, running
averages for inference) and change only the statistics used in training:

ghost batch norm (Hoffer et al. 2017): the batch of m examples is cut into m / ghost_size
    "ghost" batches of ghost_size examples, each normalized with its OWN mean and variance, as
    if it were a batch of its own. This is exactly what data-parallel training without
    synchronized BN computes (one ghost batch per device).

batch renormalization (Ioffe 2017): normalize with the batch statistics, then correct toward
    the running statistics so that training computes what inference will:
        sigma_B = sqrt(var_B + eps),  sigma = sqrt(running_var + eps)
        r = clip(sigma_B / sigma, 1 / rmax, rmax)          (per unit)
        d = clip((mu_B - running_mean) / sigma, -dmax, dmax)
        z_hat = (z - mu_B) / sigma_B * r + d ,   z~ = gamma * z_hat + beta
    Without clipping, z_hat = (z - running_mean) / sigma: inference's normalization. r and d
    are treated as constants in the backward pass (the paper's stop-gradient), so the gradient
    is batch norm's with gamma * r in place of gamma. rmax = 1, dmax = 0 is plain batch norm.
    The paper starts with rmax = 1, dmax = 0 and relaxes them once the running averages are
    meaningful; we do the same with `warmup` steps.

The forward/backward pairs take z of shape (..., m, n): examples along the second-to-last axis,
any leading axes (a stack of networks, one per seed) kept apart. Returns are float64.

    z_tilde, cache = ghost_batchnorm_forward(z, gamma, beta, ghost_size=4)
    dz, dgamma, dbeta = ghost_batchnorm_backward(dz_tilde, cache)
    z_tilde, cache = batch_renorm_forward(z, gamma, beta, running_mean, running_var,
                                          rmax=3.0, dmax=5.0)
    runs = train_variants(X, y, variants, seeds=SEEDS, ...)    # side by side, over seeds
"""

from typing import NamedTuple

import numpy as np

from helpers import validation
from helpers.layers import ACTIVATIONS
from helpers.network import MLP
from helpers.optimizers import Adam
from helpers.small_batches import stack_init, stacked_loss

__all__ = [
    "Variant",
    "batch_renorm_backward",
    "batch_renorm_forward",
    "ghost_batchnorm_backward",
    "ghost_batchnorm_forward",
    "renorm_corrections",
    "train_variants",
    "variant_accuracy",
]


# ----------------------------------------------------------------------------- the shared core
def _check_z(z, min_per_statistic=2):
    z = validation.float_array(z, "z")
    if z.ndim < 2:
        raise ValueError(f"z must have shape (..., m, n), examples along the second-to-last "
                         f"axis; got shape {z.shape}.")
    if z.shape[-2] < min_per_statistic:
        raise ValueError(f"z has {z.shape[-2]} example(s) (shape {z.shape}); a training-mode "
                         f"batch needs at least 2 per statistic.")
    return z.astype(np.float64)


def _per_unit(x, name, n):
    """gamma, beta or a running statistic: (n,) or (..., n) for a stack."""
    x = validation.float_array(x, name)
    if x.shape[-1:] != (n,):
        raise ValueError(f"{name} must have one value per unit, shape (n,) = ({n},) (or (..., "
                         f"{n}) for a stack); got shape {x.shape}.")
    return validation.finite(x.astype(np.float64), name)


def _normalize(z, ghost_size, eps):
    """z (..., m, n) cut into ghost batches along the examples' axis; z_norm with each ghost
    batch's statistics. Returns z_norm (..., m, n), inv_std, mu, var of shape (..., G, 1, n)."""
    *lead, m, n = z.shape
    x = z.reshape(*lead, m // ghost_size, ghost_size, n)       # (..., G, ghost, n)
    mu = x.mean(axis=-2, keepdims=True)                        # one mean per ghost batch
    var = ((x - mu) ** 2).mean(axis=-2, keepdims=True)         # biased, as in batch norm
    inv_std = 1.0 / np.sqrt(var + eps)
    return ((x - mu) * inv_std).reshape(z.shape), inv_std, mu, var


def _bn_backward(dz_norm, z_norm, inv_std, ghost_size):
    """Batch norm's dz from dz_norm, within each ghost batch (the formula of notebook 04)."""
    *lead, m, n = dz_norm.shape
    shape = (*lead, m // ghost_size, ghost_size, n)
    g, x = dz_norm.reshape(shape), z_norm.reshape(shape)
    dz = inv_std / ghost_size * (ghost_size * g - g.sum(axis=-2, keepdims=True)
                                 - x * (g * x).sum(axis=-2, keepdims=True))
    return dz.reshape(dz_norm.shape)


def _lined_up(p):
    """A per-unit array (..., n) lined up with z (..., m, n)."""
    return p[..., None, :]


# ----------------------------------------------------------------------------- ghost batch norm
def ghost_batchnorm_forward(z, gamma, beta, ghost_size, eps=1e-5):
    """Ghost batch norm in training mode.

    Inputs:
      z: (m, n) (or (..., m, n)); m must be a multiple of ghost_size.
      gamma, beta: (n,) (or (..., n)).
      ghost_size: examples per ghost batch, at least 2; ghost_size = m is plain batch norm.
    Returns:
      z_tilde (shape of z, float64) and cache; cache["mu"], cache["var"] have shape (..., n):
      the average over ghost batches of their means and (biased) variances, which is what the
      running averages are fed.
    """
    z = _check_z(z)
    m, n = z.shape[-2:]
    ghost_size = validation.integer(ghost_size, "ghost_size", low=2, high=m)
    if m % ghost_size:
        raise ValueError(f"ghost_size must divide the batch size m = {m}; got {ghost_size}.")
    gamma, beta = _per_unit(gamma, "gamma", n), _per_unit(beta, "beta", n)
    eps = validation.eps(eps)
    z_norm, inv_std, mu, var = _normalize(z, ghost_size, eps)
    z_tilde = _lined_up(gamma) * z_norm + _lined_up(beta)
    cache = {"method": "ghost", "z_norm": z_norm, "inv_std": inv_std, "gamma": gamma,
             "ghost_size": ghost_size, "r": 1.0,
             "mu": mu.mean(axis=(-3, -2)), "var": var.mean(axis=(-3, -2))}
    return z_tilde, cache


def ghost_batchnorm_backward(dz_tilde, cache):
    """Gradients of ghost batch norm: (dz (shape of z), dgamma, dbeta (shape of gamma))."""
    return _backward(dz_tilde, cache, "ghost")


def _backward(dz_tilde, cache, method):
    if not isinstance(cache, dict) or cache.get("method") != method:
        name = "ghost_batchnorm_forward" if method == "ghost" else "batch_renorm_forward"
        raise TypeError(f"cache must be the dict returned by {name}.")
    z_hat = cache.get("z_hat", cache["z_norm"])
    dz_tilde = validation.same_shape(dz_tilde, z_hat, "dz_tilde", "the shape of z")
    dz_tilde = dz_tilde.astype(np.float64)
    lead = cache["gamma"].ndim - 1                          # 0, or 1 for a stack
    over = tuple(range(lead, dz_tilde.ndim - 1))            # every axis but the stack's and n
    dbeta = dz_tilde.sum(axis=over)
    dgamma = (dz_tilde * z_hat).sum(axis=over)
    # z_hat = z_norm * r + d with r, d held constant: the gradient reaching z_norm is gamma * r.
    dz_norm = _lined_up(cache["gamma"] * cache["r"]) * dz_tilde
    dz = _bn_backward(dz_norm, cache["z_norm"], cache["inv_std"], cache["ghost_size"])
    return dz, dgamma, dbeta


# ----------------------------------------------------------------------------- batch renorm
def renorm_corrections(mu_batch, var_batch, running_mean, running_var, rmax, dmax, eps=1e-5):
    """(r, d) of batch renormalization, per unit, clipped to [1/rmax, rmax] and [-dmax, dmax]."""
    sigma_batch = np.sqrt(var_batch + eps)
    sigma = np.sqrt(running_var + eps)
    r = np.clip(sigma_batch / sigma, 1.0 / rmax, rmax)
    d = np.clip((mu_batch - running_mean) / sigma, -dmax, dmax)
    return r, d


def batch_renorm_forward(z, gamma, beta, running_mean, running_var, rmax=3.0, dmax=5.0,
                         eps=1e-5, r=None, d=None):
    """Batch renormalization in training mode (Ioffe 2017, Algorithm 1).

    Inputs:
      z: (m, n) (or (..., m, n)), m >= 2; gamma, beta, running_mean, running_var: (n,) (or
         (..., n)).
      rmax >= 1, dmax >= 0: the clipping bounds of r and d (rmax = 1, dmax = 0: plain BN).
      r, d: optional (n,) corrections to use instead of computing them (for gradient checks,
         which must hold them fixed, as the backward pass does).
    Returns:
      z_tilde (shape of z, float64) and cache; cache["mu"], cache["var"] (..., n) are the
      batch's statistics, for the running averages (the caller updates those), cache["r"],
      cache["d"] the corrections used.
    Inference is plain batchnorm_inference with the running statistics.
    """
    z = _check_z(z)
    n = z.shape[-1]
    gamma, beta = _per_unit(gamma, "gamma", n), _per_unit(beta, "beta", n)
    running_mean = _per_unit(running_mean, "running_mean", n)
    running_var = _per_unit(running_var, "running_var", n)
    rmax = validation.real(rmax, "rmax", low=1.0, low_open=False, example="3.0")
    dmax = validation.real(dmax, "dmax", low=0.0, low_open=False, example="5.0")
    eps = validation.eps(eps)
    z_norm, inv_std, mu, var = _normalize(z, z.shape[-2], eps)
    mu, var = mu[..., 0, 0, :], var[..., 0, 0, :]                    # (..., n)
    if r is None or d is None:
        r, d = renorm_corrections(mu, var, running_mean, running_var, rmax, dmax, eps)
    else:
        r, d = _per_unit(r, "r", n), _per_unit(d, "d", n)
    z_hat = z_norm * _lined_up(r) + _lined_up(d)
    z_tilde = _lined_up(gamma) * z_hat + _lined_up(beta)
    cache = {"method": "renorm", "z_norm": z_norm, "z_hat": z_hat, "inv_std": inv_std,
             "gamma": gamma, "ghost_size": z.shape[-2], "r": r, "d": d, "mu": mu, "var": var}
    return z_tilde, cache


def batch_renorm_backward(dz_tilde, cache):
    """Gradients of batch renorm with r and d held constant: (dz, dgamma, dbeta)."""
    return _backward(dz_tilde, cache, "renorm")


# ----------------------------------------------------------------------------- training
class Variant(NamedTuple):
    """One way of normalizing in training, for train_variants.

    kind: "batch" (plain BN), "ghost" (ghost BN with ghost_size) or "renorm" (batch renorm with
    rmax, dmax after `warmup` steps of plain BN). batch_size: examples per optimizer step.
    """

    label: str
    kind: str
    batch_size: int
    ghost_size: int | None = None
    rmax: float = 3.0
    dmax: float = 5.0
    warmup: int = 100


def _normalize_train(variant, z, gamma, beta, mean, var, step, eps):
    if variant.kind == "renorm":
        warm = step >= variant.warmup
        return batch_renorm_forward(z, gamma, beta, mean, var, variant.rmax if warm else 1.0,
                                    variant.dmax if warm else 0.0, eps)
    ghost = variant.ghost_size if variant.kind == "ghost" else z.shape[-2]
    return ghost_batchnorm_forward(z, gamma, beta, ghost, eps)


class VariantRun(NamedTuple):
    variant: Variant
    params: dict       # {name: (S, *shape)}
    state: dict        # running_mean{l}, running_var{l}: (S, n)
    seeds: tuple


def train_variants(X, y, variants, *, seeds, layer_sizes=(64, 32, 32, 10), epochs=3,
                   learning_rate=None, momentum=0.9, eps=1e-5):
    """Train the course's MLP (dense without bias -> normalizer -> relu) once per variant and
    seed. Variants with the same batch size, and all their seeds, are trained side by side as one
    stack of networks (as helpers.small_batches does), one block of rows per variant.

    Each seed starts from MLP.init(seed) and visits X in the order of np.random.default_rng(seed)
    (a new permutation per epoch, the short last batch dropped), the same for every variant,
    with Adam at learning_rate(batch_size) (default: small_batches' square-root rule,
    0.005 * sqrt(m / 16)). Returns one VariantRun per variant, in the order given; score them
    with variant_accuracy.
    """
    from helpers.small_batches import sqrt_rule

    seeds = tuple(seeds)
    X = validation.number_array(X, "X", ndim=2).astype(np.float64)
    y = validation.labels(np.asarray(y), len(X), classes=layer_sizes[-1])
    for variant in variants:
        validation.choice(variant.kind, "kind", ("batch", "ghost", "renorm"))
        validation.integer(variant.batch_size, "batch_size", low=2, high=len(X))
    net = MLP(layer_sizes, norm="batch", momentum=momentum, eps=eps)
    runs = {}
    for m in dict.fromkeys(v.batch_size for v in variants):
        group = [v for v in variants if v.batch_size == m]
        lr = (learning_rate or sqrt_rule)(m)
        trained = _train_group(net, X, y, group, seeds, m, epochs, lr)
        runs.update(zip(group, trained))
    return [runs[v] for v in variants]


def _train_group(net, X, y, group, seeds, m, epochs, lr):
    """The variants of one batch size, each with every seed, as one stack (N = len(group) * S)."""
    S, momentum, eps = len(seeds), net.momentum, net.eps
    relu, relu_backward = ACTIVATIONS["relu"]
    params, state = stack_init(net, seeds)
    params = {k: np.concatenate([v] * len(group)) for k, v in params.items()}
    state = {k: np.concatenate([v] * len(group)) for k, v in state.items() if "unbiased" not in k}
    blocks = [(variant, slice(j * S, (j + 1) * S)) for j, variant in enumerate(group)]
    optimizer = Adam(lr)
    opt_state = optimizer.init_state(params)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    step = 0
    for _ in range(epochs):
        orders = np.tile(np.stack([rng.permutation(len(X)) for rng in rngs]), (len(group), 1))
        for i in range(0, len(X) - len(X) % m, m):
            idx = orders[:, i: i + m]                                    # (N, m)
            a, caches = X[idx], []
            for l in net.hidden:
                z = a @ params[f"W{l}"]
                z_tilde, block_caches = np.empty_like(z), []
                for variant, rows in blocks:
                    z_tilde[rows], cache = _normalize_train(
                        variant, z[rows], params[f"gamma{l}"][rows], params[f"beta{l}"][rows],
                        state[f"running_mean{l}"][rows], state[f"running_var{l}"][rows], step,
                        eps)
                    block_caches.append(cache)
                for name, key in ((f"running_mean{l}", "mu"), (f"running_var{l}", "var")):
                    batch_value = np.concatenate([c[key] for c in block_caches])
                    state[name] = momentum * state[name] + (1 - momentum) * batch_value
                a_next, relu_cache = relu(z_tilde)
                caches.append((a, block_caches, relu_cache))
                a = a_next
            L = net.L
            logits = a @ params[f"W{L}"] + params[f"b{L}"][:, None, :]
            _, dlogits = stacked_loss(logits, y[idx])
            grads = {f"W{L}": a.transpose(0, 2, 1) @ dlogits, f"b{L}": dlogits.sum(axis=1)}
            da = dlogits @ params[f"W{L}"].transpose(0, 2, 1)
            for l in reversed(net.hidden):
                a_prev, block_caches, relu_cache = caches[l - 1]
                dz_tilde = relu_backward(da, relu_cache)
                parts = [_backward(dz_tilde[rows], cache, cache["method"])
                         for (_, rows), cache in zip(blocks, block_caches)]
                dz, grads[f"gamma{l}"], grads[f"beta{l}"] = (np.concatenate(p)
                                                             for p in zip(*parts))
                grads[f"W{l}"] = a_prev.transpose(0, 2, 1) @ dz
                da = dz @ params[f"W{l}"].transpose(0, 2, 1)
            params, opt_state = optimizer.step(params, grads, opt_state)
            step += 1
    return [VariantRun(variant, {k: v[rows].copy() for k, v in params.items()},
                       {k: v[rows].copy() for k, v in state.items()}, seeds)
            for variant, rows in blocks]


def variant_accuracy(run, X, y, layer_sizes=(64, 32, 32, 10), eps=1e-5):
    """Inference-mode accuracy (running statistics) of every seed of a VariantRun: (S,)."""
    from helpers.small_batches import stacked_accuracy

    net = MLP(layer_sizes, norm="batch", eps=eps)
    return stacked_accuracy(net, run.params, run.state, X, y)
