"""Notebook 06 (why batch norm works): its key numbers on smaller runs, its explorer, its data shift.

Each experiment of the notebook is repeated here at a smaller size, and its conclusion asserted,
so that a regression in `helpers` (network, batchnorm, optimizers, data) shows up as a failure:
- covariate shift: a brighter camera drops the accuracy; re-estimating BN statistics recovers it;
- internal covariate shift: a deep unit's input drifts less with BN (training-mode percentiles);
- robustness: the range of learning rates that trains is wider with BN;
- the later view: noisy BN still trains; BN makes the gradient more predictive along a step.
The explorer is driven without a browser and checked against a forward pass written out here.
"""

import numpy as np
import pytest

from helpers import data
from helpers.network import MLP, reestimate_bn_stats, smoothness_probe, train, trainable_width
from helpers.optimizers import Adam, GradientDescent
from helpers.widgets import CovariateShiftExplorer

try:  # tiny matrices: several BLAS threads only slow them down (a lot, on a busy machine)
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(d.X, d.y, 0.25, seed=0)
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def digits32(digits):
    X_train, X_test, y_train, y_test = digits
    return (X_train / 16).astype(np.float32), (X_test / 16).astype(np.float32), y_train, y_test


@pytest.fixture(scope="module")
def shift_models(digits):
    X_train, _, y_train, _ = digits
    models = {}
    for label, bn in (("no BN", None), ("BN", "before")):
        net = MLP((64, 32, 32, 10), activation="relu", bn=bn)
        params, state = net.init(seed=0)
        params, state, _ = train(net, params, state, X_train / 16, y_train, Adam(0.01), epochs=4,
                                 batch_size=64, seed=0, drop_last=True)
        models[label] = (net, params, state)
    return models


# ----------------------------------------------------------------------------- data shift
def test_brightness_contrast_is_the_clipped_affine_map():
    X = np.array([[0.0, 4.0, 8.0, 16.0], [1.0, 2.0, 3.0, 15.0]])
    before = X.copy()
    out = data.brightness_contrast(X, brightness=0.25, contrast=1.5)
    expected = np.minimum(16.0, np.maximum(0.0, 1.5 * X + 4.0))
    np.testing.assert_array_equal(out, expected)
    assert out.max() == 16.0 and out[0, 0] == 4.0  # saturates at white; black becomes grey
    np.testing.assert_array_equal(X, before)  # input untouched
    np.testing.assert_array_equal(data.brightness_contrast(X), X)  # defaults: no change
    dark = data.brightness_contrast(X, brightness=-0.5, contrast=1.0, max_value=16)
    assert dark.min() == 0.0


def test_exposure_shift_strength():
    X = np.arange(17, dtype=float).reshape(1, -1)
    np.testing.assert_array_equal(data.exposure_shift(X, 0.0), X)
    np.testing.assert_allclose(data.exposure_shift(X, 1.0), np.clip(2 * X + 6.4, 0, 16))
    np.testing.assert_allclose(data.exposure_shift(X, 0.5), np.clip(1.5 * X + 3.2, 0, 16))
    # more strength, more saturated pixels
    sat = [np.mean(data.exposure_shift(X, s) == 16) for s in (0.0, 0.5, 1.0)]
    assert sat[0] < sat[1] < sat[2]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: data.brightness_contrast([[1.0]], contrast=0.0), ValueError, "contrast"),
        (lambda: data.brightness_contrast([[1.0]], brightness=np.nan), ValueError, "brightness"),
        (lambda: data.brightness_contrast([1.0, 2.0]), ValueError, "2-D"),
        (lambda: data.brightness_contrast([[1.0]], max_value=0), ValueError, "max_value"),
        (lambda: data.brightness_contrast([[1.0]], contrast="2"), TypeError, "contrast"),
        (lambda: data.exposure_shift([[1.0]], 1.5), ValueError, "strength"),
    ],
)
def test_shift_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------------- re-estimating BN
def test_reestimated_stats_are_the_layers_batch_statistics(digits):
    X = digits[0][:300] / 16
    net = MLP((64, 16, 12, 10), activation="relu", bn="before")
    params, state = net.init(seed=3)
    new = reestimate_bn_stats(net, params, state, X)
    z1 = X @ params["W1"]
    np.testing.assert_allclose(new["running_mean1"], z1.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new["running_var1"], z1.var(axis=0), rtol=1e-10)
    a1 = np.maximum(0, (z1 - z1.mean(0)) / np.sqrt(z1.var(0) + net.eps))  # gamma 1, beta 0
    z2 = a1 @ params["W2"]
    np.testing.assert_allclose(new["running_mean2"], z2.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new["running_var2"], z2.var(axis=0), rtol=1e-9)
    assert state["running_mean1"].max() == 0  # the input state is not modified
    with pytest.raises(ValueError, match="batch norm"):
        reestimate_bn_stats(MLP((64, 8, 10), bn=None), *MLP((64, 8, 10), bn=None).init(), X)


