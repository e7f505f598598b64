"""helpers.stacked_gap: notebook 05's regularization sweep with the seeds trained side by side.

Every stacked run must be the run network.train makes for its seed (to 1e-12), and the sweep
must return what helpers.regularization.gap_vs_batch_size returns, on a smaller training set.
"""

import numpy as np
import pytest

from helpers import data, regularization, stacked_gap
from helpers.network import MLP, train
from helpers.optimizers import Adam


@pytest.fixture(scope="module")
def small_digits():
    digits = data.load_digits()
    X_train, X_val, y_train, y_val = data.train_test_split(digits.X, digits.y,
                                                           test_fraction=0.25, seed=0)
    X_train, X_val, _, _ = data.normalize_inputs(X_train, X_val)
    return X_train[:300], X_val[:150], y_train[:300], y_val[:150]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_each_run_of_the_plain_stack_is_network_train(small_digits, activation):
    X, _, y, _ = small_digits
    net = MLP((64, 16, 12, 10), activation=activation, norm="none")
    seeds = (3, 0, 7)
    run = stacked_gap.train_plain_stack(net, X, y, Adam(0.01), epochs=3, batch_size=32,
                                        seeds=seeds)
    assert run.state == {} and run.step_loss.shape == (3, 3 * (300 // 32))
    for s, seed in enumerate(seeds):
        params, _, history = train(net, *net.init(seed=seed), X, y, Adam(0.01), epochs=3,
                                   batch_size=32, seed=seed)
        assert set(run.params) == set(params)
        for name, value in params.items():
            np.testing.assert_allclose(run.params[name][s], value, rtol=0, atol=1e-12,
                                       err_msg=f"seed {seed}, {name}")
        np.testing.assert_allclose(run.step_loss[s], history["step_loss"], rtol=0, atol=1e-12)


def test_plain_backward_matches_the_networks_backward():
    rng = np.random.default_rng(4)
    net = MLP((5, 4, 3), activation="relu", norm="none")
    inits = [net.init(seed=s)[0] for s in (1, 2)]
    for p in inits:  # nonzero biases, so that db is exercised
        p["b1"] = rng.normal(size=4)
        p["b2"] = rng.normal(size=3)
    stacked = {k: np.stack([p[k] for p in inits]) for k in inits[0]}
    X = rng.normal(size=(2, 6, 5))
    logits, cache = stacked_gap.plain_forward(net, stacked, X)
    dlogits = rng.normal(size=logits.shape)
    grads = stacked_gap.plain_backward(net, stacked, dlogits, cache)
    for s, p in enumerate(inits):
        own_logits, _, own_cache = net.forward(p, {}, X[s], training=True)
        np.testing.assert_allclose(logits[s], own_logits, rtol=0, atol=1e-14)
        own = net.backward(dlogits[s], own_cache)
        for name in own:
            np.testing.assert_allclose(grads[name][s], own[name], rtol=0, atol=1e-14)


def test_the_stacked_sweep_is_the_sweep(small_digits):
    X, X_val, y, y_val = small_digits
    kwargs = dict(epochs={16: 2, 64: 4}, seeds=(0, 1), hidden=(16, 16))
    one_by_one = regularization.gap_vs_batch_size(X, y, X_val, y_val, **kwargs)
    stacked = stacked_gap.gap_vs_batch_size(X, y, X_val, y_val, **kwargs)
    assert stacked.batch_sizes == one_by_one.batch_sizes == (16, 64)
    assert stacked.steps == one_by_one.steps and stacked.epochs == one_by_one.epochs
    for field in ("train_acc", "val_acc", "gap"):
        for key, spread in getattr(one_by_one, field).items():
            np.testing.assert_array_equal(getattr(stacked, field)[key].values, spread.values)
    for m in (16, 64):
        np.testing.assert_array_equal(stacked.gap_difference[m].values,
                                      one_by_one.gap_difference[m].values)
    for key, (net, params, state) in one_by_one.trained.items():
        net_s, params_s, state_s = stacked.trained[key]
        assert net_s == net and set(params_s) == set(params) and set(state_s) == set(state)
        for name in params:
            np.testing.assert_allclose(params_s[name], params[name], rtol=0, atol=1e-12)
        for name in state:
            np.testing.assert_allclose(state_s[name], state[name], rtol=0, atol=1e-12)


@pytest.mark.parametrize("call, error, words", [
    (lambda X, y: stacked_gap.train_plain_stack(MLP((64, 8, 10), norm="batch"), X, y, Adam(0.01),
                                                epochs=1, batch_size=16, seeds=(0,)),
     ValueError, "norm='none'"),
    (lambda X, y: stacked_gap.train_plain_stack(MLP((64, 8, 10), norm="none"), X, y, Adam(0.01),
                                                epochs=1, batch_size=16, seeds=()),
     ValueError, "seeds is empty"),
    (lambda X, y: stacked_gap.gap_vs_batch_size(X, y, X, y, epochs=[16]), TypeError,
     "epochs must be a non-empty dict"),
])
def test_bad_arguments_are_named(small_digits, call, error, words):
    X, _, y, _ = small_digits
    with pytest.raises(error, match=words):
        call(X, y)
