"""helpers.sweeps: many runs at once are the runs helpers.network.train makes one at a time."""

import numpy as np
import pytest

from helpers import data
from helpers.network import MLP, train
from helpers.optimizers import GradientDescent
from helpers.sweeps import sweep_grid, train_many


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(d.X, d.y, 0.25, seed=0)
    X_train, X_test, _, _ = data.normalize_inputs(X_train, X_test)
    return X_train[:300], X_test[:100], y_train[:300], y_test[:100]


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_each_stacked_run_is_the_run_train_makes(norm, digits):
    X, X_test, y, y_test = digits
    sizes = (64, 12, 10, 10)
    lrs, scales, seeds = [0.05, 0.3, 0.1], [1.0, 0.5, 2.0], [0, 1, 2]
    stacked = train_many(sizes, norm, X, y, X_test, y_test, learning_rates=lrs,
                         init_scales=scales, seeds=seeds, epochs=2, batch_size=32)
    expected = []
    for lr, scale, seed in zip(lrs, scales, seeds):
        net = MLP(sizes, activation="relu", norm=norm)
        params, state = net.init(seed=seed, init_scale=scale)
        params, state, _ = train(net, params, state, X, y, GradientDescent(lr), epochs=2,
                                 batch_size=32, seed=seed)
        expected.append(net.accuracy(params, state, X_test, y_test))
    np.testing.assert_allclose(stacked, expected, atol=1e-12)
    assert len(set(np.round(expected, 6))) > 1  # the runs differ, so the check can fail


def test_a_diverging_run_scores_about_chance_and_spares_the_others(digits):
    X, X_test, y, y_test = digits
    acc = train_many((64, 16, 10), "none", X, y, X_test, y_test, learning_rates=[0.3, 1e4],
                     init_scales=[1.0, 1.0], seeds=[0, 0], epochs=3, batch_size=32)
    assert acc[0] > 0.6 and acc[1] < 0.3


def test_float32_runs_close_to_float64(digits):
    X, X_test, y, y_test = digits
    kw = dict(learning_rates=[0.1], init_scales=[1.0], seeds=[3], epochs=1, batch_size=32)
    a64 = train_many((64, 16, 10), "batch", X, y, X_test, y_test, **kw)
    a32 = train_many((64, 16, 10), "batch", X, y, X_test, y_test, dtype=np.float32, **kw)
    assert abs(a64[0] - a32[0]) <= 0.02


def test_sweep_grid_pairs_every_value_with_every_seed():
    g = sweep_grid([0.1, 1.0, 10.0], (0, 5))
    np.testing.assert_array_equal(g.values, [0.1, 1.0, 10.0, 0.1, 1.0, 10.0])
    np.testing.assert_array_equal(g.seeds, [0, 0, 0, 5, 5, 5])
    assert g.shape == (2, 3)
    np.testing.assert_array_equal(np.arange(6).reshape(g.shape)[1], [3, 4, 5])  # row = seed 5


@pytest.mark.parametrize("call, error, match", [
    (lambda d: train_many((64, 8, 10), "layer", *d, learning_rates=[0.1], init_scales=[1.0],
                          seeds=[0]), ValueError, "norm"),
    (lambda d: train_many((64, 8, 10), "none", *d, learning_rates=[0.1, 0.2], init_scales=[1.0],
                          seeds=[0]), ValueError, "one entry per run"),
    (lambda d: train_many((64, 8, 10), "none", *d, learning_rates=[np.nan], init_scales=[1.0],
                          seeds=[0]), ValueError, "learning_rates"),
    (lambda d: sweep_grid([], [0]), ValueError, "at least one"),
])
def test_errors_name_the_argument(call, error, match, digits):
    X, X_test, y, y_test = digits
    with pytest.raises(error, match=match):
        call((X, y, X_test, y_test))