def test_reestimation_undoes_an_unclipped_affine_shift(shift_models, digits):
    """Without clipping, brightness/contrast is affine per first-layer unit: fully undone."""
    X_train, X_test, _, _ = digits
    net, params, state = shift_models["BN"]
    clean = reestimate_bn_stats(net, params, state, X_train / 16)
    shifted_images = 0.5 * X_test / 16 + 0.3  # contrast 0.5, brightness 0.3: stays in [0, 1]
    shifted = reestimate_bn_stats(net, params, state, 0.5 * X_train / 16 + 0.3)
    logits_clean = net.forward(params, clean, X_test / 16, training=False)[0]
    logits_shift = net.forward(params, shifted, shifted_images, training=False)[0]
    np.testing.assert_allclose(logits_shift, logits_clean, atol=1e-3)


def test_shift_drops_accuracy_and_reestimation_recovers_most(shift_models, digits):
    X_train, X_test, _, y_test = digits
    net, params, state = shift_models["BN"]
    X_shift = data.exposure_shift(X_test, 1.0) / 16
    clean = net.accuracy(params, state, X_test / 16, y_test)
    shifted = net.accuracy(params, state, X_shift, y_test)
    adapted_state = reestimate_bn_stats(net, params, state,
                                        data.exposure_shift(X_train[:400], 1.0) / 16)
    adapted = net.accuracy(params, adapted_state, X_shift, y_test)
    assert clean > 0.93
    assert clean - shifted > 0.2  # the shifted camera costs a lot
    assert adapted - shifted > 0.5 * (clean - shifted)  # re-estimation gives back most of it
    assert adapted < clean  # but not all: clipped pixels are lost


# ----------------------------------------------------------------------------- internal cov. shift
def test_percentile_drift_is_smaller_with_bn(digits32):
    X_train, _, y_train, _ = digits32
    drift = {}
    for bn in (None, "before"):
        net = MLP((64, 32, 32, 32, 10), activation="sigmoid", bn=bn)
        params, state = net.init(seed=0, dtype=np.float32)
        _, _, h = train(net, params, state, X_train, y_train, GradientDescent(1.0), epochs=6,
                        batch_size=60, seed=0, drop_last=True, record_every=10,
                        X_probe=X_train[:128])
        p = h["percentiles"][3]
        drift[bn] = (np.ptp(p[:, 1]), p[-1, 2] - p[-1, 0])  # median range, final spread
    assert drift[None][0] > 2 * drift["before"][0]
    # relative to the unit's own spread the difference is huge
    assert drift[None][0] / drift[None][1] > 10 * drift["before"][0] / drift["before"][1]


# ----------------------------------------------------------------------------- robustness
def test_trainable_width():
    grid = 10.0 ** np.arange(-3, 1.1, 0.5)
    scores = np.array([0.1, 0.5, 0.9, 0.95, 0.92, 0.1, 0.1, 0.1, 0.1])
    assert trainable_width(grid, scores, 0.9) == pytest.approx(1.0)
    assert trainable_width(grid, scores, 0.93) == 0.0  # a single value: no width
    assert trainable_width(grid, scores, 0.99) == 0.0  # none
    with pytest.raises(ValueError, match="same length"):
        trainable_width(grid, scores[:-1], 0.9)


def test_learning_rate_range_is_wider_with_bn(digits32):
    X_train, X_test, y_train, y_test = digits32
    grid = 10.0 ** np.arange(-2, 1.6, 0.5)
    width = {}
    for bn in (None, "before"):
        accs = []
        for lr in grid:
            net = MLP((64, 32, 32, 32, 10), activation="relu", bn=bn)
            params, state = net.init(seed=0, dtype=np.float32)
            with np.errstate(all="ignore"):
                params, state, _ = train(net, params, state, X_train, y_train,
                                         GradientDescent(lr), epochs=3, batch_size=64, seed=0,
                                         drop_last=True)
                accs.append(net.accuracy(params, state, X_test, y_test))
        width[bn] = trainable_width(grid, accs, 0.8)
        assert min(accs) < 0.2  # each sweep has a failing end: the grid is wide enough
    assert width["before"] >= width[None] + 1.0


