"""Notebook 05, section 3, side by side: the regularization sweep with the seeds stacked.

helpers.regularization.gap_vs_batch_size trains its 20 small networks (2 batch sizes x 2 arms x
5 seeds) one after the other, and on matrices this small most of the time goes to Python, not to
arithmetic. Here the seeds of one (batch size, arm) are trained as one *stack*, as
helpers.small_batches does for notebook 08: every array gets a leading seed axis (W1 (S, 64, 32),
a batch (S, m, 64)) and one NumPy call does the work of S. Each network of a stack computes what
network.train computes for its seed: the same initial weights (MLP.init(seed)), the same batch
order (np.random.default_rng(seed), a new permutation each epoch, the short last batch dropped)
and the same Adam steps (tests/test_stacked_gap.py compares every parameter with network.train
to 1e-12). So the result is the GapSweep that regularization.gap_vs_batch_size returns.

    sweep = gap_vs_batch_size(X_train, y_train, X_val, y_val, epochs={32: 10, 256: 40})

The BN arm is small_batches.train_stack. The arm without normalization (a bias b in every layer,
no gamma, beta or running statistics), which small_batches does not train, is train_plain_stack.
"""

import numpy as np

from helpers import regularization, validation
from helpers.layers import ACTIVATIONS
from helpers.network import MLP
from helpers.optimizers import Adam
from helpers.small_batches import StackRun, stacked_loss, train_stack

__all__ = ["plain_forward", "plain_backward", "train_plain_stack", "train_stacked_seeds",
           "gap_vs_batch_size"]


# ----------------------------------------------------------------------------- no normalization
def plain_forward(net, params, X):
    """Logits of every network of a stack without normalization.

    net: an MLP with norm="none"; params: {name: (S, *shape)}; X: (S, m, n_x), one batch per
    network. Each hidden layer is z = a W + b, a = g(z), as in MLP.forward.
    Returns logits (S, m, n_classes) and the cache plain_backward needs.
    """
    g_forward = ACTIVATIONS[net.activation][0]
    a, layers = X, []
    for l in net.hidden:
        z = a @ params[f"W{l}"] + params[f"b{l}"][:, None, :]       # (S, m, n[l])
        a_next, g_cache = g_forward(z)
        layers.append((a, g_cache))
        a = a_next
    L = net.L
    return a @ params[f"W{L}"] + params[f"b{L}"][:, None, :], {"layers": layers, "out": a}


def plain_backward(net, params, dlogits, cache):
    """Gradients {name: (S, *shape)} of every network of the stack, like MLP.backward.

    dlogits: (S, m, n_classes), each network's dL/dlogits; cache: from plain_forward.
    """
    g_backward = ACTIVATIONS[net.activation][1]
    L, grads = net.L, {}
    # dense layers, per seed: dW = a.T @ dz, db = sum of dz over the batch, da = dz @ W.T
    grads[f"W{L}"] = cache["out"].transpose(0, 2, 1) @ dlogits
    grads[f"b{L}"] = dlogits.sum(axis=1)
    da = dlogits @ params[f"W{L}"].transpose(0, 2, 1)
    for l in reversed(net.hidden):
        a_prev, g_cache = cache["layers"][l - 1]
        dz = g_backward(da, g_cache)
        grads[f"W{l}"] = a_prev.transpose(0, 2, 1) @ dz
        grads[f"b{l}"] = dz.sum(axis=1)
        if l > 1:
            da = dz @ params[f"W{l}"].transpose(0, 2, 1)
    return grads


def train_plain_stack(net, X, y, optimizer, *, epochs, batch_size, seeds):
    """network.train(net, *net.init(seed), X, y, optimizer, ...) for every seed, side by side,
    for a network without normalization (small_batches.train_stack trains the normalized ones).

    X (M, n_x), y (M,): the training set; each epoch every seed visits it in its own order from
    np.random.default_rng(seed), in batches of batch_size (the short last batch dropped).
    Returns a small_batches.StackRun (params {name: (S, *shape)}, state {}, step_loss (S, steps)).
    """
    if not isinstance(net, MLP) or net.norm != "none":
        raise ValueError(f"train_plain_stack trains an MLP with norm='none'; got {net!r}.")
    seeds = tuple(validation.integer(s, "seeds", low=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. (0, 1, 2, 3, 4).")
    X = validation.number_array(X, "X", ndim=2).astype(np.float64)
    y = validation.labels(np.asarray(y), len(X), classes=net.layer_sizes[-1])
    epochs = validation.integer(epochs, "epochs")
    m = validation.integer(batch_size, "batch_size", low=2, high=len(X))
    inits = [net.init(seed)[0] for seed in seeds]
    S = len(seeds)
    # Adam works entry by entry, so one step on all parameters as one (S, P) array gives the
    # numbers of one step per parameter; params are views of its columns.
    layout = [(k, p.shape, p.size) for k, p in inits[0].items()]
    theta = {"theta": np.stack([np.concatenate([p[k].ravel() for k, _, _ in layout])
                                for p in inits])}
    opt_state = optimizer.init_state(theta)

    def unflatten(flat):
        params, start = {}, 0
        for name, shape, size in layout:
            params[name] = flat[:, start:start + size].reshape(S, *shape)
            start += size
        return params

    params = unflatten(theta["theta"])
    rngs = [np.random.default_rng(seed) for seed in seeds]
    stop, losses = len(X) - len(X) % m, []
    for _ in range(epochs):
        orders = np.stack([rng.permutation(len(X)) for rng in rngs])   # (S, M)
        for i in range(0, stop, m):
            idx = orders[:, i:i + m]                                    # (S, m)
            logits, cache = plain_forward(net, params, X[idx])
            loss, dlogits = stacked_loss(logits, y[idx])
            grads = plain_backward(net, params, dlogits, cache)
            flat = np.concatenate([grads[k].reshape(S, -1) for k, _, _ in layout], 1)
            theta, opt_state = optimizer.step(theta, {"theta": flat}, opt_state)
            params = unflatten(theta["theta"])
            losses.append(loss)
    return StackRun({k: p.copy() for k, p in params.items()}, {}, np.stack(losses, axis=1),
                    seeds)


# ----------------------------------------------------------------------------- the sweep
def train_stacked_seeds(net, X, y, learning_rate, epochs, batch_size, seeds):
    """regularization.train_each_seed's runs, the seeds trained as one stack: [(params, state)]."""
    stack = train_plain_stack if net.norm == "none" else train_stack
    run = stack(net, X, y, Adam(learning_rate), epochs=epochs, batch_size=batch_size,
                seeds=seeds)
    runs = []
    for s in range(len(seeds)):
        params = {k: p[s].copy() for k, p in run.params.items()}
        # the stack also keeps PyTorch's unbiased running variance; MLP's state does not
        state = {k: v[s].copy() for k, v in run.state.items()
                 if not k.startswith("running_var_unbiased")}
        runs.append((params, state))
    return runs


def gap_vs_batch_size(X, y, X_val, y_val, epochs, **kwargs):
    """helpers.regularization.gap_vs_batch_size, with the seeds of each arm trained as a stack.

    Same arguments, same runs, same GapSweep (see regularization.gap_vs_batch_size): one ReLU
    MLP per (batch size m, normalizer, seed), Adam(learning_rate) for epochs[m] epochs of
    batches of m, accuracies in inference mode; `trained` holds each run's (net, params, state).
    """
    return regularization.gap_vs_batch_size(X, y, X_val, y_val, epochs,
                                            train_seeds=train_stacked_seeds, **kwargs)
