"""Notebook 03 (gamma, beta and the identity): the answer of its predict-then-run question is true.

"db_under_bn": the gradient of any loss of z~ with respect to the bias b of the dense layer
before BN is zero (up to round-off), while without BN it is the batch sum of dz~.
"""

import numpy as np

from helpers import batchnorm, layers
from helpers.checks.predictions import PREDICTIONS
from helpers.gradcheck import numerical_gradient


def test_db_is_zero_under_batch_norm_and_not_without():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(32, 6)), rng.normal(size=(6, 5)), rng.normal(size=5)
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.normal(size=5)
    dz_tilde = rng.normal(size=(32, 5))
    z, dense_cache = layers.dense_forward(x, W, b)
    _, bn_cache = batchnorm.batchnorm_forward(z, gamma, beta)
    dz, _, _ = batchnorm.batchnorm_backward(dz_tilde, bn_cache)
    db_bn = layers.dense_backward(dz, dense_cache)[2]
    db_plain = layers.dense_backward(dz_tilde, dense_cache)[2]
    assert np.abs(db_bn).max() < 1e-12
    np.testing.assert_allclose(db_plain, dz_tilde.sum(axis=0))
    assert np.abs(db_plain).max() > 1.0

    def loss(bias):  # numerically, without trusting the backward pass
        return float(np.sum(batchnorm.batchnorm_forward(x @ W + bias, gamma, beta)[0] * dz_tilde))

    assert np.abs(numerical_gradient(lambda _: loss(b), b)).max() < 1e-6


def test_the_question_accepts_only_that_answer():
    choices = PREDICTIONS["db_under_bn"]["choices"]
    assert [c for c, feedback in choices.items() if feedback is None] == ["zero"]
