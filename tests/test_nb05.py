"""Notebook 05: its figure helper, its predict-then-run question and its exercise cells.

- the capped axis that marks its outliers (helpers.plots.cap_y_axis);
- the question of section 2 (the noise spread from m = 16 to m = 64): the accepted range holds
  the measured factor for other draws of batches too, and each question comes before the cell
  that answers it;
- every exercise and question carries the nbgrader metadata the course relies on (2 points per
  exercise, 1 per question) and calls its checker.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed
import matplotlib.pyplot as plt
import numpy as np
import pytest
from assignment_support import assert_graded_pair
from assignment_support import graded as graded_cells

from helpers import data, experiments, plots
from helpers.checks.predictions import PREDICTIONS
from helpers.network import MLP, train
from helpers.optimizers import Adam

NOTEBOOK = (Path(__file__).resolve().parent.parent / "notebooks"
            / "05_mini_batches_and_inference.ipynb")


def test_cap_y_axis_marks_only_the_points_above_the_cap():
    fig, ax = plt.subplots()
    ax.plot([2, 4, 8], [20.2, 0.9, 0.4], color="tab:green")
    ax.plot([2, 4, 8], [0.5, 0.4, 0.3], color="tab:blue")
    assert plots.cap_y_axis(ax, top=2.0) == 1
    assert ax.get_ylim()[1] == 2.0
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["20.2, off scale"]
    marker = ax.get_lines()[-1]
    assert list(marker.get_xdata()) == [2] and list(marker.get_ydata()) == [2.0]
    assert marker.get_color() == "tab:green"      # the colour of the curve it belongs to
    assert plots.cap_y_axis(ax, top=30.0, lines=ax.get_lines()[:2]) == 0
    plt.close(fig)


# ----------------------------------------------------------------------------- the question
@pytest.fixture(scope="module")
def notebook_network():
    """The network of section 1 (seed 0) and the data: net, params, state, X_train, X_val, y_val."""
    digits = data.load_digits()
    X_train, X_val, y_train, y_val = data.train_test_split(digits.X, digits.y,
                                                           test_fraction=0.25, seed=0)
    X_train, X_val, _, _ = data.normalize_inputs(X_train, X_val)
    net = MLP((64, 32, 32, 10), activation="relu", norm="batch", momentum=0.9)
    params, state, _ = train(net, *net.init(seed=0), X_train, y_train, Adam(learning_rate=0.003),
                             epochs=10, batch_size=64, seed=0)
    return net, params, state, X_train, X_val, y_val


@pytest.fixture(scope="module")
def notebook_unit(notebook_network):
    """Section 2's unit: z of unit 0 for every training example, and the example whose z_norm
    is closest to 1.5."""
    params, X_train = notebook_network[1], notebook_network[3]
    z = X_train @ params["W1"][:, 0]
    return z, int(np.argmin(np.abs((z - z.mean()) / z.std() - 1.5)))


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_a_batch_of_one_digit_is_not_recognised_with_batch_statistics(notebook_network, digit):
    # Section 5's question accepts 0 to 30%: it must hold for the notebook's ones, and for other
    # digits too (the reason is the batch's own mean, not something about ones).
    net, params, state, _, X_val, y_val = notebook_network
    batch = X_val[np.flatnonzero(y_val == digit)[:32]]
    with_batch_stats = net.forward(params, state, batch, training=True)[0].argmax(axis=1)
    recognised = 100 * np.mean(with_batch_stats == digit)
    low, high = PREDICTIONS["batch_of_ones_recognised"]["range"]
    assert low <= recognised <= high
    assert np.mean(net.predict(params, state, batch) == digit) > 0.9   # running statistics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_accepted_noise_spread_factor_holds_for_other_draws_of_batches(notebook_unit, seed):
    # The question's range must hold the measured factor, not only for the notebook's draw.
    z, index = notebook_unit
    noise = experiments.minibatch_noise(z, index=index, batch_sizes=(16, 64), draws=2000,
                                        seed=seed)
    factor = noise.spreads["total"][1] / noise.spreads["total"][0]
    low, high = PREDICTIONS["noise_spread_16_to_64"]["range"]
    assert low <= factor <= high
    assert abs(factor - 0.5) < 0.1   # the explanation's "close to 0.5" (1 / sqrt(4))


# ----------------------------------------------------------------------------- the notebook file
def _cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]



# grade_id of the solution cell -> (points of its graded cell, the graded cell's assertion)
EXERCISES = {
    "predict_noise_spread_16_to_64":
        (1, 'assert check_prediction("noise_spread_16_to_64", spread_factor)'),
    "predict_batch_of_ones_recognised":
        (1, 'assert check_prediction("batch_of_ones_recognised", ones_recognised)'),
    "population_statistics": (2, "assert check_population_statistics(population_statistics)"),
    "track_running_stats": (2, "assert check_track_running_stats(track_running_stats)"),
    "batchnorm_inference": (2, "assert check_batchnorm_inference(batchnorm_inference)"),
}


@pytest.mark.parametrize("grade_id", list(EXERCISES))
def test_exercises_and_questions_are_marked_for_nbgrader(grade_id):
    points, assertion = EXERCISES[grade_id]
    assert_graded_pair(_cells(), grade_id, points, assertion)


def test_questions_and_exercises_come_before_their_answers():
    cells = _cells()
    graded = graded_cells(cells)
    text = ["".join(c["source"]) for c in cells]

    def first(needle):
        return next(i for i, t in enumerate(text) if needle in t)

    question = graded["predict_noise_spread_16_to_64_test"][0]
    assert question < first("noise = experiments.minibatch_noise(")       # the table
    assert PREDICTIONS["noise_spread_16_to_64"]["notebook"] == "05"
    ones = graded["predict_batch_of_ones_recognised_test"][0]
    assert ones < first("same_class = np.flatnonzero(y_val == 1)")  # the batch of ones
    exercise = graded["population_statistics_test"][0]
    assert exercise < first("E[\\sigma_B^2] = \\frac{m-1}{m}")        # the derivation
    assert exercise < first("\\frac{m}{m-1}\\,E_B[\\sigma_B^2]")       # Algorithm 2's formula
    for grade_id in ("track_running_stats_test", "batchnorm_inference_test"):
        assert graded[grade_id][0] < first("**The answers in formulas.**")
