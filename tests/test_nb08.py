"""Notebook 08 (beyond batch norm): the figure, the key numbers and the exercise cells.

The notebook's claims are asserted here on smaller runs: BN degrades at tiny batches while LN
and GN do not, batch variances are (m - 1) / m of the population's, a batch of one fails for BN
only. (One example's output among its companions: test_experiments.py, test_explorers.py.)
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from helpers import data, plots
from helpers.batchnorm import batchnorm_forward
from helpers.network import MLP, train
from helpers.optimizers import Adam

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
    X_train, X_test, y_train, y_test = data.train_test_split(digits.X / 16.0, digits.y,
                                                             test_fraction=0.25, seed=0)
    return X_train[:500], X_test, y_train[:500], y_test


@pytest.fixture(scope="module")
def accuracies(digits_split):
    """The notebook's experiment, smaller: 500 training examples, batch sizes 2 and 32."""
    X_train, X_test, y_train, y_test = digits_split
    acc = {}
    for norm in ("batch", "layer", "group"):
        for m in (2, 32):
            net = MLP((64, 32, 32, 10), norm=norm, groups=4)
            params, state = net.init(seed=0)
            params, state, _ = train(net, params, state, X_train, y_train,
                                     Adam(0.005 * np.sqrt(m / 16)), epochs=4, batch_size=m, seed=0)
            acc[norm, m] = net.accuracy(params, state, X_test, y_test)
    return acc


def test_bn_degrades_at_tiny_batches(accuracies):
    assert accuracies["batch", 32] > 0.8
    assert accuracies["batch", 2] < accuracies["batch", 32] - 0.25


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_ln_and_gn_do_not_degrade_at_tiny_batches(accuracies, norm):
    assert accuracies[norm, 2] > accuracies["batch", 2] + 0.25
    assert accuracies[norm, 2] > accuracies[norm, 32] - 0.05
    assert accuracies[norm, 2] > 0.8


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


# ----------------------------------------------------------------------------- the notebook file
@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_notebook_exercise_cells_are_marked_for_nbgrader(cells):
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells
              if "nbgrader" in c.get("metadata", {})}
    solution_cell, test_cell = graded["layer_norm"], graded["layer_norm_test"]
    assert solution_cell["metadata"]["nbgrader"] == {
        "grade": False, "solution": True, "locked": False, "grade_id": "layer_norm",
        "schema_version": 3}
    assert test_cell["metadata"]["nbgrader"] == {
        "grade": True, "solution": False, "locked": True, "grade_id": "layer_norm_test",
        "points": 2, "schema_version": 3}
    source = "".join(solution_cell["source"])
    assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
    assert "assert check_layer_norm(layer_norm)" in "".join(test_cell["source"])


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
