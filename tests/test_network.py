"""helpers.network: gradient checks, inference mode, training, running statistics, errors."""

import numpy as np
import pytest

from helpers.data import load_digits, minibatches, normalize_inputs, train_test_split
from helpers.gradcheck import numerical_gradient, relative_error
from helpers.layers import softmax_cross_entropy
from helpers.network import MLP, NORMALIZERS, train
from helpers.optimizers import Adam, GradientDescent, Momentum, RMSprop

# (norm, placement): every normalizer before and after g, and no normalizer
CONFIGS = [("none", "before")] + [(n, p) for n in ("batch", "layer", "group")
                                  for p in ("before", "after")]
IDS = [f"{n}-{p}" for n, p in CONFIGS]
BN_CONFIGS = [("none", "before"), ("batch", "before"), ("batch", "after")]
ACTS = ["relu", "tanh", "sigmoid"]
G = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def small_case(norm, placement, activation, m=8, seed=0):
    """A 4 -> 6 -> 6 -> 3 network with b, gamma, beta moved off their initial 0 / 1."""
    net = MLP((4, 6, 6, 3), activation=activation, norm=norm, placement=placement, groups=2)
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

    def normalize(x, l):
        if net.norm == "batch" and training:
            mu, var = x.mean(axis=0), x.var(axis=0)
        elif net.norm == "batch":
            mu, var = state[f"running_mean{l}"], state[f"running_var{l}"]
        else:  # layer norm: one group of all units; group norm: net.groups groups
            groups = net.groups if net.norm == "group" else 1
            xg = x.reshape(len(x), groups, -1)
            mu = np.repeat(xg.mean(axis=2), xg.shape[2], axis=1)
            var = np.repeat(xg.var(axis=2), xg.shape[2], axis=1)
        return params[f"gamma{l}"] * (x - mu) / np.sqrt(var + net.eps) + params[f"beta{l}"]

    a = X
    for l in net.hidden:
        z = a @ params[f"W{l}"] + params.get(f"b{l}", 0.0)
        if net.normalized == "before":
            z = normalize(z, l)
        a = G[net.activation](z)
        if net.normalized == "after":
            a = normalize(a, l)
    return a @ params[f"W{net.L}"] + params[f"b{net.L}"]


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(d.X, d.y, test_fraction=0.2, seed=0)
    X_train, X_test, _, _ = normalize_inputs(X_train, X_test)
    return X_train, X_test, y_train, y_test


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("norm, placement", CONFIGS, ids=IDS)
def test_gradient_check_whole_network(norm, placement, activation):
    net, params, state, X, y = small_case(norm, placement, activation)
    _, grads, _ = net.loss_and_grads(params, state, X, y)
    assert set(grads) == set(params)

    def loss():  # reads params, which numerical_gradient nudges in place
        logits, _, _ = net.forward(params, state, X, training=True)
        return softmax_cross_entropy(logits, y)[0]

    for name in params:
        numeric = numerical_gradient(lambda _: loss(), params[name])
        assert grads[name].shape == params[name].shape
        assert relative_error(grads[name], numeric) < 1e-7, name


def test_bias_is_dropped_before_a_normalizer_only():
    for norm in ("batch", "layer", "group"):
        assert sorted(MLP((4, 6, 6, 3), norm=norm, groups=2).param_shapes()) == [
            "W1", "W2", "W3", "b3", "beta1", "beta2", "gamma1", "gamma2"]
        after = MLP((4, 6, 6, 3), norm=norm, placement="after", groups=2).param_shapes()
        assert {"b1", "b2", "gamma1", "beta1"} <= set(after)
    for placement in ("before", "after"):  # without a normalizer the placement does not matter
        net = MLP((4, 5, 5, 3), norm="none", placement=placement)
        assert sorted(net.param_shapes()) == ["W1", "W2", "W3", "b1", "b2", "b3"]


def test_only_batch_norm_has_running_statistics():
    assert set(MLP((4, 6, 2), norm="batch").init()[1]) == {"running_mean1", "running_var1"}
    for norm in ("layer", "group", "none"):
        assert MLP((4, 6, 2), norm=norm, groups=3).init()[1] == {}
    assert set(NORMALIZERS) == {"none", "batch", "layer", "group"}


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("norm, placement", CONFIGS, ids=IDS)
def test_forward_matches_plain_numpy(norm, placement, training):
    net, params, state, X, _ = small_case(norm, placement, "tanh", m=16)
    logits, _, _ = net.forward(params, state, X, training=training)
    np.testing.assert_allclose(
        logits, reference_logits(net, params, state, X, training), atol=1e-12
    )


@pytest.mark.parametrize("placement", ["before", "after"])
def test_inference_uses_running_stats_and_works_for_one_example(placement):
    net, params, state, X, _ = small_case("batch", placement, "relu", m=16)
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


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_layer_and_group_norm_ignore_the_batch(norm):
    net, params, state, X, _ = small_case(norm, "before", "relu", m=16)
    logits, _, _ = net.forward(params, state, X, training=True)
    one, _, _ = net.forward(params, state, X[3:4], training=True)  # a batch of one trains
    np.testing.assert_allclose(one, logits[3:4], atol=1e-13)
    np.testing.assert_array_equal(net.forward(params, state, X, training=False)[0], logits)


