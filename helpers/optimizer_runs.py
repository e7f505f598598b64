"""Notebook 04's training runs: one network and one optimizer, several seeds side by side.

Notebook 04 trains the same network with four optimizers, with and without batch norm, for five
seeds each. helpers.network.train takes one run at a time, and on these small matrices Python's
per-step overhead, not the arithmetic, sets the time. Here the runs of all the seeds are stacked
along a new first axis (R runs) and take their steps together: each starts from its own
MLP.init(seed) and visits the examples in its own order, drawn from np.random.default_rng(seed)
exactly as train draws it. Every operation is the one train makes (helpers.batchnorm,
helpers.layers, the optimizer's own step, which works on arrays of any shape), only on stacked
arrays, so each run gives train's numbers (tests/test_optimizer_runs.py checks it to 1e-12).

    results = train_seeds(net, Adam(learning_rate=0.003), X, y, seeds=[0, 1, 2, 3, 4],
                          epochs=8, X_val=X_val, y_val=y_val)
    params, state, history = results[0]         # what train(net, *net.init(seed=0), ...) returns

Supported: the networks of notebook 04, MLP(..., norm="batch" or "none", placement="before"),
any activation, float64 parameters.
"""

import numpy as np

from helpers import validation
from helpers.layers import ACTIVATIONS
from helpers.network import MLP

__all__ = ["train_seeds"]


def _per_run(x):
    """A per-unit array of R runs, (R, n), lined up with a stacked batch (R, B, n)."""
    return x[:, None, :]


def _forward(net, params, state, X):
    """Training-mode forward pass of R runs: X (R, B, n_x) -> logits (R, B, k), state, caches."""
    g_forward = ACTIVATIONS[net.activation][0]
    new_state, caches, a = dict(state), [], X
    for l in net.hidden:
        cache = {"a_in": a}
        z = a @ params[f"W{l}"]
        if net.norm == "batch":
            # helpers.batchnorm.batchnorm_forward, over the batch axis (1) of each run
            mu = z.mean(axis=1, keepdims=True)
            var = ((z - mu) ** 2).mean(axis=1, keepdims=True)
            z_norm = (z - mu) / np.sqrt(var + net.eps)
            z = _per_run(params[f"gamma{l}"]) * z_norm + _per_run(params[f"beta{l}"])
            cache.update(z_norm=z_norm, inv_std=1.0 / np.sqrt(var + net.eps))
            # helpers.batchnorm.update_running_stats
            for key, batch in ((f"running_mean{l}", mu), (f"running_var{l}", var)):
                new_state[key] = net.momentum * state[key] + (1 - net.momentum) * batch[:, 0, :]
        else:
            z = z + _per_run(params[f"b{l}"])
        a, cache["g"] = g_forward(z)
        caches.append(cache)
    logits = a @ params[f"W{net.L}"] + _per_run(params[f"b{net.L}"])
    return logits, new_state, (caches, a)


def _softmax_cross_entropy(logits, y):
    """helpers.layers.softmax_cross_entropy for R runs: losses (R,), dlogits (R, B, k)."""
    R, B, _ = logits.shape
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    rows, examples = np.arange(R)[:, None], np.arange(B)[None, :]
    losses = -log_probs[rows, examples, y].mean(axis=1)
    dlogits = np.exp(log_probs)
    dlogits[rows, examples, y] -= 1
    return losses, dlogits / B


def _backward(net, params, dlogits, caches, a):
    """Gradients of R runs, stacked like params: MLP.backward with placement "before"."""
    g_backward = ACTIVATIONS[net.activation][1]
    L, B = net.L, dlogits.shape[1]
    grads = {f"W{L}": a.transpose(0, 2, 1) @ dlogits, f"b{L}": dlogits.sum(axis=1)}
    da = dlogits @ params[f"W{L}"].transpose(0, 2, 1)
    for l in reversed(net.hidden):
        cache = caches[l - 1]
        dz = g_backward(da, cache["g"])
        if net.norm == "batch":
            # helpers.batchnorm.batchnorm_backward, over the batch axis (1) of each run
            z_norm, inv_std = cache["z_norm"], cache["inv_std"]
            grads[f"beta{l}"] = dz.sum(axis=1)
            grads[f"gamma{l}"] = (dz * z_norm).sum(axis=1)
            dz_norm = _per_run(params[f"gamma{l}"]) * dz
            dz = inv_std / B * (B * dz_norm
                                - dz_norm.sum(axis=1, keepdims=True)
                                - z_norm * (dz_norm * z_norm).sum(axis=1, keepdims=True))
        else:
            grads[f"b{l}"] = dz.sum(axis=1)
        grads[f"W{l}"] = cache["a_in"].transpose(0, 2, 1) @ dz
        da = dz @ params[f"W{l}"].transpose(0, 2, 1)
    return grads


