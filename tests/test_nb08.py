"""Notebook 08 (beyond batch norm): the figure, the key numbers and the exercise cells.

The notebook's claims are asserted here on smaller runs (3 seeds): BN degrades at tiny batches
while LN and GN do not; at m = 2 BN fails in training mode and neither running-variance
convention nor exact statistics rescue it; batch variances are (m - 1) / m of the population's;
a batch of one fails for BN in a dense layer only, and in a conv layer BN on one image is
instance norm; the answer of the notebook's question (why inference mode beats training mode at
m = 2) holds on every seed. The notebook file: its exercises and question are marked for nbgrader
and come before their answers. (One example's output among its companions: test_experiments.py,
test_explorers.py.)
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from assignment_support import assert_graded_pair
from assignment_support import graded as graded_cells

from helpers import data, experiments, normalization, plots, small_batches
from helpers.batchnorm import batchnorm_forward
from helpers.checks.predictions import PREDICTIONS
from helpers.explorers import NormalizationCompanionsExplorer
from helpers.network import MLP

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08_beyond_batchnorm.ipynb"


# ----------------------------------------------------------------------------- the figure
@pytest.mark.parametrize("method, expected", [("batch", 4), ("layer", 6), ("group", 2)])
def test_normalization_cube_shades_what_one_statistic_covers(method, expected):
    fig, ax = plt.subplots()
    try:
        assert plots.normalization_cube(ax, method, channels=6, examples=4, groups=3) == expected
        assert ax.get_title()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kwargs, words", [({"method": "instance"}, "method must be"),
                                           ({"method": "group", "groups": 4}, "groups must divide"),
                                           ({"method": "layer", "channels": 0}, "channels")])
def test_normalization_cube_rejects_bad_settings(kwargs, words):
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match=words):
            plots.normalization_cube(ax, **kwargs)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- key numbers
@pytest.fixture(scope="module")
def digits_split():
    digits = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(digits.X, digits.y,
                                                             test_fraction=0.25, seed=0)
    X_train, X_test, _, _ = data.normalize_inputs(X_train, X_test)
    return X_train[:500], X_test, y_train[:500], y_test


@pytest.fixture(scope="module")
def sweep(digits_split):
    """The notebook's experiment, smaller: 500 training examples, batch sizes 2 and 32, 3 seeds."""
    X_train, X_test, y_train, y_test = digits_split
    return small_batches.batch_size_sweep(X_train, y_train, X_test, y_test, batch_sizes=(2, 32),
                                          seeds=(0, 1, 2))


def test_bn_degrades_at_tiny_batches(sweep):
    bn = sweep.test_acc["batch"]                     # (batch sizes, seeds)
    assert bn[1].min() > 0.8
    assert bn[0].max() < bn[1].min() - 0.15


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_ln_and_gn_do_not_degrade_at_tiny_batches(sweep, norm):
    acc = sweep.test_acc[norm]
    assert acc[0].min() > sweep.test_acc["batch"][0].max() + 0.15
    assert acc[0].mean() > acc[1].mean() - 0.05
    assert acc[0].min() > 0.8


def test_at_m_2_bn_fails_in_training_mode_and_no_inference_statistics_rescue_it(sweep):
    bn = sweep.bn
    assert bn["train_mode_acc"][0].max() < 0.6            # the degenerate +-1 function
    assert bn["train_mode_acc"][1].min() > 0.85
    for key in ("biased", "unbiased", "exact"):           # conventions of the running variance
        assert bn[key][0].max() < sweep.test_acc["layer"][0].min() - 0.15
    assert bn["changed"][0].min() > 0.3 > bn["changed"][1].max()


@pytest.mark.parametrize("m", [2, 4, 16])
def test_batch_variances_are_m_minus_1_over_m_of_the_population(m, digits_split):
    z = digits_split[0] @ np.random.default_rng(1).normal(size=(64, 8))
    batches = z[np.random.default_rng(2).permutation(len(z))[: len(z) - len(z) % m]]
    ratio = np.mean(batches.reshape(-1, m, 8).var(axis=1) / z.var(axis=0))
    assert ratio == pytest.approx((m - 1) / m, abs=0.05)


def test_a_batch_of_one_trains_under_ln_and_gn_but_not_bn(digits_split):
    X = digits_split[0][:1]
    for norm in ("layer", "group"):
        net = MLP((64, 32, 32, 10), norm=norm, groups=4)
        logits, _, _ = net.forward(*net.init(), X, training=True)
        assert logits.shape == (1, 10)
    net = MLP((64, 32, 32, 10), norm="batch")
    with pytest.raises(ValueError, match="batch of at least 2"):
        net.forward(*net.init(), X, training=True)
    with pytest.raises(ValueError, match="batch of at least 2"):
        batchnorm_forward(np.ones((1, 4)), np.ones(4), np.zeros(4))


