"""helpers.network: gradient checks, inference mode, training, running statistics, errors."""

import numpy as np
import pytest

from helpers.data import load_digits, minibatches, normalize_inputs, train_test_split
from helpers.gradcheck import numerical_gradient, relative_error
from helpers.layers import softmax_cross_entropy
from helpers.network import MLP, train
from helpers.optimizers import Adam, GradientDescent, Momentum, RMSprop

BN_MODES = [None, "before", "after"]
ACTS = ["relu", "tanh", "sigmoid"]
G = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def small_case(bn, activation, m=8, seed=0):
    """A 4 -> 5 -> 5 -> 3 network with b, gamma, beta moved off their initial 0 / 1."""
    net = MLP((4, 5, 5, 3), activation=activation, bn=bn)
    params, state = net.init(seed=seed)
    rng = np.random.default_rng(seed + 100)
    for k in params:
        if not k.startswith("W"):
            params[k] = params[k] + rng.normal(scale=0.3, size=params[k].shape)
    for k in state:  # running statistics away from 0 / 1, for inference-mode checks
        state[k] = state[k] + (
            rng.uniform(0.2, 1, size=state[k].shape)
            if "var" in k
            else rng.normal(size=state[k].shape)
        )
    X = rng.normal(size=(m, 4))
    y = rng.integers(0, 3, size=m)
    return net, params, state, X, y


def reference_logits(net, params, state, X, training):
    """The network written out with plain NumPy, independently of helpers.batchnorm/layers."""

    def bn(x, l):
        if training:
            mu, var = x.mean(axis=0), x.var(axis=0)
        else:
            mu, var = state[f"running_mean{l}"], state[f"running_var{l}"]
        return params[f"gamma{l}"] * (x - mu) / np.sqrt(var + net.eps) + params[f"beta{l}"]

    a = X
    for l in net.hidden:
        z = a @ params[f"W{l}"] + params.get(f"b{l}", 0.0)
        if net.bn == "before":
            z = bn(z, l)
        a = G[net.activation](z)
        if net.bn == "after":
            a = bn(a, l)
    return a @ params[f"W{net.L}"] + params[f"b{net.L}"]


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(d.X, d.y, test_fraction=0.2, seed=0)
    X_train, X_test, _, _ = normalize_inputs(X_train, X_test)
    return X_train, X_test, y_train, y_test


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("bn", BN_MODES)
def test_gradient_check_whole_network(bn, activation):
    net, params, state, X, y = small_case(bn, activation)
    _, grads, _ = net.loss_and_grads(params, state, X, y)
    assert set(grads) == set(params)

    def loss():  # reads params, which numerical_gradient nudges in place
        logits, _, _ = net.forward(params, state, X, training=True)
        return softmax_cross_entropy(logits, y)[0]

    for name in params:
        numeric = numerical_gradient(loss, params[name])
        assert grads[name].shape == params[name].shape
        assert relative_error(grads[name], numeric) < 1e-7, name


def test_bias_is_dropped_before_bn_only():
    assert sorted(MLP((4, 5, 5, 3), bn="before").param_shapes()) == [
        "W1",
        "W2",
        "W3",
        "b3",
        "beta1",
        "beta2",
        "gamma1",
        "gamma2",
    ]
    assert {"b1", "b2", "gamma1", "beta1"} <= set(MLP((4, 5, 5, 3), bn="after").param_shapes())
    assert sorted(MLP((4, 5, 5, 3), bn=None).param_shapes()) == ["W1", "W2", "W3", "b1", "b2", "b3"]


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bn", BN_MODES)
def test_forward_matches_plain_numpy(bn, training):
    net, params, state, X, _ = small_case(bn, "tanh", m=16)
    logits, _, _ = net.forward(params, state, X, training=training)
    np.testing.assert_allclose(
        logits, reference_logits(net, params, state, X, training), atol=1e-12
    )


@pytest.mark.parametrize("bn", ["before", "after"])
def test_inference_uses_running_stats_and_works_for_one_example(bn):
    net, params, state, X, _ = small_case(bn, "relu", m=16)
    logits_batch, new_state, _ = net.forward(params, state, X, training=False)
    assert new_state == state  # inference never changes the running statistics
    logits_one, _, _ = net.forward(params, state, X[3:4], training=False)
    np.testing.assert_allclose(logits_one, logits_batch[3:4], atol=1e-13)
    # Training mode uses the batch's statistics instead: a different function of X.
    logits_train, trained_state, _ = net.forward(params, state, X, training=True)
    assert not np.allclose(logits_train, logits_batch)
    assert all(not np.array_equal(trained_state[k], state[k]) for k in state)
    with pytest.raises(ValueError, match="batch of at least 2"):
        net.forward(params, state, X[:1], training=True)


