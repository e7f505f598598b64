"""helpers.probes: each measurement against its definition, written out here; seeds; errors.

Notebook 06's conclusions drawn from these measurements (BN drifts less, trains over a wider
range, is smoother) are asserted in tests/test_nb06.py.
"""

import numpy as np
import pytest

from helpers import data
from helpers.network import MLP, train
from helpers.optimizers import Adam, GradientDescent
from helpers.probes import (
    PERCENTILES,
    reestimate_bn_stats,
    smoothness_probe,
    train_recording_percentiles,
    train_with_bn_noise,
    trainable_width,
    unit_percentiles,
)


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(d.X, d.y, 0.25, seed=0)
    return X_train / 16, X_test / 16, y_train, y_test


# ----------------------------------------------------------------------------- percentiles
def test_unit_percentiles_of_the_input_of_g(digits):
    X = digits[0][:50]
    net = MLP((64, 8, 6, 10), activation="tanh", norm="none")
    params, state = net.init(seed=2)
    _, _, cache = net.forward(params, state, X, training=True)
    p = unit_percentiles(net, cache, unit=3)
    z1 = X @ params["W1"] + params["b1"]
    np.testing.assert_allclose(p[1], np.percentile(z1[:, 3], PERCENTILES))
    assert set(p) == {1, 2} and p[2].shape == (3,)


def test_recorded_percentiles_of_a_units_input(digits):
    X, y = digits[0][:256], digits[2][:256]
    X_probe = digits[1][:100]
    net = MLP((64, 8, 8, 10), activation="sigmoid")
    params, state = net.init(seed=0)
    kw = {"epochs": 2, "batch_size": 32, "seed": 0}
    p_rec, s_rec, history = train_recording_percentiles(
        net, params, state, X, y, Adam(0.01), every=5, unit=2, X_probe=X_probe, **kw)
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
    # Watching does not change the training: the same params as train's, bit for bit.
    p_plain, s_plain, h_plain = train(net, params, state, X, y, Adam(0.01), **kw)
    for k in p_plain:
        np.testing.assert_array_equal(p_rec[k], p_plain[k])
    np.testing.assert_array_equal(history["step_loss"], h_plain["step_loss"])


def test_percentiles_on_the_mini_batch_without_a_probe(digits):
    X, y = digits[0][:64], digits[2][:64]
    net = MLP((64, 8, 10), activation="relu", norm="none")
    params, state = net.init(seed=0)
    _, _, h = train_recording_percentiles(net, params, state, X, y, GradientDescent(0.1),
                                          every=1, epochs=1, batch_size=32, seed=0)
    first = X[np.random.default_rng(0).permutation(64)[:32]]  # train's first mini-batch
    z = first @ params["W1"][:, 0] + params["b1"][0]
    np.testing.assert_allclose(h["percentiles"][1][0], np.percentile(z, PERCENTILES))
    assert h["percentiles"][1].shape == (2, 3)


def test_recording_errors(digits):
    X, y = digits[0][:64], digits[2][:64]
    net = MLP((64, 5, 8, 10))
    with pytest.raises(ValueError, match=r"unit must be an int in \[0, 4\]; got 7"):
        train_recording_percentiles(net, *net.init(), X, y, Adam(), unit=7)
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        train_recording_percentiles(net, *net.init(), X, y, Adam(), every=0)
    no_hidden = MLP((64, 10))
    with pytest.raises(ValueError, match="at least one hidden layer"):
        train_recording_percentiles(no_hidden, *no_hidden.init(), X, y, Adam())


