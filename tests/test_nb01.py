"""Notebook 01 (input normalization): the answer of its predict-then-run question is true.

The question (helpers/checks/predictions.py, "raw_vs_normalized_steps") asks how many times as
many gradient-descent steps the raw proline/hue features need as the normalized ones, from the
same starting model, each at 90% of its own largest stable learning rate. The accepted answer is
"millions of times"; here the exact step counts (regression.predicted_steps, which
test_regression.py checks against running gradient descent) are recomputed from the data.
"""

import numpy as np
import pytest

from helpers import data, regression
from helpers.checks.predictions import PREDICTIONS


@pytest.fixture(scope="module")
def proline_hue():
    wine = data.load_wine()
    X_train, _, y_train, _ = data.train_test_split(wine.X, wine.y, test_fraction=0.25, seed=0)
    pair = [wine.feature_names.index("proline"), wine.feature_names.index("hue")]
    X2 = X_train[:, pair]
    return X2, data.normalize_inputs(X2)[0], (y_train == 0).astype(float)


def steps(X, t, start, fraction=0.9, tol=1e-6):
    lr = fraction * regression.stable_learning_rate(X)
    return regression.predicted_steps(X, t, lr, start, tol)


def test_raw_features_need_millions_of_times_as_many_steps(proline_hue):
    raw, normalized, t = proline_hue
    fair_start = np.r_[0.0, 0.0, t.mean()]          # the same model on both feature sets
    ratio = steps(raw, t, fair_start) / steps(normalized, t, fair_start)
    assert 1e6 <= ratio < 1e9                       # "millions of times", not thousands
    # also from the notebook's other start, w = 0 with b at its optimum
    def b_star(X):
        return np.r_[0.0, 0.0, regression.optimum(X, t)[0][-1]]

    assert 1e6 <= steps(raw, t, b_star(raw)) / steps(normalized, t, b_star(normalized)) < 1e9


def test_the_question_accepts_only_that_answer():
    choices = PREDICTIONS["raw_vs_normalized_steps"]["choices"]
    assert [c for c, feedback in choices.items() if feedback is None] == ["millions of times"]