def test_in_a_conv_layer_bn_on_one_image_is_instance_norm():
    z = np.random.default_rng(0).normal(2.0, 3.0, size=(1, 4, 4, 6))
    bn, cache = batchnorm_forward(z, np.ones(6), np.zeros(6), axes=(0, 1, 2))
    assert cache["m"] == 16
    # instance norm by hand: each channel of the one image over its 16 positions
    mu, var = z.mean(axis=(1, 2), keepdims=True), z.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(bn, (z - mu) / np.sqrt(var + 1e-5), atol=1e-12)
    instance, _ = normalization.groupnorm_forward(z, np.ones(6), np.zeros(6), groups=6)
    np.testing.assert_allclose(bn, instance, atol=1e-12)


def test_the_explorer_numbers_units_with_whole_numbers():
    z = np.random.default_rng(0).normal(size=(60, 8))
    companions = experiments.normalization_companions(z, batch_sizes=(2, 4), draws=5)
    explorer = NormalizationCompanionsExplorer(companions)
    explorer.figure.canvas.draw()
    for ax in explorer.figure.axes:
        ticks = ax.get_xticks()
        assert np.all(ticks == np.round(ticks)), ticks


# ----------------------------------------------------------------------------- the notebook file
@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]



@pytest.mark.parametrize("grade_id, points, assertion", [
    ("layer_norm", 2, "assert check_layer_norm(layer_norm)"),
    ("layer_norm_backward", 2, "assert check_layer_norm_backward(layer_norm_backward)"),
    ("predict_inference_beats_training_mode_at_m2", 1,
     'assert check_prediction("inference_beats_training_mode_at_m2", why_inference_wins)'),
])
def test_notebook_exercise_cells_are_marked_for_nbgrader(cells, grade_id, points, assertion):
    assert_graded_pair(cells, grade_id, points, assertion)


def test_answers_come_after_the_question_and_the_exercises(cells):
    graded = graded_cells(cells)
    text = ["".join(c["source"]) for c in cells]

    def first(needle, cell_type):
        return next(i for i, t in enumerate(text)
                    if needle in t and cells[i]["cell_type"] == cell_type)

    assert graded["predict_inference_beats_training_mode_at_m2_test"][0] < first(
        "m_bn = sweep.bn", "code")                              # the table of the two modes
    assert graded["layer_norm_test"][0] < first("z.var(axis=1, keepdims=True)", "markdown")
    assert graded["layer_norm_backward_test"][0] < first("$$dz = ", "markdown")


def test_the_question_accepts_the_reason_inference_mode_wins_at_m_2(sweep, digits_split):
    # Inference mode beats training mode at m = 2 on every seed...
    bn = sweep.bn
    assert bn["biased"][0].min() > bn["train_mode_acc"][0].max()
    # ...and the accepted reason is (b): with two examples every z_norm is +-1 (up to eps)
    X_train = digits_split[0]
    W1 = sweep.runs["batch", 2].params["W1"][0]
    z_norm = batchnorm_forward(X_train[:2] @ W1, np.ones(32), np.zeros(32))[0]
    spread = np.ptp(X_train[:2] @ W1, axis=0)
    wide = spread > 0.1                                      # units where eps is negligible
    assert wide.sum() > 16
    np.testing.assert_allclose(np.abs(z_norm[:, wide]), 1.0, atol=1e-3)
    choices = PREDICTIONS["inference_beats_training_mode_at_m2"]["choices"]
    assert [c for c, feedback in choices.items() if feedback is None] == ["b"]


def test_notebook_conventions(cells):
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    first = json.loads((NOTEBOOK.parent / "01_input_normalization.ipynb").read_text())["cells"]
    first_code = next("".join(c["source"]) for c in first if c["cell_type"] == "code")
    assert code[0] == first_code  # the Colab-friendly setup cell
    assert not any("import tensorflow" in c or "import keras" in c for c in code)
    # nbval's marker is a cell tag, out of the student's sight, on the explorer's cell
    ignored = [c for c in cells if "nbval-ignore-output" in c["metadata"].get("tags", [])]
    assert ignored and all("Explorer" in "".join(c["source"]) for c in ignored)
    assert not any("NBVAL_IGNORE_OUTPUT" in c for c in code)
    assert all(c["execution_count"] is not None for c in cells if c["cell_type"] == "code")