# ----------------------------------------------------------------------------- noisy BN
def test_noisy_bn_is_seeded_changes_training_and_is_rejected_without_bn(digits):
    X_train, y_train = digits[0].astype(np.float32), digits[2]
    net = MLP((64, 16, 10), activation="relu")
    params, state = net.init(seed=0, dtype=np.float32)
    kw = {"epochs": 1, "batch_size": 64, "seed": 0, "drop_last": True}
    gd = GradientDescent(0.1)
    plain = train(net, params, state, X_train, y_train, gd, **kw)[0]
    zero = train_with_bn_noise(net, params, state, X_train, y_train, gd, strength=0.0, **kw)[0]
    noisy1 = train_with_bn_noise(net, params, state, X_train, y_train, gd, strength=0.5, **kw)[0]
    noisy2 = train_with_bn_noise(net, params, state, X_train, y_train, gd, strength=0.5, **kw)[0]
    for k in plain:
        np.testing.assert_array_equal(plain[k], zero[k])
        np.testing.assert_array_equal(noisy1[k], noisy2[k])
        assert noisy1[k].dtype == np.float32
    assert not np.allclose(plain["W1"], noisy1["W1"])
    no_bn = MLP((64, 16, 10), norm="layer")
    with pytest.raises(ValueError, match="batch norm"):
        train_with_bn_noise(no_bn, *no_bn.init(), X_train, y_train, gd, strength=0.5)
    with pytest.raises(ValueError, match="strength"):
        train_with_bn_noise(net, params, state, X_train, y_train, gd, strength=-1.0)


def test_noisy_records_show_the_noise_the_training_step_applied(digits):
    # The probe goes through the network with the scale and shift of that very step: the first
    # draws of np.random.default_rng([seed, 1]), layer 1 first (scale, then shift).
    X, y, probe = digits[0][:128], digits[2][:128], digits[1][:40]
    net = MLP((64, 7, 5, 10), activation="relu")
    params, state = net.init(seed=4)
    strength, seed = 0.6, 2
    _, _, h = train_recording_percentiles(net, params, state, X, y, GradientDescent(0.1),
                                          bn_noise=strength, every=1, unit=1, X_probe=probe,
                                          epochs=1, batch_size=64, seed=seed)
    rng = np.random.default_rng([seed, 1])
    scale = np.exp(strength / 2 * rng.standard_normal(7))
    shift = strength * rng.standard_normal(7)
    z = probe @ params["W1"]
    z_tilde = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + net.eps)  # gamma 1, beta 0
    noisy = scale * z_tilde + shift
    np.testing.assert_allclose(h["percentiles"][1][0], np.percentile(noisy[:, 1], PERCENTILES),
                               atol=1e-12)
    clean = np.percentile(z_tilde[:, 1], PERCENTILES)
    assert not np.allclose(h["percentiles"][1][0], clean)  # the noise is really in the record


def test_noisy_bn_gradient_matches_finite_differences(digits):
    """One noisy step's gradient: recorded by running train for one step with a tiny lr."""
    X, y = digits[0][:32], digits[2][:32]
    net = MLP((64, 6, 5, 10), activation="tanh")
    params, state = net.init(seed=1)
    lr = 1e-3
    new, _, _ = train_with_bn_noise(net, params, state, X, y, GradientDescent(lr), strength=0.7,
                                    epochs=1, batch_size=32, seed=0)
    grads = {k: (params[k] - new[k]) / lr for k in params}
    # Recreate the same noise: it is drawn from default_rng([seed, 1]), layer by layer.
    rng = np.random.default_rng([0, 1])
    noise = {l: (np.exp(0.35 * rng.standard_normal(n)), 0.7 * rng.standard_normal(n))
             for l, n in ((1, 6), (2, 5))}
    order = np.random.default_rng(0).permutation(32)  # the batch order train uses (one batch)
    Xb, yb = X[order], y[order]

    def noisy_loss(p):
        q = dict(p)
        for l, (scale, shift) in noise.items():
            q[f"gamma{l}"] = scale * p[f"gamma{l}"]
            q[f"beta{l}"] = scale * p[f"beta{l}"] + shift
        return net.loss(q, state, Xb, yb, training=True)

    h = 1e-6
    for name in ("gamma1", "beta2", "W2"):
        idx = (0,) * params[name].ndim
        plus, minus = dict(params), dict(params)
        plus[name], minus[name] = params[name].copy(), params[name].copy()
        plus[name][idx] += h
        minus[name][idx] -= h
        numeric = (noisy_loss(plus) - noisy_loss(minus)) / (2 * h)
        assert grads[name][idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8), name


