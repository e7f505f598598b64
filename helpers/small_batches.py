"""Notebook 08: batch, layer and group norm trained at small batch sizes, over several seeds.

The experiment: the course's MLP (helpers.network) with each normalizer, trained at seven batch
sizes and five seeds, 105 runs. One run at a time that is far too slow for a notebook (the
batch-size-2 runs take 2,692 steps each). So the networks of all seeds are trained side by side,
as one *stack*: every array gets a leading axis, one row per network (W1 (N, 64, 32), a batch
(N, m, 64)), and one NumPy call does the work of N. The three normalizers share one stack too
(N = 3 x 5), so the dense layers and the optimizer are called once for all of them. Each network
of the stack computes what `MLP.forward`, `MLP.backward` and `network.train` compute for its
seed: the same initial weights (`MLP.init(seed)`), the same batch order
(`np.random.default_rng(seed)`, a new permutation every epoch, the short last batch dropped), the
same Adam steps, to the last bit. tests/test_small_batches.py checks that against
helpers.network.

Batch norm keeps two running variances side by side, because frameworks differ: the average of
the biased batch variances (`running_var{l}`, like Keras 3's moving_variance) and of the unbiased
ones, m / (m - 1) times larger (`running_var_unbiased{l}`, like PyTorch's running_var; Ioffe &
Szegedy's Algorithm 2 applies m / (m - 1) to the average instead, which gives the same
numbers). Training never reads them, so one run serves both.

    run = train_stack(MLP((64, 32, 32, 10), norm="layer"), X, y, Adam(0.005), epochs=4,
                      batch_size=16, seeds=(0, 1, 2, 3, 4))   # run.params["W1"]: (5, 64, 32)
    sweep = batch_size_sweep(X_train, y_train, X_test, y_test, seeds=(0, 1, 2, 3, 4))
    sweep.test_acc["batch"]        # (len(batch_sizes), len(seeds)) inference-mode accuracy
    sweep.bn["train_mode_acc"]     # batch norm measured four ways, same shape

Only placement="before" (the lecture's: dense without bias, normalizer, activation).
"""

import math
from typing import NamedTuple

import numpy as np

from helpers import validation
from helpers.batchnorm import batchnorm_inference
from helpers.layers import ACTIVATIONS
from helpers.network import MLP

__all__ = [
    "StackRun",
    "BatchSizeSweep",
    "stack_init",
    "stacked_forward",
    "stacked_backward",
    "stacked_loss",
    "train_stack",
    "population_statistics",
    "stacked_accuracy",
    "training_mode_predictions",
    "sqrt_rule",
    "batch_size_sweep",
]


# ----------------------------------------------------------------------------- the stack
def _check_net(net):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a helpers.network.MLP; got {type(net).__name__}.")
    if net.norm == "none" or net.placement != "before":
        raise ValueError(f"the stack trains normalized networks with placement='before' (the "
                         f"lecture's); got norm={net.norm!r}, placement={net.placement!r}.")
    return net