def _run(stacked, r):
    """Run r's own arrays from a dict of stacked ones."""
    return {name: value[r].copy() for name, value in stacked.items()}


def train_seeds(net, optimizer, X, y, seeds, *, epochs=5, batch_size=64, X_val=None,
                y_val=None):
    """train(net, *net.init(seed=s), X, y, optimizer, ...) for every seed s, stacked.

    Inputs:
      net: an MLP with norm "batch" or "none" and placement "before".
      optimizer: GradientDescent, Momentum, RMSprop or Adam (helpers.optimizers).
      X (m, n_x), y (m,): the training set; X_val, y_val: optional validation set.
      seeds: the runs' seeds (R of them): seed s gives run s its initial weights and its batch
          order, as in helpers.network.train(..., seed=s); the short last batch is dropped.
      epochs, batch_size: as in train.
    Returns: a list of R (params, state, history) triples, in the order of `seeds`, each as
      train returns it (history: "step_loss", "loss", "train_acc" and, with X_val, "val_acc").
    """
    if not isinstance(net, MLP) or net.norm not in ("batch", "none") or net.normalized == "after":
        raise ValueError(f"net must be an MLP with norm 'batch' or 'none' and placement "
                         f"'before'; got {net!r:.120}.")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither.")
    seeds = [validation.integer(s, "seeds", low=0) for s in np.ravel(seeds)]
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    epochs = validation.integer(epochs, "epochs")
    batch_size = validation.integer(batch_size, "batch_size", low=2)
    X = validation.number_array(X, "X", ndim=2).astype(np.float64)
    y = validation.labels(y, len(X))

    inits = [net.init(seed=s) for s in seeds]
    params = {name: np.stack([p[name] for p, _ in inits]) for name in inits[0][0]}
    state = {name: np.stack([s[name] for _, s in inits]) for name in inits[0][1]}
    rngs = [np.random.default_rng(s) for s in seeds]   # train's batch order, one per run
    opt_state = optimizer.init_state(params)            # elementwise: stacked arrays are fine
    m = len(X)
    histories = [{"step_loss": [], "loss": [], "train_acc": []} for _ in seeds]
    for h in histories:
        if X_val is not None:
            h["val_acc"] = []
    for _ in range(epochs):
        orders = np.stack([rng.permutation(m) for rng in rngs])        # (R, m)
        epoch_losses = []
        for i in range(0, m - m % batch_size, batch_size):
            batch = orders[:, i:i + batch_size]                        # (R, B): each run's own
            logits, new_state, (caches, a) = _forward(net, params, state, X[batch])
            losses, dlogits = _softmax_cross_entropy(logits, y[batch])
            grads = _backward(net, params, dlogits, caches, a)
            params, opt_state = optimizer.step(params, grads, opt_state)
            state = new_state
            epoch_losses.append(losses)
        epoch_losses = np.array(epoch_losses)                          # (steps, R)
        for r, h in enumerate(histories):
            # scored one run at a time: on the whole set, NumPy's stacked products are slower
            p, s = _run(params, r), _run(state, r)
            losses = [float(v) for v in epoch_losses[:, r]]
            h["step_loss"].extend(losses)
            h["loss"].append(float(np.mean(losses)))
            h["train_acc"].append(net.accuracy(p, s, X, y))
            if X_val is not None:
                h["val_acc"].append(net.accuracy(p, s, X_val, y_val))
    return [(_run(params, r), _run(state, r), {k: np.asarray(v) for k, v in h.items()})
            for r, h in enumerate(histories)]