# ----------------------------------------------------------------------------- AdaBN
@pytest.mark.parametrize("placement", ["before", "after"])
def test_reestimated_stats_are_the_layers_batch_statistics(placement, digits):
    X = digits[0][:300]
    net = MLP((64, 16, 12, 10), activation="relu", placement=placement)
    params, state = net.init(seed=3)
    new = reestimate_bn_stats(net, params, state, X)
    u1 = X @ params["W1"] if placement == "before" else np.maximum(0, X @ params["W1"])
    np.testing.assert_allclose(new["running_mean1"], u1.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new["running_var1"], u1.var(axis=0), rtol=1e-10)
    if placement == "before":
        a1 = np.maximum(0, (u1 - u1.mean(0)) / np.sqrt(u1.var(0) + net.eps))  # gamma 1, beta 0
        z2 = a1 @ params["W2"]
        np.testing.assert_allclose(new["running_mean2"], z2.mean(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(new["running_var2"], z2.var(axis=0), rtol=1e-9)
    assert state["running_mean1"].max() == 0  # the input state is not modified
    for norm in ("none", "layer"):
        other = MLP((64, 8, 10), norm=norm)
        with pytest.raises(ValueError, match="batch norm"):
            reestimate_bn_stats(other, *other.init(), X)


# ----------------------------------------------------------------------------- smoothness
def test_smoothness_probe_follows_its_definition(digits):
    Xp, yp = digits[0][:64], digits[2][:64]
    net = MLP((64, 12, 12, 10), activation="relu")
    params, state = net.init(seed=0)
    etas = [0.2, 0.8]
    before = {k: v.copy() for k, v in params.items()}
    r = smoothness_probe(net, params, state, Xp, yp, etas)
    for k in params:  # the probe moves copies, never params itself
        np.testing.assert_array_equal(params[k], before[k])
    loss0, g0, _ = net.loss_and_grads(params, state, Xp, yp)
    norm0 = np.sqrt(sum(np.sum(g ** 2) for g in g0.values()))
    assert r["loss0"] == pytest.approx(loss0) and r["grad_norm"] == pytest.approx(norm0)
    ratios, losses = [], [loss0]
    for eta, loss, change in zip(etas, r["loss"], r["grad_change"]):
        moved = {k: params[k] - eta * g0[k] for k in params}
        l1, g1, _ = net.loss_and_grads(moved, state, Xp, yp)
        diff = np.sqrt(sum(np.sum((g1[k] - g0[k]) ** 2) for k in g0))
        assert loss == pytest.approx(l1) and change == pytest.approx(diff)
        ratios.append(diff / (eta * norm0))
        losses.append(l1)
    assert r["smoothness"] == pytest.approx(max(ratios))
    assert r["loss_range"] == pytest.approx(max(losses) - min(losses))
    with pytest.raises(ValueError, match="step_sizes"):
        smoothness_probe(net, params, state, Xp, yp, [0.0])


# ----------------------------------------------------------------------------- robustness
def test_trainable_width():
    grid = 10.0 ** np.arange(-3, 1.1, 0.5)
    scores = np.array([0.1, 0.5, 0.9, 0.95, 0.92, 0.1, 0.1, 0.1, 0.1])
    assert trainable_width(grid, scores, 0.9) == pytest.approx(1.0)
    assert trainable_width(grid, scores, 0.93) == 0.0  # a single value: no width
    assert trainable_width(grid, scores, 0.99) == 0.0  # none
    with pytest.raises(ValueError, match="same length"):
        trainable_width(grid, scores[:-1], 0.9)