def _check_seeds(seeds):
    seeds = tuple(validation.integer(s, "seeds", low=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. (0, 1, 2, 3, 4).")
    return seeds


def _blocks(nets, S):
    """nets (one MLP or a tuple of MLPs with the same layers) as [(net, rows of the stack)].

    The stack holds len(nets) * S networks: rows j*S .. (j+1)*S - 1 are nets[j] for the S seeds.
    Several normalizers in one stack share the dense layers' and the optimizer's NumPy calls.
    """
    nets = (nets,) if isinstance(nets, MLP) else tuple(nets)
    if not nets:
        raise ValueError("nets is empty; give an MLP or a tuple of MLPs.")
    for net in nets:
        _check_net(net)
        if (net.layer_sizes, net.activation) != (nets[0].layer_sizes, nets[0].activation):
            raise ValueError(f"the networks of one stack need the same layer sizes and "
                             f"activation; got {nets[0]} and {net}.")
    return [(net, slice(j * S, (j + 1) * S)) for j, net in enumerate(nets)]


def stack_init(nets, seeds):
    """MLP.init(seed) for every net and seed, stacked: params {name: (len(nets) * S, *shape)}.

    state: batch norm's running statistics, one row per network of the stack (rows of the other
    normalizers are unused); a third entry per layer, "running_var_unbiased{l}", starts at 1
    like "running_var{l}". Returns params, state.
    """
    seeds = _check_seeds(seeds)
    blocks = _blocks(nets, len(seeds))
    inits = [net.init(seed) for net, _ in blocks for seed in seeds]
    params = {k: np.stack([p[k] for p, _ in inits]) for k in inits[0][0]}
    state = {}
    for l in blocks[0][0].hidden if any(net.norm == "batch" for net, _ in blocks) else ():
        n = blocks[0][0].layer_sizes[l]
        state[f"running_mean{l}"] = np.zeros((len(inits), n))
        state[f"running_var{l}"] = np.ones((len(inits), n))
        state[f"running_var_unbiased{l}"] = np.ones((len(inits), n))
    return params, state


# The normalizers of the stack. helpers.batchnorm and helpers.normalization check every argument
# on every call, which costs more than the arithmetic on batches this small; these are their
# steps without the checks, in the same operations and order, so the numbers are the same to
# the last bit (tests/test_small_batches.py compares whole training runs with network.train).
def _statistics_view(z, net):
    """z (S, m, n) seen so that one mean and variance is taken over `axes`, and those axes.

    Batch norm: per seed and unit, over the m examples. Layer / group norm: per example and
    group, over its n / G units, viewed as helpers.normalization does, (S*m, 1, G, n/G).
    """
    if net.norm == "batch":
        return z, (1,)
    S, m, n = z.shape
    groups = net.groups if net.norm == "group" else 1
    return z.reshape(S * m, 1, groups, n // groups), (1, 3)


def _normalize_forward(z, gamma, beta, net):
    """z~ (S, m, n) and the cache; gamma, beta (S, n): each seed's own."""
    x, axes = _statistics_view(z, net)
    count = math.prod(x.shape[a] for a in axes)
    mu = x.sum(axis=axes, keepdims=True) / count              # what x.mean computes, faster
    centered = x - mu
    var = (centered**2).sum(axis=axes, keepdims=True) / count
    z_norm = (centered / np.sqrt(var + net.eps)).reshape(z.shape)
    z_tilde = gamma[:, None, :] * z_norm + beta[:, None, :]
    cache = (z_norm, 1.0 / np.sqrt(var + net.eps), gamma, axes, x.shape)
    return z_tilde, cache, (mu, var)


def _normalize_backward(dz_tilde, cache):
    """dz, dgamma, dbeta for dz_tilde (S, m, n): batch norm's backward formula, with its sums
    over the values that shared one mean and variance."""
    z_norm, inv_std, gamma, axes, view = cache
    dgamma, dbeta = (dz_tilde * z_norm).sum(axis=1), dz_tilde.sum(axis=1)
    dz_norm, z_norm = (gamma[:, None, :] * dz_tilde).reshape(view), z_norm.reshape(view)
    M = math.prod(view[a] for a in axes)                # values per mean and variance
    dz = inv_std / M * (M * dz_norm - dz_norm.sum(axis=axes, keepdims=True)
                        - z_norm * (dz_norm * z_norm).sum(axis=axes, keepdims=True))
    return dz.reshape(dz_tilde.shape), dgamma, dbeta


def stacked_forward(nets, params, state, X, training, unbiased=False):
    """Logits of every network of the stack.

    nets: the MLP (or tuple of MLPs) of stack_init. X: (N, m, n_x), one batch per network of
        the stack, or (m, n_x), the same examples for every network.
    training: batch norm normalizes with each network's batch statistics (m >= 2) and returns
        the running statistics moved toward them; else it uses the running statistics (the
        biased running variance, or the unbiased one if `unbiased`). Layer and group norm
        ignore both.
    Returns logits (N, m, n_classes), new_state, cache (for stacked_backward).
    """
    N = params["W1"].shape[0]
    blocks = _blocks(nets, N // (1 if isinstance(nets, MLP) else len(nets)))
    n_x = blocks[0][0].layer_sizes[0]
    X = validation.float_array(np.asarray(X, dtype=np.float64), "X")
    if X.ndim == 2:
        X = np.broadcast_to(X, (N, *X.shape))
    if X.ndim != 3 or X.shape[0] != N or X.shape[2] != n_x:
        raise ValueError(f"X must have shape ({N}, m, {n_x}) or (m, {n_x}); got shape {X.shape}.")
    return _forward(blocks, params, state, X, bool(training), unbiased)


def _forward(blocks, params, state, X, training, unbiased=False):
    net0 = blocks[0][0]
    g_forward = ACTIVATIONS[net0.activation][0]
    new_state, layers, a = dict(state), [], X
    for l in net0.hidden:
        z = a @ params[f"W{l}"]                                     # (N, m, n[l])
        parts, caches = [], []
        for net, rows in blocks:
            z_tilde, norm_cache = _normalize_block(net, l, z[rows], params, state, new_state,
                                                   rows, training, unbiased)
            parts.append(z_tilde)
            caches.append(norm_cache)
        z_tilde = parts[0] if len(parts) == 1 else np.concatenate(parts)
        a_next, g_cache = g_forward(z_tilde)
        layers.append((a, params[f"W{l}"], caches, g_cache))       # what backward needs
        a = a_next
    L = net0.L
    logits = a @ params[f"W{L}"] + params[f"b{L}"][:, None, :]
    return logits, new_state, {"layers": layers, "out": (a, params[f"W{L}"]), "blocks": blocks}


def _normalize_block(net, l, z, params, state, new_state, rows, training, unbiased):
    """Hidden layer l's normalizer for the rows of one net; batch norm in training also writes
    its new running statistics into new_state."""
    gamma, beta = params[f"gamma{l}"][rows], params[f"beta{l}"][rows]
    if net.norm == "batch" and not training:
        var = state[f"running_var_unbiased{l}" if unbiased else f"running_var{l}"][rows]
        z_tilde = batchnorm_inference(z, gamma, beta, state[f"running_mean{l}"][rows], var,
                                      net.eps, axes=(1,))
        return z_tilde, None
    z_tilde, norm_cache, (mu, var) = _normalize_forward(z, gamma, beta, net)
    if net.norm == "batch":
        m, k = z.shape[1], 1 - net.momentum
        mu, var = mu[:, 0, :], var[:, 0, :]                         # (S, n)
        for name, batch_value in ((f"running_mean{l}", mu), (f"running_var{l}", var),
                                  (f"running_var_unbiased{l}", var * m / (m - 1))):
            updated = new_state[name].copy() if new_state[name] is state[name] else new_state[name]
            updated[rows] = net.momentum * state[name][rows] + k * batch_value
            new_state[name] = updated
    return z_tilde, norm_cache


def stacked_loss(logits, y):
    """Mean softmax cross-entropy per seed and its gradient.

    logits (S, m, k); y (m,) or (S, m) integer labels. Returns loss (S,), dlogits (S, m, k).
    """
    logits = validation.float_array(logits, "logits", ndim=3)
    S, m, k = logits.shape
    y = np.broadcast_to(np.asarray(y), (S, m))
    validation.labels(y.reshape(-1), S * m, classes=k)
    one_hot = np.eye(k)[y]                                          # (S, m, k)
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = (log_probs * one_hot).sum(axis=2)                      # log p of the true class
    dlogits = np.exp(log_probs) - one_hot
    return -picked.mean(axis=1), dlogits / m


def stacked_backward(dlogits, cache):
    """Gradients of every network of the stack: {name: (N, *shape)}, like MLP.backward.

    dlogits: (N, m, k), dL/dlogits of each network's own loss; cache: from stacked_forward in
    training mode.
    """
    blocks = cache["blocks"]
    net0 = blocks[0][0]
    g_backward = ACTIVATIONS[net0.activation][1]
    L, grads = net0.L, {}
    a_last, W_last = cache["out"]
    # dense layers, per seed: dW = a.T @ dz, da = dz @ W.T (transpose the last two axes)
    grads[f"W{L}"] = a_last.transpose(0, 2, 1) @ dlogits
    grads[f"b{L}"] = dlogits.sum(axis=1)
    da = dlogits @ W_last.transpose(0, 2, 1)
    for l in reversed(net0.hidden):
        a_prev, W, caches, g_cache = cache["layers"][l - 1]
        if any(c is None for c in caches):
            raise ValueError("stacked_backward needs a cache from training mode.")
        dz_tilde = g_backward(da, g_cache)
        parts = [_normalize_backward(dz_tilde[rows], c) for (_, rows), c in zip(blocks, caches)]
        dz, grads[f"gamma{l}"], grads[f"beta{l}"] = (
            parts[0] if len(parts) == 1 else [np.concatenate(p) for p in zip(*parts)])
        grads[f"W{l}"] = a_prev.transpose(0, 2, 1) @ dz
        if l > 1:
            da = dz @ W.transpose(0, 2, 1)
    return grads


def _unflatten(theta, layout):
    """{name: (S, *shape)} views of the columns of theta (S, P), in the order of layout."""
    params, start = {}, 0
    for name, shape, size in layout:
        params[name] = theta[:, start : start + size].reshape(len(theta), *shape)
        start += size
    return params


class StackRun(NamedTuple):
    """S networks trained side by side (see train_stack)."""

    params: dict  # {name: (S, *shape)}
    state: dict  # batch norm: running_mean{l}, running_var{l}, running_var_unbiased{l} (S, n)
    step_loss: np.ndarray  # (S, steps) the training-mode loss of each batch, before its update
    seeds: tuple


def train_stack(nets, X, y, optimizer, *, epochs, batch_size, seeds):
    """network.train(net, *net.init(seed), X, y, optimizer, ...) for every net and seed, side
    by side.

    nets: an MLP, or a tuple of MLPs with the same layers (e.g. one per normalizer).
    X (M, n_x), y (M,): the training set; each epoch every seed visits it in its own order from
    np.random.default_rng(seed) (the same order for every net), in batches of batch_size (the
    short last batch dropped). Returns a StackRun, or a tuple of StackRuns (one per net).
    """
    seeds = _check_seeds(seeds)
    S, blocks = len(seeds), _blocks(nets, len(seeds))
    X = validation.number_array(X, "X", ndim=2).astype(np.float64)
    y = validation.labels(np.asarray(y), len(X), classes=blocks[0][0].layer_sizes[-1])
    epochs = validation.integer(epochs, "epochs")
    m = validation.integer(batch_size, "batch_size", low=2, high=len(X))
    params, state = stack_init(nets, seeds)
    N = len(blocks) * S
    # The optimizer sees all parameters as one (N, P) array: one Adam update instead of one per
    # parameter (Adam works entry by entry, so the numbers are the same); params are views of it.
    layout = [(k, p.shape[1:], p[0].size) for k, p in params.items()]
    theta = {"theta": np.concatenate([p.reshape(N, -1) for p in params.values()], 1)}
    opt_state = optimizer.init_state(theta)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    stop, losses = len(X) - len(X) % m, []
    for _ in range(epochs):
        orders = np.stack([rng.permutation(len(X)) for rng in rngs])   # (S, M)
        orders = np.tile(orders, (len(blocks), 1))                      # (N, M): per seed
        for i in range(0, stop, m):
            idx = orders[:, i : i + m]                                  # (N, m)
            logits, new_state, cache = _forward(blocks, params, state, X[idx], True)
            loss, dlogits = stacked_loss(logits, y[idx])
            grads = stacked_backward(dlogits, cache)
            flat = np.concatenate([grads[k].reshape(N, -1) for k, _, _ in layout], 1)
            theta, opt_state = optimizer.step(theta, {"theta": flat}, opt_state)
            params = _unflatten(theta["theta"], layout)
            state = new_state
            losses.append(loss)
    losses = np.stack(losses, axis=1)
    runs = tuple(StackRun({k: p[rows].copy() for k, p in params.items()},
                          {k: v[rows].copy() for k, v in state.items()} if net.norm == "batch"
                          else {}, losses[rows], seeds)
                 for net, rows in blocks)
    return runs[0] if isinstance(nets, MLP) else runs


# ----------------------------------------------------------------------------- measurements
def population_statistics(net, params, X):
    """Batch norm's exact statistics: each layer's mean and (biased) variance over all of X.

    Layer by layer, with the layers below normalized by their exact statistics (what a full
    pass over the training set with the final weights gives, notebook 05). Returns a state dict
    whose running_mean{l} and running_var{l} (S, n) are these.
    """
    net = _check_net(net)
    a, state = np.asarray(X, dtype=np.float64), {}
    g_forward = ACTIVATIONS[net.activation][0]
    for l in net.hidden:
        z = a @ params[f"W{l}"]                                         # (S, M, n)
        state[f"running_mean{l}"], state[f"running_var{l}"] = z.mean(axis=1), z.var(axis=1)
        z_tilde = batchnorm_inference(z, params[f"gamma{l}"], params[f"beta{l}"],
                                      state[f"running_mean{l}"], state[f"running_var{l}"],
                                      net.eps, axes=(1,))
        a = g_forward(z_tilde)[0]
    return state


def stacked_accuracy(net, params, state, X, y, unbiased=False):
    """Inference-mode accuracy of every network of the stack on X, y: (S,)."""
    logits = stacked_forward(net, params, state, X, training=False, unbiased=unbiased)[0]
    return (logits.argmax(axis=2) == np.asarray(y)).mean(axis=1)


def training_mode_predictions(net, params, state, X, batch_size, seed=1):
    """Predictions in training mode: X shuffled (seed), cut into batches of batch_size (the
    incomplete last batch left out), each normalized with its own statistics, as in training.

    Returns (indices (k,) of the rows predicted, predictions (S, k)).
    """
    m = validation.integer(batch_size, "batch_size", low=2, high=len(X))
    order = np.random.default_rng(seed).permutation(len(X))[: len(X) - len(X) % m]
    logits = [stacked_forward(net, params, state, X[idx], training=True)[0]
              for idx in order.reshape(-1, m)]
    return order, np.concatenate(logits, axis=1).argmax(axis=2)


# ----------------------------------------------------------------------------- the sweep
def sqrt_rule(batch_size, lr_at_16=0.005):
    """Adam's learning rate for a batch size: lr_at_16 * sqrt(m / 16) (smaller batches take
    more, noisier steps, so smaller ones)."""
    m = validation.integer(batch_size, "batch_size")
    return validation.real(lr_at_16, "lr_at_16", low=0) * float(np.sqrt(m / 16))


class BatchSizeSweep(NamedTuple):
    """BN, LN and GN trained at several batch sizes and seeds (see batch_size_sweep)."""

    batch_sizes: tuple
    seeds: tuple
    learning_rates: tuple  # one per batch size
    test_acc: dict  # {norm: (sizes, S)} inference-mode test accuracy
    final_loss: dict  # {norm: (sizes, S)} mean training loss of the last `last_steps` steps
    bn: dict  # batch norm, (sizes, S) each: "train_mode_acc" (test set in batches of m,
    #           training mode), "biased" (running_var as Keras 3, = test_acc["batch"]),
    #           "unbiased" (running_var_unbiased as PyTorch), "exact" (population statistics),
    #           "changed" (fraction of predictions that differ, training vs inference mode)
    runs: dict  # {(norm, m): StackRun}


def batch_size_sweep(X_train, y_train, X_test, y_test, *, norms=("batch", "layer", "group"),
                     batch_sizes=(2, 4, 8, 16, 32, 64, 128), seeds=(0, 1, 2, 3, 4),
                     layer_sizes=(64, 32, 32, 10), groups=4, epochs=4, lr_at_16=0.005,
                     last_steps=50):
    """Notebook 08 §2-3: every normalizer at every batch size, over seeds, with Adam at
    sqrt_rule(m, lr_at_16) for `epochs` epochs; the final loss is the mean of the last
    `last_steps` steps. Returns a BatchSizeSweep."""
    sizes, seeds = tuple(int(m) for m in batch_sizes), _check_seeds(seeds)
    last_steps = validation.integer(last_steps, "last_steps")
    for norm in norms:
        validation.choice(norm, "norms", ("batch", "layer", "group"))
    X_test = validation.number_array(X_test, "X_test", ndim=2).astype(np.float64)
    y_test = np.asarray(y_test)
    from helpers.optimizers import Adam  # floor 1, like everything else here

    nets = tuple(MLP(layer_sizes, norm=norm, groups=groups) for norm in norms)
    test_acc = {norm: [] for norm in norms}
    final_loss = {norm: [] for norm in norms}
    bn, runs = {k: [] for k in ("train_mode_acc", "biased", "unbiased", "exact", "changed")}, {}
    for m in sizes:                           # all normalizers in one stack per batch size
        trained = train_stack(nets, X_train, y_train, Adam(learning_rate=sqrt_rule(m, lr_at_16)),
                              epochs=epochs, batch_size=m, seeds=seeds)
        for net, run in zip(nets, trained):
            runs[net.norm, m] = run
            test_acc[net.norm].append(stacked_accuracy(net, run.params, run.state, X_test, y_test))
            final_loss[net.norm].append(run.step_loss[:, -last_steps:].mean(axis=1))
            if net.norm == "batch":
                idx, train_mode = training_mode_predictions(net, run.params, run.state, X_test, m)
                inference = stacked_forward(net, run.params, run.state, X_test[idx],
                                            training=False)[0].argmax(axis=2)
                exact = population_statistics(net, run.params, X_train)
                bn["train_mode_acc"].append((train_mode == y_test[idx]).mean(axis=1))
                bn["changed"].append((train_mode != inference).mean(axis=1))
                bn["biased"].append(test_acc["batch"][-1])
                bn["unbiased"].append(stacked_accuracy(net, run.params, run.state, X_test,
                                                       y_test, unbiased=True))
                bn["exact"].append(stacked_accuracy(net, run.params, exact, X_test, y_test))
    test_acc = {k: np.array(v) for k, v in test_acc.items()}
    final_loss = {k: np.array(v) for k, v in final_loss.items()}
    bn = {k: np.array(v) for k, v in bn.items()} if "batch" in norms else {}
    lrs = tuple(sqrt_rule(m, lr_at_16) for m in sizes)
    return BatchSizeSweep(sizes, seeds, lrs, test_acc, final_loss, bn, runs)
