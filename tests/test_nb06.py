"""Notebook 06 (why batch norm works): its key numbers on smaller runs and its data shift.

Each experiment of the notebook is repeated here at a smaller size, and its conclusion asserted,
so that a regression in `helpers` (network, batchnorm, optimizers, data) shows up as a failure:
- covariate shift: an over-exposed camera drops the accuracy; re-estimating BN statistics
  recovers most of it;
- internal covariate shift: a deep unit's input drifts less with BN (training-mode percentiles);
- robustness: the range of learning rates that trains is wider with BN;
- the later view: noisy BN still trains; BN makes the gradient more predictive along a step.
(The covariate-shift experiment and its explorer: test_experiments.py, test_explorers.py.)
The notebook file: its question and exercises are marked for nbgrader and come before their
answers, and its experiments call the helper's re-estimation, never the student's.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from assignment_support import assert_graded_pair
from assignment_support import graded as graded_cells

from helpers import data
from helpers.checks.predictions import PREDICTIONS
from helpers.network import MLP, train
from helpers.optimizers import GradientDescent
from helpers.probes import (
    reestimate_bn_stats,
    smoothness_probe,
    train_recording_percentiles,
    train_with_bn_noise,
    trainable_width,
)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06_why_batchnorm_works.ipynb"

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


# `digits` (the raw 75/25 split) and `shift_models` are shared fixtures (tests/conftest.py).


@pytest.fixture(scope="module")
def digits32(digits):
    X_train, X_test, y_train, y_test = digits
    return (X_train / 16).astype(np.float32), (X_test / 16).astype(np.float32), y_train, y_test


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


def test_exposure_shift_over_exposes_brighter_with_less_contrast():
    # The darkest grey rises to 0.4 s of white while white stays white: the range shrinks.
    X = np.array([[0.0, 4.0, 8.0, 16.0]])
    for s in (0.25, 0.5, 1.0):
        out = data.exposure_shift(X, s)
        assert out.min() == pytest.approx(0.4 * s * 16) and out.max() == 16
        assert np.ptp(out) < np.ptp(X) and out.mean() > X.mean()
    np.testing.assert_allclose(data.exposure_shift(X, 1.0), [[6.4, 14.4, 16.0, 16.0]])


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


def test_covariate_shift_can_reestimate_the_input_statistics(shift_models, digits):
    """The no-BN counterpart of AdaBN: the channel mean and std recomputed on shifted images."""
    from helpers import experiments

    X_train, X_test, _, y_test = digits
    X_adapt = X_train[:300]
    mean, std = X_adapt.mean(), X_adapt.std()
    r = experiments.covariate_shift(shift_models, X_adapt, X_test, y_test, strengths=(0.0, 1.0),
                                    scale=1 / std, offset=mean, reestimate_inputs=True)
    assert list(r.accuracy) == ["no BN", "no BN, input stats re-estimated", "BN",
                                "BN, stats re-estimated"]
    reest = r.accuracy["no BN, input stats re-estimated"]
    # no shift and the adaptation images' own statistics: nothing to change
    assert reest[0] == pytest.approx(r.accuracy["no BN"][0])
    # full shift: the new camera's statistics, computed here by hand
    net, params, state = shift_models["no BN"]
    camera = np.clip(2.0 * X_adapt + 6.4, 0, 16)
    test = (np.clip(2.0 * X_test + 6.4, 0, 16) - camera.mean()) / camera.std()
    assert reest[1] == pytest.approx(net.accuracy(params, state, test, y_test))
    without = experiments.covariate_shift(shift_models, X_adapt, X_test, y_test, strengths=(1.0,))
    assert "no BN, input stats re-estimated" not in without.accuracy
    with pytest.raises(TypeError, match="reestimate_inputs"):
        experiments.covariate_shift(shift_models, X_adapt, X_test, y_test, reestimate_inputs=1)


# ----------------------------------------------------------------------------- internal cov. shift
def test_percentile_drift_is_smaller_with_bn(digits32):
    X_train, _, y_train, _ = digits32
    drift = {}
    for norm in ("none", "batch"):
        net = MLP((64, 32, 32, 32, 10), activation="sigmoid", norm=norm)
        params, state = net.init(seed=0, dtype=np.float32)
        _, _, h = train_recording_percentiles(net, params, state, X_train, y_train,
                                              GradientDescent(1.0), every=10,
                                              X_probe=X_train[:128], epochs=6, batch_size=60,
                                              seed=0, drop_last=True)
        p = h["percentiles"][3]
        drift[norm] = (np.ptp(p[:, 1]), p[-1, 2] - p[-1, 0])  # median range, final spread
    assert drift["none"][0] > 2 * drift["batch"][0]
    # relative to the unit's own spread the difference is huge
    assert drift["none"][0] / drift["none"][1] > 10 * drift["batch"][0] / drift["batch"][1]


# ----------------------------------------------------------------------------- robustness
def test_learning_rate_range_is_wider_with_bn(digits32):
    X_train, X_test, y_train, y_test = digits32
    grid = 10.0 ** np.arange(-2, 1.6, 0.5)
    width = {}
    for norm in ("none", "batch"):
        accs = []
        for lr in grid:
            net = MLP((64, 32, 32, 32, 10), activation="relu", norm=norm)
            params, state = net.init(seed=0, dtype=np.float32)
            with np.errstate(all="ignore"):
                params, state, _ = train(net, params, state, X_train, y_train,
                                         GradientDescent(lr), epochs=3, batch_size=64, seed=0,
                                         drop_last=True)
                accs.append(net.accuracy(params, state, X_test, y_test))
        width[norm] = trainable_width(grid, accs, 0.8)
        assert min(accs) < 0.2  # each sweep has a failing end: the grid is wide enough
    assert width["batch"] >= width["none"] + 1.0


# ----------------------------------------------------------------------------- later view
def test_noisy_bn_still_trains(digits32):
    X_train, X_test, y_train, y_test = digits32
    acc = {}
    for norm, noise in (("none", 0.0), ("batch", 0.0), ("batch", 0.5)):
        net = MLP((64, 32, 32, 10), activation="relu", norm=norm)
        params, state = net.init(seed=0, dtype=np.float32)
        params, state, _ = train_with_bn_noise(net, params, state, X_train, y_train,
                                               GradientDescent(0.1), strength=noise, epochs=4,
                                               batch_size=64, seed=0, drop_last=True)
        if norm == "batch":
            state = reestimate_bn_stats(net, params, state, X_train)
        acc[(norm, noise)] = net.accuracy(params, state, X_test, y_test)
    assert acc[("batch", 0.5)] > acc[("none", 0.0)]
    assert acc[("batch", 0.5)] > acc[("batch", 0.0)] - 0.06


def test_bn_is_smoother_along_a_gradient_step(digits32):
    X_train, _, y_train, _ = digits32
    Xp, yp = X_train[:128], y_train[:128]
    result = {}
    for norm in ("none", "batch"):
        net = MLP((64, 32, 32, 32, 10), activation="relu", norm=norm)
        params, state = net.init(seed=0, dtype=np.float32)
        params, state, _ = train(net, params, state, X_train, y_train, GradientDescent(0.1),
                                 epochs=1, batch_size=64, seed=0, drop_last=True)
        result[norm] = smoothness_probe(net, params, state, Xp, yp, [0.2, 0.8])
    assert result["batch"]["smoothness"] < result["none"]["smoothness"] / 1.5
    assert result["batch"]["loss"][-1] < result["batch"]["loss0"]  # BN: the long step still helps


# ----------------------------------------------------------------------------- the question
def test_the_shifted_accuracy_without_reestimation_is_much_lower(shift_models, digits):
    # The question's accepted answer, "much lower", means more than 10 points below clean.
    X_train, X_test, _, y_test = digits
    assert PREDICTIONS["shifted_accuracy_without_reestimation"]["choices"]["much lower"] is None
    net, params, state = shift_models["BN"]
    clean = net.accuracy(params, state, X_test / 16, y_test)
    shifted = net.accuracy(params, state, data.exposure_shift(X_test, 1.0) / 16, y_test)
    assert clean - shifted > 0.10


# ----------------------------------------------------------------------------- the notebook file
def _cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]



EXERCISES = {  # grade_id -> (points of its graded cell, the graded cell's assertion)
    "predict_shifted_accuracy_without_reestimation":
        (1, 'assert check_prediction("shifted_accuracy_without_reestimation", shifted_prediction)'),
    "reestimate_bn_stats": (2, "assert check_reestimate_bn_stats(reestimate_bn_stats)"),
    "interpret_sweep": (1, "assert check_range_width(range_width)"),
}


@pytest.mark.parametrize("grade_id", list(EXERCISES))
def test_exercises_and_questions_are_marked_for_nbgrader(grade_id):
    points, assertion = EXERCISES[grade_id]
    assert_graded_pair(_cells(), grade_id, points, assertion)


def test_the_question_comes_before_the_shifted_accuracies_and_the_exercise_before_its_recipe():
    cells = _cells()
    graded = graded_cells(cells)
    text = ["".join(c["source"]) for c in cells]
    reveal = next(i for i, t in enumerate(text) if 'shifted {spread_of(acc[:, at_full]' in t)
    assert graded["predict_shifted_accuracy_without_reestimation_test"][0] < reveal
    recipe = next(i for i, t in enumerate(text) if t.startswith("**How it is done.**"))
    assert recipe > graded["reestimate_bn_stats_test"][0]
    prompt = text[graded["reestimate_bn_stats"][0] - 1]    # the exercise's instructions
    assert all(api in prompt for api in ("net.forward", "cache", "running_var{l}", "net.hidden"))


def test_the_experiments_use_the_helpers_reestimation_not_the_students():
    # The exercise defines reestimate_bn_stats in the notebook's namespace; a broken or
    # unfinished answer must not change the numbers of the experiments (section 6 re-estimates
    # the noisy networks' statistics), so only the exercise's cells call the bare name.
    cells = _cells()
    graded = graded_cells(cells)
    bare = re.compile(r"(?<![\w.])reestimate_bn_stats\(")
    calling = {i for i, c in enumerate(cells) if c["cell_type"] == "code"
               and bare.search("".join(c["source"]))}
    solution = graded["reestimate_bn_stats"][0]
    assert solution in calling
    assert all(i >= solution for i in calling)
    assert len(calling) == 2  # the def and the one cell that compares it with the helper's
    assert any("probes.reestimate_bn_stats(net, params, state, X_tr32)" in "".join(c["source"])
               for c in cells)
