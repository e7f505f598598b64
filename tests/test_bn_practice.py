"""helpers.bn_practice: frozen BN, fine-tuning, replica statistics, weight decay, dropout.

References: numerical gradients (helpers.gradcheck), helpers.network run in inference mode, plain
NumPy statistics of the batches, and the scale invariance that BN guarantees.
"""

import numpy as np
import pytest

from helpers import bn_practice, data
from helpers.gradcheck import numerical_gradient_array, relative_error
from helpers.layers import softmax_cross_entropy
from helpers.network import MLP, train
from helpers.optimizers import Adam, GradientDescent

LAYERS = (64, 12, 8, 10)


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(d.X, d.y, seed=0)
    X_train, X_test, _, _ = data.normalize_inputs(X_train, X_test)
    return X_train[:200], X_test[:100], y_train[:200], y_test[:100]


@pytest.fixture(scope="module")
def trained(digits):
    X, _, y, _ = digits
    net = MLP(LAYERS, norm="batch")
    params, state, _ = train(net, *net.init(seed=0), X, y, Adam(0.01), epochs=2, batch_size=16)
    return net, params, state


def test_frozen_bn_gradients_are_those_of_the_inference_mode_loss(digits, trained):
    X, _, y, _ = digits
    net, params, state = trained
    X, y = X[:10], y[:10]
    loss, grads = bn_practice.frozen_bn_grads(net, params, state, X, y)
    assert loss == pytest.approx(net.loss(params, state, X, y, training=False), abs=1e-12)
    assert set(grads) == {"W1", "W2", "W3", "b3"}      # gamma and beta are frozen
    for name in grads:
        p = {k: v.copy() for k, v in params.items()}

        def inference_loss(_):
            logits = net.forward(p, state, X, training=False)[0]
            return np.array(softmax_cross_entropy(logits, y)[0])

        numeric = numerical_gradient_array(inference_loss, p[name], np.array(1.0))
        assert relative_error(grads[name], numeric) < 1e-7


def test_fine_tuning_with_frozen_bn_keeps_statistics_gamma_and_beta(digits, trained):
    X, _, y, _ = digits
    net, params, state = trained
    p, s = bn_practice.fine_tune(net, params, state, X[:40], y[:40], Adam(0.01), bn="frozen",
                                 epochs=1, batch_size=4)
    assert all(np.array_equal(s[k], state[k]) for k in state)
    assert all(np.array_equal(p[k], params[k]) for k in params if k.startswith(("gamma", "beta")))
    assert not np.allclose(p["W1"], params["W1"])
    p, s = bn_practice.fine_tune(net, params, state, X[:40], y[:40], Adam(0.01), bn="train",
                                 epochs=1, batch_size=4)
    assert not np.allclose(s["running_mean1"], state["running_mean1"])


def test_replica_statistics_are_the_means_of_the_batches():
    z = np.random.default_rng(0).normal(size=(50, 3))
    stats = bn_practice.replica_statistics(z, per_replica=4, replicas=3, draws=7, seed=1)
    order = bn_practice.random_orders(50, 7, seed=1)
    batch = z[order[2, :12]]
    np.testing.assert_allclose(stats.sync_means[2], batch.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(stats.replica_means[2, 1], batch[4:8].mean(axis=0), atol=1e-12)
    assert sorted(order[0]) == list(range(50))           # a permutation: no example twice
    one = bn_practice.replica_statistics(z, 4, 1, draws=7, seed=1)
    assert one.spread(True) == pytest.approx(one.spread(False))


def test_synchronized_spread_shrinks_like_one_over_sqrt_devices():
    z = np.random.default_rng(1).normal(size=(4000, 8))
    stats = bn_practice.replica_statistics(z, per_replica=4, replicas=4, draws=2000)
    assert stats.spread(False) / stats.spread(True) == pytest.approx(2.0, rel=0.1)


def test_bn_is_scale_invariant_in_the_weights_before_it(digits, trained):
    X, _, y, _ = digits
    net, params, state = trained
    check = bn_practice.scale_invariance(net, params, state, X[:32], y[:32], factor=3.0)
    assert check["loss"][0] == pytest.approx(check["loss"][1], rel=1e-5)
    assert check["grad_ratio"] == pytest.approx(1 / 3, rel=1e-4)
    assert abs(check["cosine"]) < 1e-5


def test_weight_decay_and_the_growing_learning_rate_train_the_same_network(digits):
    X, _, y, _ = digits
    net = MLP(LAYERS, norm="batch")
    start = net.init(seed=2)
    _, _, h_decay = train(net, *start, X, y, bn_practice.WeightDecay(0.1, 0.05), epochs=2,
                          batch_size=32)
    _, _, h_growing = train(net, *start, X, y, bn_practice.ScheduledSGD(0.1, 0.05), epochs=2,
                            batch_size=32)
    _, _, h_plain = train(net, *start, X, y, GradientDescent(0.1), epochs=2, batch_size=32)
    np.testing.assert_allclose(h_decay["step_loss"], h_growing["step_loss"], rtol=0, atol=1e-4)
    assert np.abs(h_decay["step_loss"] - h_plain["step_loss"]).max() > 1e-3


def test_input_dropout_with_keep_1_is_the_plain_network(digits):
    X, _, y, _ = digits
    net = MLP(LAYERS, norm="batch")
    start = net.init(seed=0)
    dropped = bn_practice.InputDropout(net, 1.0, np.random.default_rng(0))
    p1, s1, _ = train(dropped, *start, X, y, Adam(0.01), epochs=1, batch_size=16)
    p2, s2, _ = train(net, *start, X, y, Adam(0.01), epochs=1, batch_size=16)
    np.testing.assert_array_equal(p1["W1"], p2["W1"])
    ratio = bn_practice.variance_shift(net, p2, s2, X)
    assert ratio.shape == (LAYERS[1],) and np.all(ratio > 0)


def test_dropout_before_bn_inflates_the_recorded_variance(digits):
    X, _, y, _ = digits
    net = MLP(LAYERS, norm="batch", momentum=0.5)
    dropped = bn_practice.InputDropout(net, 0.5, np.random.default_rng(0))
    p, s, _ = train(dropped, *net.init(seed=0), X, y, Adam(0.01), epochs=2, batch_size=32)
    assert bn_practice.variance_shift(net, p, s, X).mean() > 1.2


@pytest.mark.parametrize("call, match", [
    (lambda: bn_practice.replica_statistics(np.ones((5, 2)), 3, 2), "needs that many"),
    (lambda: bn_practice.fine_tune(MLP(LAYERS), {}, {}, None, None, None, bn="yes", epochs=1,
                                   batch_size=2), "bn"),
    (lambda: bn_practice.frozen_bn_grads(MLP(LAYERS, norm="layer"), {}, {}, None, None), "norm"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