def test_running_stats_update_is_the_lecture_average():
    net, params, state, X, _ = small_case("batch", "before", "relu", m=16)
    _, new_state, _ = net.forward(params, state, X, training=True)
    z1 = X @ params["W1"]
    np.testing.assert_allclose(
        new_state["running_mean1"], 0.9 * state["running_mean1"] + 0.1 * z1.mean(0)
    )
    np.testing.assert_allclose(
        new_state["running_var1"], 0.9 * state["running_var1"] + 0.1 * z1.var(0)
    )


@pytest.mark.parametrize("placement", ["before", "after"])
def test_running_stats_converge_to_population_statistics(placement, digits):
    X = digits[0]
    net = MLP((64, 6, 10), activation="tanh", placement=placement, momentum=0.9)
    params, state = net.init(seed=3)
    if placement == "after":
        params["b1"] = np.linspace(-1, 1, 6)  # so that the units' means differ
    rng = np.random.default_rng(0)
    m = 64
    for _ in range(4):  # fixed weights, 4 epochs of batches: only the averages move
        for X_batch, _ in minibatches(X, X[:, 0], m, seed=rng, drop_last=True):
            _, state, _ = net.forward(params, state, X_batch, training=True)
    u = X @ params["W1"] if placement == "before" else np.tanh(X @ params["W1"] + params["b1"])
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
    net = MLP((400, 300, 10), activation=activation, norm="none")
    params, state = net.init(seed=0, init=init)
    assert abs(params["W1"].var() / expected_var - 1) < 0.02
    assert abs(params["W2"].var() / (2 / 310) - 1) < 0.1  # output layer: always Glorot
    doubled, _ = net.init(seed=0, init=init, init_scale=2.0)
    np.testing.assert_allclose(doubled["W1"], 2 * params["W1"])
    np.testing.assert_array_equal(params["b1"], 0)
    assert state == {}
    other, _ = net.init(seed=1, init=init)
    assert not np.array_equal(other["W1"], params["W1"])


def test_the_same_seed_draws_the_same_weights_under_every_normalizer():
    weights = [MLP((8, 6, 6, 3), norm=norm, groups=3).init(seed=4)[0]["W2"]
               for norm in NORMALIZERS]
    for W in weights[1:]:
        np.testing.assert_array_equal(W, weights[0])


def test_init_bn_parameters_and_dtype():
    params, state = MLP((4, 5, 3), norm="batch").init(seed=0, dtype=np.float32)
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
@pytest.mark.parametrize("norm, placement", BN_CONFIGS + [("layer", "after"), ("group", "before")])
def test_training_reduces_the_loss(norm, placement, optimizer, digits):
    X_train, X_test, y_train, y_test = digits
    X, y = X_train[:300], y_train[:300]
    net = MLP((64, 16, 16, 10), activation="relu", norm=norm, placement=placement, groups=2)
    params, state = net.init(seed=0)
    loss_before = net.loss(params, state, X, y)
    params, state, history = train(net, params, state, X, y, optimizer, epochs=5,
                                   batch_size=32, seed=0, X_val=X_test, y_val=y_test)
    assert history["loss"].shape == history["train_acc"].shape == history["val_acc"].shape == (5,)
    assert history["step_loss"].shape == (5 * 9,)  # 300 // 32 -> 9 full batches per epoch
    assert net.loss(params, state, X, y) < 0.5 * loss_before
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_acc"][-1] > 0.7


def test_seeded_training_is_bit_identical(digits):
    X, y = digits[0][:200], digits[2][:200]
    net = MLP((64, 8, 8, 10), activation="tanh")

    def run(seed):
        params, state = net.init(seed=0)
        return train(net, params, state, X, y, Adam(0.01), epochs=2, batch_size=32, seed=seed)

    (p1, s1, h1), (p2, s2, h2), (p3, _, _) = run(5), run(5), run(6)
    for a, b in ((p1, p2), (s1, s2)):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_array_equal(h1["step_loss"], h2["step_loss"])
    assert not np.array_equal(p1["W1"], p3["W1"])  # another seed, another batch order


def test_train_leaves_its_inputs_unchanged(digits):
    X, y = digits[0][:64], digits[2][:64]
    net = MLP((64, 8, 10))
    params, state = net.init(seed=0)
    copies = {k: v.copy() for k, v in {**params, **state}.items()}
    train(net, params, state, X, y, Momentum(0.1), epochs=1, batch_size=16)
    for k, v in {**params, **state}.items():
        np.testing.assert_array_equal(v, copies[k])