# ----------------------------------------------------------------------------- later view
def test_noisy_bn_is_seeded_changes_training_and_is_rejected_without_bn(digits32):
    X_train, _, y_train, _ = digits32
    net = MLP((64, 16, 10), activation="relu", bn="before")
    params, state = net.init(seed=0, dtype=np.float32)
    kw = {"epochs": 1, "batch_size": 64, "seed": 0, "drop_last": True}
    plain = train(net, params, state, X_train, y_train, GradientDescent(0.1), **kw)[0]
    zero = train(net, params, state, X_train, y_train, GradientDescent(0.1), bn_noise=0.0, **kw)[0]
    noisy1 = train(net, params, state, X_train, y_train, GradientDescent(0.1), bn_noise=0.5, **kw)[0]
    noisy2 = train(net, params, state, X_train, y_train, GradientDescent(0.1), bn_noise=0.5, **kw)[0]
    for k in plain:
        np.testing.assert_array_equal(plain[k], zero[k])
        np.testing.assert_array_equal(noisy1[k], noisy2[k])
    assert not np.allclose(plain["W1"], noisy1["W1"])
    with pytest.raises(ValueError, match="batch norm"):
        no_bn = MLP((64, 16, 10), bn=None)
        train(no_bn, *no_bn.init(), X_train, y_train, GradientDescent(0.1), bn_noise=0.5)
    with pytest.raises(ValueError, match="bn_noise"):
        train(net, params, state, X_train, y_train, GradientDescent(0.1), bn_noise=-1.0)


def test_noisy_bn_gradient_matches_finite_differences(digits):
    """One noisy step's gradient: recorded by running train for one step with a tiny lr."""
    X, y = digits[0][:32] / 16, digits[2][:32]
    net = MLP((64, 6, 5, 10), activation="tanh", bn="before")
    params, state = net.init(seed=1)
    lr = 1e-3
    new, _, _ = train(net, params, state, X, y, GradientDescent(lr), epochs=1, batch_size=32,
                      seed=0, bn_noise=0.7)
    grads = {k: (params[k] - new[k]) / lr for k in params}
    # Recreate the same noise: train draws it from default_rng([seed, 1]), layer by layer.
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


def test_noisy_bn_still_trains(digits32):
    X_train, X_test, y_train, y_test = digits32
    acc = {}
    for bn, noise in ((None, 0.0), ("before", 0.0), ("before", 0.5)):
        net = MLP((64, 32, 32, 10), activation="relu", bn=bn)
        params, state = net.init(seed=0, dtype=np.float32)
        params, state, _ = train(net, params, state, X_train, y_train, GradientDescent(0.1),
                                 epochs=4, batch_size=64, seed=0, drop_last=True, bn_noise=noise)
        if bn:
            state = reestimate_bn_stats(net, params, state, X_train)
        acc[(bn, noise)] = net.accuracy(params, state, X_test, y_test)
    assert acc[("before", 0.5)] > acc[(None, 0.0)]
    assert acc[("before", 0.5)] > acc[("before", 0.0)] - 0.06


def test_smoothness_probe_numbers_and_bn_is_smoother(digits32):
    X_train, _, y_train, _ = digits32
    Xp, yp = X_train[:128], y_train[:128]
    result = {}
    for bn in (None, "before"):
        net = MLP((64, 32, 32, 32, 10), activation="relu", bn=bn)
        params, state = net.init(seed=0, dtype=np.float32)
        params, state, _ = train(net, params, state, X_train, y_train, GradientDescent(0.1),
                                 epochs=1, batch_size=64, seed=0, drop_last=True)
        etas = [0.2, 0.8]
        r = smoothness_probe(net, params, state, Xp, yp, etas)
        # independent check of the probe's definition
        loss0, g0, _ = net.loss_and_grads(params, state, Xp, yp)
        norm0 = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in g0.values()))
        assert r["loss0"] == pytest.approx(loss0) and r["grad_norm"] == pytest.approx(norm0)
        ratios = []
        for eta, loss, change in zip(etas, r["loss"], r["grad_change"]):
            moved = {k: params[k] - eta * g0[k] for k in params}
            l1, g1, _ = net.loss_and_grads(moved, state, Xp, yp)
            diff = np.sqrt(sum(np.sum((g1[k] - g0[k]).astype(np.float64) ** 2) for k in g0))
            assert loss == pytest.approx(l1) and change == pytest.approx(diff, rel=1e-5)
            ratios.append(diff / (eta * norm0))
        assert r["smoothness"] == pytest.approx(max(ratios), rel=1e-5)
        result[bn] = r
    assert result["before"]["smoothness"] < result[None]["smoothness"] / 1.5
    assert result["before"]["loss"][-1] < result["before"]["loss0"]  # BN: the long step still helps
    with pytest.raises(ValueError, match="step_sizes"):
        smoothness_probe(net, params, state, Xp, yp, [0.0])


