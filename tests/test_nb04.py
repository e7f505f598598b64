"""Notebook 04 (batch norm in a deep network): the facts its prose rests on, asserted here.

- train() is the lecture's per-mini-batch loop: a hand-written loop (forward with batch
  statistics, backward, optimizer step, running averages) gives the same numbers bit for bit;
- the backward pass's three paths: for an upstream gradient that is constant per unit the mean
  path cancels the direct one exactly, for one along z_norm the variance path does (up to eps);
- with the short last batch dropped, an epoch of 1,346 examples in batches of 64 is 21 steps.
(The OptimizerExplorer: test_explorers.py; the Keras twin: test_keras_equivalence.py.)
"""

import numpy as np
import pytest

from helpers import data
from helpers.batchnorm import batchnorm_backward, batchnorm_forward
from helpers.network import MLP, train
from helpers.optimizers import Adam, Momentum


@pytest.fixture(scope="module")
def small_digits():
    digits = data.load_digits()
    X, _, y, _ = data.train_test_split(digits.X, digits.y, test_fraction=0.25, seed=0)
    X, _, _, _ = data.normalize_inputs(X)
    return X[:300], y[:300]


def hand_written_loop(net, optimizer, X, y, epochs, batch_size, seed):
    """The loop of notebook 04, written with NumPy only around the network's forward/backward."""
    params, state = net.init(seed=seed)
    opt_state = optimizer.init_state(params)
    order = np.random.default_rng(seed)
    steps = 0
    for _ in range(epochs):
        for X_b, y_b in data.minibatches(X, y, batch_size, seed=order):
            logits, _, cache = net.forward(params, state, X_b, training=True)
            # softmax cross-entropy's gradient, written out: (softmax - one_hot) / m
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y_b)), y_b] -= 1
            grads = net.backward(p / len(y_b), cache)
            params, opt_state = optimizer.step(params, grads, opt_state)
            for l in net.hidden:
                bn = cache["layers"][l - 1]["norm"]
                k = net.momentum
                state = {**state,
                         f"running_mean{l}": k * state[f"running_mean{l}"] + (1 - k) * bn["mu"],
                         f"running_var{l}": k * state[f"running_var{l}"] + (1 - k) * bn["var"]}
            steps += 1
    return params, state, steps


@pytest.mark.parametrize("optimizer", [Adam(learning_rate=0.003), Momentum(0.1, beta=0.9)])
def test_train_is_the_per_mini_batch_loop(small_digits, optimizer):
    X, y = small_digits
    net = MLP((64, 16, 16, 10), activation="relu", norm="batch")
    params, state, steps = hand_written_loop(net, optimizer, X, y, epochs=2, batch_size=64, seed=3)
    p_train, s_train, history = train(net, *net.init(seed=3), X, y, optimizer, epochs=2,
                                      batch_size=64, seed=3)
    assert steps == len(history["step_loss"]) == 2 * (300 // 64)
    for ours, theirs in ((params, p_train), (state, s_train)):
        assert set(ours) == set(theirs)
        for k in ours:
            # round-off only (our softmax gradient is written differently); a wrong order or a
            # missing running-average update moves them by ~1e-2
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-8, atol=1e-10)


def test_an_epoch_of_the_notebook_is_21_full_batches():
    X = np.zeros((1346, 3))
    y = np.zeros(1346, dtype=int)
    sizes = [len(xb) for xb, _ in data.minibatches(X, y, 64, seed=0)]
    assert sizes == [64] * 21


def three_paths(dz_tilde, cache):
    z_norm, s, m = cache["z_norm"], cache["inv_std"], cache["m"]
    dz_norm = cache["gamma"] * dz_tilde
    direct = s * dz_norm
    mean_path = -s / m * dz_norm.sum(axis=0, keepdims=True) * np.ones_like(dz_norm)
    variance_path = -s / m * z_norm * (dz_norm * z_norm).sum(axis=0, keepdims=True)
    return direct, mean_path, variance_path


def test_the_mean_and_variance_paths_cancel_their_parts_of_the_upstream_gradient():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(10, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 5.0, -1.0, 2.0]
    gamma, beta = rng.uniform(0.5, 2.0, 4), rng.normal(size=4)
    _, cache = batchnorm_forward(z, gamma, beta)
    c = rng.normal(size=4)

    constant = np.ones((10, 1)) * c
    direct, mean_path, variance_path = three_paths(constant, cache)
    np.testing.assert_allclose(mean_path, -direct, atol=1e-12)
    np.testing.assert_allclose(variance_path, 0.0, atol=1e-12)
    np.testing.assert_allclose(batchnorm_backward(constant, cache)[0], 0.0, atol=1e-12)

    along = c * cache["z_norm"]
    direct, mean_path, variance_path = three_paths(along, cache)
    np.testing.assert_allclose(mean_path, 0.0, atol=1e-12)
    # sum of z_norm**2 over the batch is m * var / (var + eps): the cancellation misses by eps
    dz = batchnorm_backward(along, cache)[0]
    assert np.all(np.linalg.norm(dz, axis=0) < 1e-3 * np.linalg.norm(direct, axis=0))

    random = rng.normal(size=(10, 4))
    direct, mean_path, variance_path = three_paths(random, cache)
    np.testing.assert_allclose(direct + mean_path + variance_path,
                               batchnorm_backward(random, cache)[0], atol=1e-12)
    assert np.all(np.linalg.norm(mean_path, axis=0) > 0)  # the mean path matters for a mix
