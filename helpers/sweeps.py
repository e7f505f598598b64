"""Many small training runs at once: notebook 06's hyperparameter sweeps over seeds.

A sweep trains the same architecture many times (every learning rate or initial weight scale,
every seed). One run at a time, Python's per-step overhead dominates on these small matrices;
here R runs are stacked along a first axis and take their steps together (np.matmul over the
stack), each with its own initial weights, its own batch order and its own learning rate. Each
run is the run helpers.network.train would make with plain gradient descent and the same seed
(tests/test_sweeps.py checks that): He-initialized ReLU layers from MLP.init, batch norm before
g or no normalizer, softmax cross-entropy, the short last batch dropped.

    acc = train_many((64, 64, 64, 10), "batch", X, y, X_test, y_test,
                     learning_rates=[0.01, 0.1, 1.0], init_scales=[1.0, 1.0, 1.0],
                     seeds=[0, 0, 0], epochs=5)        # (3,) test accuracies
    grid = sweep_grid(values, seeds)                   # every value with every seed
"""

from typing import NamedTuple

import numpy as np

from helpers import validation
from helpers.network import MLP

__all__ = ["SweepGrid", "sweep_grid", "train_many"]


class SweepGrid(NamedTuple):
    """Every hyperparameter value paired with every seed, flattened run by run."""

    values: np.ndarray  # (R,) the value of each run
    seeds: np.ndarray  # (R,) the seed of each run
    shape: tuple  # (len(seeds), len(values)): reshape a (R,) result to one row per seed


def sweep_grid(values, seeds):
    """values (k,) x seeds (s,) -> SweepGrid of R = s * k runs, seed-major."""
    values = validation.finite(np.asarray(values, dtype=np.float64).ravel(), "values")
    seeds = np.asarray(seeds).ravel()
    if values.size == 0 or seeds.size == 0:
        raise ValueError("values and seeds must each hold at least one entry.")
    return SweepGrid(np.tile(values, seeds.size), np.repeat(seeds, values.size),
                     (seeds.size, values.size))


def _stack(dicts, name):
    return np.stack([d[name] for d in dicts])


def train_many(layer_sizes, norm, X, y, X_test, y_test, *, learning_rates, init_scales, seeds,
               epochs=5, batch_size=64, momentum=0.9, eps=1e-5,
               dtype=np.float64):
    """Train R ReLU networks at once with plain gradient descent; their test accuracies (R,).

    layer_sizes: (n_x, n[1], ..., n_classes); norm: "batch" (BN before g) or "none".
    X (m, n_x), y (m,): training set; X_test (k, n_x), y_test (k,): scored in inference mode
    (running statistics) after training.
    learning_rates, init_scales, seeds: (R,) each, one entry per run: run r starts from
    MLP.init(seed=seeds[r], init_scale=init_scales[r]), visits the examples in the order
    np.random.default_rng(seeds[r]) draws (as helpers.network.train) and steps with
    learning_rates[r]. A run that diverges overflows (silenced) and scores about chance.
    dtype: of the weights and the arithmetic (np.float32 is about twice as fast).
    """
    validation.choice(norm, "norm", ("batch", "none"))
    net = MLP(tuple(layer_sizes), activation="relu", norm=norm, momentum=momentum, eps=eps)
    lrs = validation.finite(np.asarray(learning_rates, dtype=np.float64).ravel(), "learning_rates")
    lrs = lrs.astype(dtype)
    scales = np.asarray(init_scales, dtype=np.float64).ravel()
    seeds = [int(s) for s in np.asarray(seeds).ravel()]
    if not (len(lrs) == len(scales) == len(seeds) >= 1):
        raise ValueError(f"learning_rates, init_scales and seeds need one entry per run, the "
                         f"same number each; got {len(lrs)}, {len(scales)} and {len(seeds)}.")
    X = validation.number_array(X, "X", ndim=2).astype(dtype)
    X_test = validation.number_array(X_test, "X_test", ndim=2).astype(dtype)
    y = validation.labels(y, len(X))
    y_test = validation.labels(y_test, len(X_test))
    batch_size = validation.integer(batch_size, "batch_size", low=2)
    epochs = validation.integer(epochs, "epochs")

    inits = [net.init(seed=s, init_scale=c, dtype=dtype) for s, c in zip(seeds, scales)]
    params = {name: _stack([p for p, _ in inits], name) for name in inits[0][0]}
    state = {name: _stack([s for _, s in inits], name) for name in inits[0][1]}
    rngs = [np.random.default_rng(s) for s in seeds]  # train's batch order, one per run
    m, R = len(X), len(seeds)
    with np.errstate(all="ignore"):  # diverging runs overflow: that is what a sweep measures
        for _ in range(epochs):
            orders = np.stack([rng.permutation(m) for rng in rngs])  # (R, m)
            for i in range(0, m - m % batch_size, batch_size):
                idx = orders[:, i:i + batch_size]  # (R, B): each run's own mini-batch
                grads, state = _loss_grads(net, params, state, X[idx], y[idx])
                for name in params:
                    params[name] = params[name] - lrs.reshape(-1, *[1] * (params[name].ndim - 1)) \
                        * grads[name]
        logits = _forward(net, params, state, np.broadcast_to(X_test, (R, *X_test.shape)),
                          training=False)[0]
    return np.mean(logits.argmax(axis=2) == y_test, axis=1)