# ----------------------------------------------------------------------------- explorer
def manual_accuracy(net, params, X_adapt, X_test, y_test):
    """BN-before ReLU network whose statistics come from X_adapt, written out in NumPy."""
    a, a_test = X_adapt, X_test
    for l in net.hidden:
        z, z_test = a @ params[f"W{l}"], a_test @ params[f"W{l}"]
        mu, var = z.mean(axis=0), z.var(axis=0)
        scale = params[f"gamma{l}"] / np.sqrt(var + net.eps)
        a = np.maximum(0, (z - mu) * scale + params[f"beta{l}"])
        a_test = np.maximum(0, (z_test - mu) * scale + params[f"beta{l}"])
    logits = a_test @ params[f"W{net.L}"] + params[f"b{net.L}"]
    return np.mean(logits.argmax(axis=1) == y_test)


def test_explorer_numbers_follow_the_slider(shift_models, digits):
    X_train, X_test, _, y_test = digits
    X_adapt = X_train[:300]
    explorer = CovariateShiftExplorer(shift_models, X_adapt, X_test, y_test, scale=1 / 16)
    assert explorer.labels == ["no BN", "BN", "BN, stats re-estimated"]
    first_png, first_readout = explorer.image.value, explorer.readout.value
    for s in (0.7, 0.3, 1.0):
        explorer.sliders["strength"].value = s
        r = explorer.result
        X_shift = np.clip((1 + s) * X_test + 0.4 * s * 16, 0, 16) / 16
        for label in ("no BN", "BN"):
            net, params, state = shift_models[label]
            assert r["accuracy"][label] == pytest.approx(
                net.accuracy(params, state, X_shift, y_test))
        net, params, _ = shift_models["BN"]
        adapt_shift = np.clip((1 + s) * X_adapt + 0.4 * s * 16, 0, 16) / 16
        expected = manual_accuracy(net, params, adapt_shift, X_shift, y_test)
        assert r["accuracy"]["BN, stats re-estimated"] == pytest.approx(expected, abs=1e-9)
        assert r["saturated"] == pytest.approx(np.mean(X_shift >= 1.0))
        np.testing.assert_allclose(r["images"], X_shift[:3].reshape(3, 8, 8))
        assert f"{expected:.1%}" in explorer.readout.value
        # the curves hold the same numbers at the grid point
        i = int(np.argmin(np.abs(explorer.grid - s)))
        assert explorer.curves["BN"][i] == pytest.approx(r["accuracy"]["BN"])
    assert explorer.image.value != first_png and explorer.readout.value != first_readout
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(explorer.redraw_ms) == 4
    # at full strength re-estimation beats both unadapted networks
    acc = explorer.result["accuracy"]
    assert acc["BN, stats re-estimated"] > max(acc["no BN"], acc["BN"]) + 0.2
    with pytest.raises(ValueError, match="strength"):
        explorer.compute({"strength": 1.5})


# ----------------------------------------------------------------------------- the exercise checker
def _width(grid, accuracies, target):  # written here from the exercise text, as a student would
    good = grid[accuracies >= target]
    return float(np.log10(good.max()) - np.log10(good.min())) if len(good) else 0.0


def _natural_log(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log(good.max()) - np.log(good.min())) if len(good) else 0.0


def _strict(grid, accuracies, target):
    good = grid[accuracies > target]
    return float(np.log10(good.max()) - np.log10(good.min())) if len(good) else 0.0


def _count(grid, accuracies, target):
    return float(np.sum(accuracies >= target))


def _first_last(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log10(good[-1]) - np.log10(good[0])) if len(good) else 0.0


def _no_empty_case(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log10(good.max()) - np.log10(good.min()))


@pytest.mark.parametrize(
    "fn, words",
    [
        (_natural_log, "np.log10"),
        (_strict, ">= target"),
        (_count, "number of grid values"),
        (_first_last, "max and min"),
        (_no_empty_case, "ValueError"),
        (lambda grid, accuracies, target: None, "expected one number"),
        (lambda grid, accuracies, target: float("nan"), "0.0"),
        (lambda grid, accuracies, target: 1 / 0, "ZeroDivisionError"),
        (trainable_width, "reference implementation"),  # importing the answer does not pass
    ],
)
def test_range_width_checker_catches_mistakes(fn, words, capsys):
    from helpers.checks import check_range_width

    assert check_range_width(fn) is False
    assert words in capsys.readouterr().out


def test_range_width_checker_passes_a_correct_function(capsys):
    from helpers.checks import check_range_width

    assert check_range_width(_width) is True
    assert "All 7 checks passed." in capsys.readouterr().out
