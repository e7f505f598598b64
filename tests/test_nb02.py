"""Notebook 02 (the batch-norm forward pass): the answers of its predict-then-run questions are true.

"almost_dead_unit_without_eps": a unit that is 0 for every example but one, which has a tiny
value v, normalized without eps. Its one nonzero example lands at sqrt(m - 1) standard
deviations, whatever v (the scale cancels): "much larger than 1". With eps = 1e-5 it stays small.
"tanh_saturation_at_gamma_1": with gamma = 1, beta = 0, about a quarter of the notebook's z~ lie
where tanh is saturated (and almost none where the sigmoid is).
"""

import numpy as np
import pytest

from helpers import data, experiments, layers
from helpers.checks.predictions import PREDICTIONS


def normalize(a, eps):
    return (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + eps)


@pytest.mark.parametrize("value", [1e-4, 1e-2, 100.0])
@pytest.mark.parametrize("m", [8, 128])
def test_one_tiny_value_without_eps_lands_at_sqrt_m_minus_1(value, m):
    a = np.zeros((m, 1))
    a[0] = value
    assert normalize(a, 0.0)[0, 0] == pytest.approx(np.sqrt(m - 1), rel=1e-9)
    assert normalize(a, 0.0)[0, 0] > 2                      # "much larger than 1"


def test_eps_keeps_the_tiny_value_small():
    a = np.zeros((128, 1))
    a[0] = 1e-4
    assert 0.01 < normalize(a, 1e-5)[0, 0] < 0.05           # the notebook prints 0.031


def test_the_question_accepts_only_that_answer():
    choices = PREDICTIONS["almost_dead_unit_without_eps"]["choices"]
    assert [c for c, feedback in choices.items() if feedback is None] == ["much larger than 1"]


def notebook_z():
    """The pre-activations of notebook 02: 128 digits through a fresh dense layer of 32 units."""
    digits = data.load_digits()
    rng = np.random.default_rng(0)
    x = digits.X[rng.choice(len(digits.X), size=128, replace=False)] / 16.0
    W = rng.normal(0.0, np.sqrt(2.0 / 64), size=(64, 32))
    b = rng.normal(0.0, 0.5, size=32)
    return layers.dense_forward(x, W, b)[0]


def test_about_a_quarter_of_tanh_inputs_are_saturated_at_gamma_1():
    z = notebook_z()
    tanh = experiments.bn_activation(z, gamma=1.0, beta=0.0, eps=1e-5, activation="tanh")
    sigmoid = experiments.bn_activation(z, gamma=1.0, beta=0.0, eps=1e-5, activation="sigmoid")
    assert 0.15 < tanh.saturated < 0.35          # "about a quarter"
    assert sigmoid.saturated < 0.05              # the feedback for "almost none" says so
    choices = PREDICTIONS["tanh_saturation_at_gamma_1"]["choices"]
    assert [c for c, feedback in choices.items() if feedback is None] == ["about a quarter"]