def _forward(net, params, state, A, training):
    """Stacked forward pass: A (R, B, n_x) -> logits (R, B, classes), new state, caches."""
    new_state, caches = dict(state), []
    for l in net.hidden:
        z = A @ params[f"W{l}"]
        cache = {"a_in": A}
        if net.norm == "batch":
            if training:
                mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
                for key, value in ((f"running_mean{l}", mu), (f"running_var{l}", var)):
                    new_state[key] = net.momentum * state[key] + (1 - net.momentum) * value[:, 0]
            else:
                mu = state[f"running_mean{l}"][:, None, :]
                var = state[f"running_var{l}"][:, None, :]
            inv_std = 1.0 / np.sqrt(var + net.eps)
            z_norm = (z - mu) * inv_std
            z = params[f"gamma{l}"][:, None, :] * z_norm + params[f"beta{l}"][:, None, :]
            cache.update(z_norm=z_norm, inv_std=inv_std)
        else:
            z = z + params[f"b{l}"][:, None, :]
        cache["z"] = z  # the input of g
        A = np.maximum(z, 0)
        caches.append(cache)
    logits = A @ params[f"W{net.L}"] + params[f"b{net.L}"][:, None, :]
    return logits, new_state, (caches, A)


def _loss_grads(net, params, state, X_batch, y_batch):
    """Gradients of each run's mean cross-entropy on its own batch; the new running state."""
    logits, new_state, (caches, A) = _forward(net, params, state, X_batch, training=True)
    R, B, _ = logits.shape
    shifted = logits - logits.max(axis=2, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=2, keepdims=True)
    rows, cols = np.arange(R)[:, None], np.arange(B)[None, :]
    probs[rows, cols, y_batch] -= 1
    d = probs / B  # dL/dlogits, (R, B, classes)
    L = net.L
    grads = {f"W{L}": A.transpose(0, 2, 1) @ d, f"b{L}": d.sum(axis=1)}
    dA = d @ params[f"W{L}"].transpose(0, 2, 1)
    for l in reversed(net.hidden):
        cache = caches[l - 1]
        dz = dA * (cache["z"] > 0)
        if net.norm == "batch":
            z_norm, inv_std = cache["z_norm"], cache["inv_std"]
            grads[f"gamma{l}"] = (dz * z_norm).sum(axis=1)
            grads[f"beta{l}"] = dz.sum(axis=1)
            dn = dz * params[f"gamma{l}"][:, None, :]
            # the batch-norm backward pass: the three paths through z_norm, mu and var at once
            dz = inv_std * (dn - dn.mean(axis=1, keepdims=True)
                            - z_norm * (dn * z_norm).mean(axis=1, keepdims=True))
        else:
            grads[f"b{l}"] = dz.sum(axis=1)
        grads[f"W{l}"] = cache["a_in"].transpose(0, 2, 1) @ dz
        dA = dz @ params[f"W{l}"].transpose(0, 2, 1)
    return grads, new_state
