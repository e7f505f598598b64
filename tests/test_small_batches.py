"""helpers.small_batches: networks trained side by side compute what helpers.network computes.

Every expected value comes from helpers.network (MLP, train), helpers.layers or plain NumPy on
one seed at a time, never from the stack itself.
"""

import numpy as np
import pytest

from helpers import data, small_batches
from helpers.batchnorm import batchnorm_inference
from helpers.layers import softmax_cross_entropy
from helpers.network import MLP, train
from helpers.optimizers import Adam

LAYERS = (64, 16, 8, 10)


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(d.X, d.y, seed=0)
    X_train, X_test, _, _ = data.normalize_inputs(X_train, X_test)
    return X_train[:120], X_test[:80], y_train[:120], y_test[:80]


def one_by_one(net, X, y, seeds, m=4, epochs=2, lr=0.003):
    """network.train for each seed: the reference the stack must reproduce."""
    return [train(net, *net.init(seed), X, y, Adam(lr), epochs=epochs, batch_size=m, seed=seed)
            for seed in seeds]


@pytest.mark.parametrize("norm", ["batch", "layer", "group"])
def test_a_stack_trains_each_seed_exactly_as_network_train(digits, norm):
    X, _, y, _ = digits
    net, seeds = MLP(LAYERS, norm=norm, groups=4), (0, 5)
    run = small_batches.train_stack(net, X, y, Adam(0.003), epochs=2, batch_size=4, seeds=seeds)
    for i, (params, state, history) in enumerate(one_by_one(net, X, y, seeds)):
        for name in params:
            np.testing.assert_allclose(run.params[name][i], params[name], rtol=0, atol=1e-12)
        for name in state:
            np.testing.assert_allclose(run.state[name][i], state[name], rtol=0, atol=1e-12)
        np.testing.assert_allclose(run.step_loss[i], history["step_loss"], rtol=0, atol=1e-12)
    assert run.step_loss.shape == (2, 2 * (len(X) // 4)) and run.seeds == seeds


def test_several_normalizers_in_one_stack_train_as_if_alone(digits):
    X, _, y, _ = digits
    nets = (MLP(LAYERS, norm="batch"), MLP(LAYERS, norm="group", groups=4))
    runs = small_batches.train_stack(nets, X, y, Adam(0.003), epochs=2, batch_size=4,
                                     seeds=(1, 2))
    assert len(runs) == 2 and set(runs[1].state) == set()
    for net, run in zip(nets, runs):
        for i, (params, _, _) in enumerate(one_by_one(net, X, y, (1, 2))):
            for name in params:
                np.testing.assert_allclose(run.params[name][i], params[name], rtol=0, atol=1e-12)


def test_the_unbiased_running_variance_averages_m_over_m_minus_1_times_the_batch_variance(digits):
    X, _, y, _ = digits
    net, m, seed = MLP(LAYERS, norm="batch"), 6, 3
    run = small_batches.train_stack(net, X[:m], y[:m], Adam(0.001), epochs=1, batch_size=m,
                                    seeds=(seed,))
    # one step from running_var = 1: new = 0.9 * 1 + 0.1 * (batch variance with ddof=1)
    W1 = net.init(seed)[0]["W1"]
    z = X[np.random.default_rng(seed).permutation(m)] @ W1
    np.testing.assert_allclose(run.state["running_var_unbiased1"][0],
                               0.9 + 0.1 * z.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(run.state["running_var1"][0], 0.9 + 0.1 * z.var(axis=0),
                               rtol=1e-12)


def test_stacked_loss_is_each_seeds_softmax_cross_entropy():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(3, 5, 4)), rng.integers(0, 4, size=(3, 5))
    loss, dlogits = small_batches.stacked_loss(logits, y)
    for s in range(3):
        expected_loss, expected_d = softmax_cross_entropy(logits[s], y[s])
        assert loss[s] == pytest.approx(expected_loss, abs=1e-12)
        np.testing.assert_allclose(dlogits[s], expected_d, atol=1e-12)


@pytest.fixture(scope="module")
def trained_bn(digits):
    X, _, y, _ = digits
    net = MLP(LAYERS, norm="batch")
    return net, small_batches.train_stack(net, X, y, Adam(0.003), epochs=2, batch_size=8,
                                          seeds=(0, 1))


def test_population_statistics_are_each_layers_exact_mean_and_variance(digits, trained_bn):
    X, X_test, _, y_test = digits
    net, run = trained_bn
    stats = small_batches.population_statistics(net, run.params, X)
    for s in range(2):
        params = {k: v[s] for k, v in run.params.items()}
        z1 = X @ params["W1"]
        np.testing.assert_allclose(stats["running_mean1"][s], z1.mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(stats["running_var1"][s], z1.var(axis=0), atol=1e-12)
        a1 = np.maximum(batchnorm_inference(z1, params["gamma1"], params["beta1"],
                                            z1.mean(axis=0), z1.var(axis=0)), 0)
        np.testing.assert_allclose(stats["running_var2"][s], (a1 @ params["W2"]).var(axis=0),
                                   atol=1e-12)
        state = {k: v[s] for k, v in stats.items()}
        expected = net.accuracy(params, state, X_test, y_test)
        got = small_batches.stacked_accuracy(net, run.params, stats, X_test, y_test)[s]
        assert got == expected


def test_accuracy_with_the_unbiased_variance_uses_it(digits, trained_bn):
    _, X_test, _, y_test = digits
    net, run = trained_bn
    for s in range(2):
        params = {k: v[s] for k, v in run.params.items()}
        state = {f"running_mean{l}": run.state[f"running_mean{l}"][s] for l in (1, 2)}
        state |= {f"running_var{l}": run.state[f"running_var_unbiased{l}"][s] for l in (1, 2)}
        got = small_batches.stacked_accuracy(net, run.params, run.state, X_test, y_test,
                                             unbiased=True)[s]
        assert got == net.accuracy(params, state, X_test, y_test)


def test_training_mode_predictions_normalize_each_test_batch_on_its_own(digits, trained_bn):
    _, X_test, _, _ = digits
    net, run = trained_bn
    idx, predictions = small_batches.training_mode_predictions(net, run.params, run.state,
                                                               X_test, 3, seed=4)
    assert len(idx) == len(X_test) - len(X_test) % 3 and predictions.shape == (2, len(idx))
    params = {k: v[1] for k, v in run.params.items()}
    state = {k: v[1] for k, v in run.state.items() if "unbiased" not in k}
    order = np.random.default_rng(4).permutation(len(X_test))
    first = net.forward(params, state, X_test[order[:3]], training=True)[0].argmax(axis=1)
    np.testing.assert_array_equal(idx[:3], order[:3])
    np.testing.assert_array_equal(predictions[1, :3], first)


@pytest.mark.parametrize("m, expected", [(16, 0.005), (4, 0.0025), (64, 0.01)])
def test_sqrt_rule(m, expected):
    assert small_batches.sqrt_rule(m) == pytest.approx(expected)


def test_batch_size_sweep_collects_every_measurement(digits):
    X, X_test, y, y_test = digits
    sweep = small_batches.batch_size_sweep(X, y, X_test, y_test, batch_sizes=(4, 8), seeds=(0, 1),
                                           layer_sizes=LAYERS, epochs=1, last_steps=5)
    assert sweep.batch_sizes == (4, 8) and sweep.learning_rates == pytest.approx((0.0025, 0.0035),
                                                                                abs=1e-4)
    for norm in ("batch", "layer", "group"):
        assert sweep.test_acc[norm].shape == sweep.final_loss[norm].shape == (2, 2)
    np.testing.assert_array_equal(sweep.bn["biased"], sweep.test_acc["batch"])
    for key in ("train_mode_acc", "unbiased", "exact", "changed"):
        assert sweep.bn[key].shape == (2, 2) and np.all((0 <= sweep.bn[key]) & (sweep.bn[key] <= 1))
    run = sweep.runs["layer", 8]
    np.testing.assert_allclose(sweep.final_loss["layer"][1], run.step_loss[:, -5:].mean(axis=1))


@pytest.mark.parametrize("call, error, words", [
    (lambda: small_batches.stack_init(MLP(LAYERS, norm="none"), (0,)), ValueError, "normalized"),
    (lambda: small_batches.stack_init(MLP(LAYERS), ()), ValueError, "seeds is empty"),
    (lambda: small_batches.stack_init((MLP(LAYERS), MLP((64, 8, 10))), (0,)), ValueError,
     "same layer sizes"),
    (lambda: small_batches.stack_init("batch", (0,)), TypeError, "MLP"),
    (lambda: small_batches.batch_size_sweep(np.ones((4, 64)), np.zeros(4, int), np.ones((2, 64)),
                                            np.zeros(2, int), norms=("instance",)),
     ValueError, "norms"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_backward_needs_a_training_mode_cache(digits, trained_bn):
    X = digits[0][:4]
    net, run = trained_bn
    logits, _, cache = small_batches.stacked_forward(net, run.params, run.state, X, training=False)
    with pytest.raises(ValueError, match="training mode"):
        small_batches.stacked_backward(np.zeros_like(logits), cache)
    with pytest.raises(ValueError, match="X must have shape"):
        small_batches.stacked_forward(net, run.params, run.state, X[:, :10], training=True)
