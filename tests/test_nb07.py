"""Notebook 07 (batch norm in TensorFlow/Keras): the conventions the notebook states.

The conventions of the notebook's translator table are asserted against Keras itself, so a Keras
release that changes one of them makes this file fail; so is the answer of the notebook's
question (what a call without `training` uses). The notebook file: its question and exercise
are marked for nbgrader, and the question comes before the cell that answers it. (The exercise's
checker: test_checks_keras_port.py.)
"""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from assignment_support import assert_graded_pair

from helpers.batchnorm import (
    batch_moments,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.checks.predictions import PREDICTIONS

keras = tf.keras
DT = "float64"
NOTEBOOK = (Path(__file__).resolve().parent.parent / "notebooks"
            / "07_batchnorm_in_tensorflow.ipynb")


# ----------------------------------------------------------------------------- the conventions
def test_keras_defaults_are_the_ones_the_notebook_states():
    bn = keras.layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon, bn.center, bn.scale, bn.axis) == (0.99, 1e-3, True, True, -1)
    bn.build((None, 3))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert keras.layers.Dense(3).use_bias  # so use_bias=False must be asked for before BN


def bn_layer(n, momentum=0.9, eps=1e-5):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=eps, dtype=DT)
    layer.build((None, n))
    return layer


def test_momentum_has_our_meaning_and_the_moving_variance_is_biased():
    z = np.random.default_rng(0).normal(2.0, 3.0, size=(5, 4))  # m = 5: m/(m-1) = 1.25
    layer = bn_layer(4, momentum=0.9)
    layer(z, training=True)
    mu, var = batch_moments(z)
    mean, var_ours = update_running_stats(np.zeros(4), np.ones(4), mu, var, 0.9)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var_ours, rtol=1e-12)
    unbiased = update_running_stats(np.zeros(4), np.ones(4), mu, z.var(axis=0, ddof=1), 0.9)[1]
    assert np.min(np.abs(layer.moving_variance.numpy() - unbiased)) > 1e-3


def test_training_flag_and_frozen_layer():
    rng = np.random.default_rng(1)
    z = rng.normal(1.0, 2.0, size=(8, 3))
    layer = bn_layer(3)
    layer(z, training=True)  # move the moving statistics away from 0 / 1
    mean, var = layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()
    inference = batchnorm_inference(z, np.ones(3), np.zeros(3), mean, var, eps=1e-5)
    np.testing.assert_allclose(layer(z).numpy(), inference, atol=1e-12)  # default: inference
    np.testing.assert_allclose(layer(z, training=False).numpy(), inference, atol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)  # inference does not update

    layer.trainable = False  # frozen: Keras 3 runs it in inference mode even with training=True
    np.testing.assert_allclose(layer(z, training=True).numpy(), inference, atol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), var)


# ----------------------------------------------------------------------------- tf.keras 2 vs Keras 3
def test_the_fused_kernel_of_tf_keras_2_returns_the_unbiased_variance():
    # tf.keras 2 ran this kernel for 4-D float32 inputs and stored its variance as the moving one.
    x = np.random.default_rng(2).normal(1.0, 2.0, size=(3, 2, 2, 2)).astype(np.float32)  # n = 12
    n = 3 * 2 * 2
    ones, zeros = np.ones(2, np.float32), np.zeros(2, np.float32)
    y, _, var = tf.compat.v1.nn.fused_batch_norm(x, ones, zeros, epsilon=1e-5, is_training=True,
                                                 data_format="NHWC")
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var.numpy(), x64.var(axis=(0, 1, 2), ddof=1), rtol=1e-5)
    biased = x64.var(axis=(0, 1, 2))
    assert np.all(var.numpy() / biased > 1 + 0.5 / (n - 1))  # n / (n - 1) = 1.09, not 1
    normalized = (x64 - x64.mean(axis=(0, 1, 2))) / np.sqrt(biased + 1e-5)  # output: biased
    np.testing.assert_allclose(y.numpy(), normalized, atol=1e-5)
    _, _, running = tf.compat.v1.nn.fused_batch_norm(
        x, ones, zeros, mean=zeros, variance=ones, epsilon=1e-5, is_training=True,
        data_format="NHWC", exponential_avg_factor=0.1)
    np.testing.assert_allclose(running.numpy(), 0.9 + 0.1 * x64.var(axis=(0, 1, 2), ddof=1),
                               rtol=1e-5)


def test_keras_3_stores_the_biased_variance_after_a_convolution_too():
    x = np.random.default_rng(3).normal(1.0, 2.0, size=(3, 2, 2, 2)).astype(np.float32)
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)  # float32, axis=-1
    layer(x, training=True)
    biased = x.astype(np.float64).var(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * biased, rtol=1e-5)


# ----------------------------------------------------------------------------- the question
def test_the_question_accepts_what_a_call_without_training_uses():
    z = np.random.default_rng(2).normal(3.0, 2.0, size=(16, 4))
    layer = bn_layer(4)
    layer(z, training=True)  # moving statistics away from (0, 1), still far from the batch's
    plain = layer(z).numpy()
    ones, zeros = np.ones(4), np.zeros(4)
    moving = batchnorm_inference(z, ones, zeros, layer.moving_mean.numpy(),
                                 layer.moving_variance.numpy(), eps=1e-5)
    batch = batchnorm_forward(z, ones, zeros, eps=1e-5)[0]
    assert not np.allclose(moving, batch, atol=1e-3)  # the two answers are told apart
    used = [name for name, out in (("moving statistics", moving), ("batch statistics", batch))
            if np.allclose(plain, out, atol=1e-12)]
    choices = PREDICTIONS["plain_call_statistics"]["choices"]
    assert used == [choice for choice, feedback in choices.items() if feedback is None]


# ----------------------------------------------------------------------------- the notebook file

@pytest.mark.parametrize("grade_id, points, assertion", [
    ("predict_plain_call_statistics", 1,
     'assert check_prediction("plain_call_statistics", plain_call)'),
    ("port_to_keras", 2, "assert check_keras_port(build_keras_mlp)"),
])
def test_the_question_and_the_exercise_are_marked_for_nbgrader(grade_id, points, assertion):
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    i, j = assert_graded_pair(cells, grade_id, points, assertion)
    if grade_id.startswith("predict_"):  # before the cell that prints the answer, not after
        text = ["".join(c["source"]) for c in cells]
        answer = next(k for k, t in enumerate(text) if 'print("no training argument")' in t)
        assert j < answer
        assert not any("no argument: inference" in t or "runs in inference mode" in t
                       for t in text[:j])