def test_on_step_sees_each_step_before_its_update(digits):
    X, y = digits[0][:70], digits[2][:70]  # batches of 32, 32, 6
    net = MLP((64, 8, 10))
    params, state = net.init(seed=0)
    seen = []

    def on_step(step, params, state, cache, X_batch, y_batch, loss, grads):
        seen.append((step, params, state, len(X_batch), loss, sorted(grads)))
        assert cache["layers"][0]["g_input"].shape == (len(X_batch), 8) and len(y_batch) == len(X_batch)

    final, _, history = train(net, params, state, X, y, GradientDescent(0.1), epochs=2,
                              batch_size=32, seed=0, on_step=on_step, drop_last=False)
    assert [s[0] for s in seen] == list(range(6)) and [s[3] for s in seen] == [32, 32, 6] * 2
    np.testing.assert_array_equal([s[4] for s in seen], history["step_loss"])
    assert seen[0][1] is params and seen[0][2] is state  # step 0 sees the initial arrays
    assert seen[0][5] == sorted(params)
    # Step k sees the params after k updates: what a k-step run returns.
    after_4, _, _ = train(net, params, state, X, y, GradientDescent(0.1), epochs=1,
                          batch_size=32, seed=0, drop_last=False)
    assert not np.array_equal(after_4["W1"], params["W1"])
    np.testing.assert_array_equal(seen[3][1]["W1"], after_4["W1"])
    assert not np.array_equal(final["W1"], seen[-1][1]["W1"])  # the last update comes after


def test_a_batch_of_one_is_skipped(digits):
    X, y = digits[0][:65], digits[2][:65]  # batches of 32, 32 and 1
    for norm in ("batch", "layer"):
        net = MLP((64, 8, 10), norm=norm)
        _, _, history = train(net, *net.init(), X, y, Adam(0.01), epochs=2, batch_size=32,
                              drop_last=False)  # even when the short batch is kept
        assert history["step_loss"].shape == (4,)
    _, _, history = train(net, *net.init(), X, y, Adam(0.01), epochs=2, batch_size=30,
                          drop_last=True)  # 30, 30 (and 5 dropped)
    assert history["step_loss"].shape == (4,)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"layer_sizes": (64,)}, ValueError, "at least 2 entries"),
        ({"layer_sizes": (64, 0, 10)}, ValueError, r"layer_sizes\[1\] must be an int >= 1; got 0"),
        ({"layer_sizes": (64, 3.5, 10)}, TypeError, r"layer_sizes\[1\] must be an int; got 3.5"),
        ({"layer_sizes": (64, 5, 1)}, ValueError, "number of classes"),
        ({"layer_sizes": "64-10"}, TypeError, "tuple of ints"),
        ({"layer_sizes": (4, 3), "activation": "softmax"}, ValueError, "activation.*'softmax'"),
        ({"layer_sizes": (4, 3), "norm": "instance"}, ValueError, "norm must be one of.*'instance'"),
        ({"layer_sizes": (4, 3), "placement": "middle"}, ValueError,
         "placement must be one of.*'middle'"),
        ({"layer_sizes": (4, 6, 2), "norm": "group", "groups": 4}, ValueError,
         r"groups must divide every hidden layer size \(6,\)"),
        ({"layer_sizes": (4, 3), "groups": 0}, ValueError, "groups must be an int >= 1"),
        ({"layer_sizes": (4, 3), "momentum": 1.5}, ValueError, "momentum.*1.5"),
        ({"layer_sizes": (4, 3), "eps": 0}, ValueError, "eps.*got 0"),
    ],
)
def test_bad_architecture_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


def test_bad_inputs_raise_clear_errors():
    net, params, state, X, y = small_case("batch", "before", "relu")
    with pytest.raises(ValueError, match=r"X must have shape \(m, 4\).*\(8, 5\)"):
        net.forward(params, state, np.ones((8, 5)), training=True)
    with pytest.raises(ValueError, match=r"X must have shape.*\(4,\)"):
        net.forward(params, state, np.ones(4), training=False)
    with pytest.raises(ValueError, match=r"y must have shape \(8,\)"):
        net.loss_and_grads(params, state, X, y[:5])
    with pytest.raises(ValueError, match="labels in 0..2"):
        net.loss_and_grads(params, state, X, y + 3)
    with pytest.raises(ValueError, match=r"missing \[\].*unexpected \['b1', 'b2'\]"):
        other, _ = MLP((4, 6, 6, 3), placement="after").init()
        net.forward(other, state, X, training=True)
    with pytest.raises(ValueError, match=r"state does not fit.*norm='layer'.*unexpected"):
        MLP((4, 6, 6, 3), norm="layer").forward(params, state, X, training=True)
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(6, 6\)"):
        net.forward({**params, "W2": np.ones((6, 4))}, state, X, training=True)
    _, _, cache = net.forward(params, state, X, training=False)
    with pytest.raises(ValueError, match="training=True"):
        net.backward(np.ones((8, 3)), cache)
    with pytest.raises(ValueError, match="init must be one of"):
        net.init(init="xavier")
    with pytest.raises(ValueError, match="init_scale"):
        net.init(init_scale=0.0)
    with pytest.raises(ValueError, match="epochs"):
        train(net, params, state, X, y, Adam(), epochs=0)
    with pytest.raises(ValueError, match="X_val and y_val"):
        train(net, params, state, X, y, Adam(), X_val=X)
    with pytest.raises(TypeError, match="on_step must be a function"):
        train(net, params, state, X, y, Adam(), on_step="print")
