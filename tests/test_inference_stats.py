"""helpers.inference_stats: the four ways to get batch norm's test-time statistics."""

import numpy as np
import pytest

from helpers import inference_stats
from helpers.batchnorm import batchnorm_forward, update_running_stats
from helpers.data import minibatches
from helpers.network import MLP, train
from helpers.optimizers import Adam
from helpers.probes import reestimate_bn_stats


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6)) * np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0]) + 0.5
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 4] > 1).astype(int)
    net = MLP((6, 5, 4, 3), activation="relu", norm="batch", momentum=0.8)
    params, state = net.init(seed=1)
    params, state, _ = train(net, params, state, X, y, Adam(0.01), epochs=3, batch_size=16,
                             seed=2)
    return net, params, state, X


def manual_layers(params, X_b, eps=1e-5):
    """z of layers 1 and 2 of the (6, 5, 4, 3) network in training mode, written out."""
    z1 = X_b @ params["W1"]
    a1 = np.maximum(batchnorm_forward(z1, params["gamma1"], params["beta1"], eps)[0], 0)
    return z1, a1 @ params["W2"]


def test_layer_batch_stream_is_each_batch_through_the_frozen_network(trained):
    net, params, state, X = trained
    stream = inference_stats.layer_batch_stream(net, params, state, X, layer=2, batch_size=32,
                                                epochs=2, seed=7)
    assert stream.shape == (2 * (150 // 32), 32, 4)
    rng = np.random.default_rng(7)
    expected = [manual_layers(params, X_b)[1] for _ in range(2)
                for X_b, _ in minibatches(X, np.zeros(150, dtype=int), 32, seed=rng)]
    np.testing.assert_allclose(stream, np.asarray(expected), rtol=1e-10, atol=1e-12)
    first = inference_stats.layer_batch_stream(net, params, state, X, layer=1, batch_size=32,
                                               seed=7)
    rng = np.random.default_rng(7)
    batches = [X_b for X_b, _ in minibatches(X, np.zeros(150, dtype=int), 32, seed=rng)]
    np.testing.assert_allclose(first, np.asarray([X_b @ params["W1"] for X_b in batches]),
                               rtol=1e-12)
    assert first.shape == (4, 32, 5)
    with pytest.raises(ValueError, match="layer"):
        inference_stats.layer_batch_stream(net, params, state, X, layer=3)


def test_population_statistics_is_algorithm_2(trained):
    net, params, state, X = trained
    m = 25
    new = inference_stats.population_statistics(net, params, state, X, batch_size=m, epochs=2,
                                                seed=3)
    biased = inference_stats.population_statistics(net, params, state, X, batch_size=m,
                                                   epochs=2, seed=3, unbiased=False)
    rng = np.random.default_rng(3)
    zs = [manual_layers(params, X_b) for _ in range(2)
          for X_b, _ in minibatches(X, np.zeros(150, dtype=int), m, seed=rng)]
    for l in (1, 2):
        z = np.asarray([pair[l - 1] for pair in zs])          # (batches, m, n)
        mean_of_means = z.mean(axis=1).mean(axis=0)
        mean_of_vars = z.var(axis=1).mean(axis=0)
        np.testing.assert_allclose(new[f"running_mean{l}"], mean_of_means, rtol=1e-10)
        np.testing.assert_allclose(new[f"running_var{l}"], m / (m - 1) * mean_of_vars, rtol=1e-10)
        np.testing.assert_allclose(biased[f"running_var{l}"], mean_of_vars, rtol=1e-10)
    assert state["running_var1"] is not new["running_var1"]   # a new state, the input kept


def test_one_batch_of_everything_is_the_full_pass(trained):
    net, params, state, X = trained
    one = inference_stats.population_statistics(net, params, state, X, batch_size=len(X),
                                                unbiased=False)
    full = reestimate_bn_stats(net, params, state, X)
    for name in full:
        np.testing.assert_allclose(one[name], full[name], rtol=1e-10)


def test_unbiased_running_stats_is_what_pytorch_would_have_averaged():
    rng = np.random.default_rng(4)
    m, momentum, steps = 8, 0.9, 40
    batch_vars = rng.gamma(2.0, 1.0, size=(steps, 3))
    keras, torch = np.ones(3), np.ones(3)
    for v in batch_vars:   # both started at 1, as MLP.init, Keras and PyTorch do
        _, keras = update_running_stats(np.zeros(3), keras, np.zeros(3), v, momentum)
        _, torch = update_running_stats(np.zeros(3), torch, np.zeros(3), v * m / (m - 1),
                                        momentum)
    state = {"running_mean1": np.full(3, 0.5), "running_var1": keras}
    out = inference_stats.unbiased_running_stats(state, momentum, steps, m)
    np.testing.assert_allclose(out["running_var1"], torch, rtol=1e-12)
    assert out["running_mean1"] is state["running_mean1"]       # means are not touched
    assert np.all(out["running_var1"] > keras)
    with pytest.raises(ValueError, match="batch_size"):
        inference_stats.unbiased_running_stats(state, momentum, steps, 1)


def test_bias_correction_gives_the_weighted_average_of_the_data_alone():
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 1.0, size=30)
    beta = 0.95
    for start in (0.0, 1.0):
        v, corrected = start, []
        for t, value in enumerate(x, start=1):
            v = beta * v + (1 - beta) * value
            weights = beta ** np.arange(t - 1, -1, -1)          # beta^(t-i) for i = 1..t
            corrected.append(inference_stats.bias_corrected(v, beta, t, start=start))
            assert corrected[-1] == pytest.approx(np.sum(weights * x[:t]) / weights.sum())
    assert inference_stats.bias_corrected(0.1, 0.9, 1) == pytest.approx(1.0)  # v_1 = 0.1 x_1
    steps = np.arange(1, 4)
    np.testing.assert_allclose(inference_stats.bias_corrected(1 - 0.5**steps, 0.5, steps), 1.0)
    with pytest.raises(ValueError, match="steps"):
        inference_stats.bias_corrected(0.3, 0.9, 0)
    with pytest.raises(ValueError, match="momentum"):
        inference_stats.bias_corrected(0.3, 1.0, 3)


def test_bias_corrected_state_removes_the_starting_values():
    momentum, steps = 0.99, 20
    w = momentum**steps
    # A constant batch mean 3 and variance 5, averaged from the starts 0 and 1:
    state = {"running_mean1": np.array([(1 - w) * 3.0]),
             "running_var1": np.array([w * 1.0 + (1 - w) * 5.0])}
    out = inference_stats.bias_corrected_state(state, momentum, steps)
    np.testing.assert_allclose(out["running_mean1"], [3.0])
    np.testing.assert_allclose(out["running_var1"], [5.0])


def test_networks_without_batch_norm_are_refused(trained):
    _, _, _, X = trained
    net = MLP((6, 5, 3), norm="layer")
    params, state = net.init(seed=0)
    with pytest.raises(ValueError, match="norm='batch'"):
        inference_stats.population_statistics(net, params, state, X, batch_size=10)