def test_running_stats_update_is_the_lecture_average():
    net, params, state, X, _ = small_case("before", "relu", m=16)
    _, new_state, _ = net.forward(params, state, X, training=True)
    z1 = X @ params["W1"]
    np.testing.assert_allclose(
        new_state["running_mean1"], 0.9 * state["running_mean1"] + 0.1 * z1.mean(0)
    )
    np.testing.assert_allclose(
        new_state["running_var1"], 0.9 * state["running_var1"] + 0.1 * z1.var(0)
    )


@pytest.mark.parametrize("bn", ["before", "after"])
def test_running_stats_converge_to_population_statistics(bn, digits):
    X = digits[0]
    net = MLP((64, 6, 10), activation="tanh", bn=bn, momentum=0.9)
    params, state = net.init(seed=3)
    if bn == "after":
        params["b1"] = np.linspace(-1, 1, 6)  # so that the units' means differ
    rng = np.random.default_rng(0)
    m = 64
    for _ in range(4):  # fixed weights, 4 epochs of batches: only the averages move
        for X_batch, _ in minibatches(X, X[:, 0], m, seed=rng, drop_last=True):
            _, state, _ = net.forward(params, state, X_batch, training=True)
    u = X @ params["W1"] if bn == "before" else np.tanh(X @ params["W1"] + params["b1"])
    mu, var = u.mean(axis=0), u.var(axis=0)
    std = np.sqrt(var)
    # The average of batch variances estimates (m - 1) / m of the population variance.
    assert np.all(np.abs(state["running_mean1"] - mu) < 0.1 * std)
    np.testing.assert_allclose(state["running_var1"], (m - 1) / m * var, rtol=0.15)
    assert np.all(np.abs(state["running_mean1"]) > 0) and not np.allclose(state["running_var1"], 1)


# ----------------------------------------------------------------------------- initialization
@pytest.mark.parametrize(
    "activation, init, expected_var",
    [
        ("relu", "auto", 2 / 400),
        ("tanh", "auto", 2 / (400 + 300)),
        ("tanh", "he", 2 / 400),
    ],
)
def test_initialization_scale(activation, init, expected_var):
    net = MLP((400, 300, 10), activation=activation, bn=None)
    params, state = net.init(seed=0, init=init)
    assert abs(params["W1"].var() / expected_var - 1) < 0.02
    assert abs(params["W2"].var() / (2 / 310) - 1) < 0.1  # output layer: always Glorot
    doubled, _ = net.init(seed=0, init=init, init_scale=2.0)
    np.testing.assert_allclose(doubled["W1"], 2 * params["W1"])
    np.testing.assert_array_equal(params["b1"], 0)
    assert state == {}
    other, _ = net.init(seed=1, init=init)
    assert not np.array_equal(other["W1"], params["W1"])


def test_init_bn_parameters_and_dtype():
    params, state = MLP((4, 5, 3), bn="before").init(seed=0, dtype=np.float32)
    np.testing.assert_array_equal(params["gamma1"], 1)
    np.testing.assert_array_equal(params["beta1"], 0)
    np.testing.assert_array_equal(state["running_mean1"], 0)
    np.testing.assert_array_equal(state["running_var1"], 1)
    assert all(v.dtype == np.float32 for v in [*params.values(), *state.values()])


# ----------------------------------------------------------------------------- training
@pytest.mark.parametrize(
    "optimizer",
    [
        GradientDescent(learning_rate=0.2),
        Momentum(learning_rate=0.2),
        RMSprop(learning_rate=0.01),
        Adam(learning_rate=0.01),
    ],
    ids=["gd", "momentum", "rmsprop", "adam"],
)
@pytest.mark.parametrize("bn", BN_MODES)
def test_training_reduces_the_loss(bn, optimizer, digits):
    X_train, X_test, y_train, y_test = digits
    X, y = X_train[:300], y_train[:300]
    net = MLP((64, 16, 16, 10), activation="relu", bn=bn)
    params, state = net.init(seed=0)
    loss_before = net.loss(params, state, X, y)
    params, state, history = train(
        net,
        params,
        state,
        X,
        y,
        optimizer,
        epochs=5,
        batch_size=32,
        seed=0,
        X_val=X_test,
        y_val=y_test,
    )
    assert history["loss"].shape == history["train_acc"].shape == history["val_acc"].shape == (5,)
    assert history["step_loss"].shape == (5 * 10,)  # 300 / 32 -> 10 batches per epoch
    assert net.loss(params, state, X, y) < 0.5 * loss_before
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_acc"][-1] > 0.7


def test_seeded_training_is_bit_identical(digits):
    X, y = digits[0][:200], digits[2][:200]
    net = MLP((64, 8, 8, 10), activation="tanh", bn="before")

    def run(seed):
        params, state = net.init(seed=0)
        return train(
            net, params, state, X, y, Adam(0.01), epochs=2, batch_size=32, seed=seed, record_every=3
        )

    (p1, s1, h1), (p2, s2, h2), (p3, _, _) = run(5), run(5), run(6)
    for a, b in ((p1, p2), (s1, s2)):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_array_equal(h1["step_loss"], h2["step_loss"])
    np.testing.assert_array_equal(h1["percentiles"][2], h2["percentiles"][2])
    assert not np.array_equal(p1["W1"], p3["W1"])  # another seed, another batch order


def test_train_leaves_its_inputs_unchanged(digits):
    X, y = digits[0][:64], digits[2][:64]
    net = MLP((64, 8, 10), bn="before")
    params, state = net.init(seed=0)
    copies = {k: v.copy() for k, v in {**params, **state}.items()}
    train(net, params, state, X, y, Momentum(0.1), epochs=1, batch_size=16)
    for k, v in {**params, **state}.items():
        np.testing.assert_array_equal(v, copies[k])


def test_recorded_percentiles_of_a_units_input(digits):
    X, y = digits[0][:256], digits[2][:256]
    X_probe = digits[1][:100]
    net = MLP((64, 8, 8, 10), activation="sigmoid", bn="before")
    params, state = net.init(seed=0)
    _, _, history = train(
        net,
        params,
        state,
        X,
        y,
        Adam(0.01),
        epochs=2,
        batch_size=32,
        record_every=5,
        record_unit=2,
        X_probe=X_probe,
    )
    steps = 2 * 8
    np.testing.assert_array_equal(history["record_step"], np.arange(0, steps, 5))
    for l in (1, 2):
        p = history["percentiles"][l]
        assert p.shape == (4, 3) and np.all(np.diff(p, axis=1) >= 0)
    # The first record is taken before any update: z~ of unit 2 of layer 1 with gamma = 1,
    # beta = 0 is the probe's z normalized with the probe's own batch statistics.
    z = X_probe @ params["W1"][:, 2]
    z_tilde = (z - z.mean()) / np.sqrt(z.var() + net.eps)
    np.testing.assert_allclose(
        history["percentiles"][1][0], np.percentile(z_tilde, [15, 50, 85]), atol=1e-12
    )


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"layer_sizes": (64,)}, ValueError, "at least 2 entries"),
        ({"layer_sizes": (64, 0, 10)}, ValueError, "positive ints; got 0"),
        ({"layer_sizes": (64, 3.5, 10)}, ValueError, "positive ints; got 3.5"),
        ({"layer_sizes": (64, 5, 1)}, ValueError, "number of classes"),
        ({"layer_sizes": "64-10"}, TypeError, "tuple of ints"),
        ({"layer_sizes": (4, 3), "activation": "softmax"}, ValueError, "activation.*'softmax'"),
        ({"layer_sizes": (4, 3), "bn": "middle"}, ValueError, "bn must be one of.*'middle'"),
        ({"layer_sizes": (4, 3), "momentum": 1.5}, ValueError, "momentum.*1.5"),
        ({"layer_sizes": (4, 3), "eps": 0}, ValueError, "eps.*got 0"),
    ],
)
def test_bad_architecture_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


def test_bad_inputs_raise_clear_errors():
    net, params, state, X, y = small_case("before", "relu")
    with pytest.raises(ValueError, match=r"X must have shape \(m, 4\).*\(8, 5\)"):
        net.forward(params, state, np.ones((8, 5)), training=True)
    with pytest.raises(ValueError, match=r"X must have shape.*\(4,\)"):
        net.forward(params, state, np.ones(4), training=False)
    with pytest.raises(ValueError, match=r"y must have shape \(8,\)"):
        net.loss_and_grads(params, state, X, y[:5])
    with pytest.raises(ValueError, match="labels in y must be in 0..2"):
        net.loss_and_grads(params, state, X, y + 3)
    with pytest.raises(ValueError, match=r"missing \[\].*unexpected \['b1', 'b2'\]"):
        other, _ = MLP((4, 5, 5, 3), bn="after").init()
        net.forward({k: v for k, v in other.items()}, state, X, training=True)
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(5, 5\)"):
        net.forward({**params, "W2": np.ones((5, 4))}, state, X, training=True)
    _, _, cache = net.forward(params, state, X, training=False)
    with pytest.raises(ValueError, match="training=True"):
        net.backward(np.ones((8, 3)), cache)
    with pytest.raises(ValueError, match="init must be one of"):
        net.init(init="xavier")
    with pytest.raises(ValueError, match="epochs"):
        train(net, params, state, X, y, Adam(), epochs=0)
    with pytest.raises(ValueError, match="record_unit.*0..4.*got 7"):
        train(net, params, state, X, y, Adam(), record_every=1, record_unit=7)
