"""helpers.layers and helpers.gradcheck: gradient checks, numerics, clear errors."""

import numpy as np
import pytest

from helpers.gradcheck import numerical_gradient, numerical_gradient_array, relative_error
from helpers.layers import ACTIVATIONS, dense_backward, dense_forward, softmax_cross_entropy


# ----------------------------------------------------------------------------- gradcheck itself
def test_numerical_gradient_of_a_known_function_and_x_restored():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda x: np.sum(x**3), x)
    np.testing.assert_allclose(grad, 3 * before**2, atol=1e-8)  # error ~ h**2 * f''' / 6
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_uses_the_upstream_gradient():
    rng = np.random.default_rng(1)
    x = rng.normal(size=5)
    dout = rng.normal(size=5)
    grad = numerical_gradient_array(np.sin, x, dout)
    np.testing.assert_allclose(grad, np.cos(x) * dout, rtol=1e-8)


def test_relative_error_scale_and_zero_handling():
    a = np.array([1.0, 2.0, 0.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, a + [0, 0, 1e-3]) == pytest.approx(1e-3 / 4.0)
    # Both ~0 everywhere: the 1e-8 floor keeps the ratio finite.
    assert relative_error(np.zeros(3), np.full(3, 1e-12)) == pytest.approx(1e-4)


@pytest.mark.parametrize(
    "call, error, word",
    [
        (lambda: numerical_gradient(lambda _: 0.0, np.ones(3, np.float32)), TypeError, "float64"),
        (lambda: numerical_gradient(lambda _: 0.0, [1.0, 2.0]), TypeError, "float64"),
        (lambda: numerical_gradient(lambda _: 0.0, np.ones(3), h=0), ValueError, "h"),
        (lambda: relative_error(np.ones(3), np.ones(4)), ValueError, "same shape"),
        (lambda: relative_error(np.ones(0), np.ones(0)), ValueError, "empty"),
    ],
)
def test_gradcheck_bad_input(call, error, word):
    with pytest.raises(error, match=word):
        call()


# ----------------------------------------------------------------------------- layers
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_gradient_check(with_bias):
    rng = np.random.default_rng(2)
    x, W = rng.normal(size=(6, 4)), rng.normal(size=(4, 3))
    b = rng.normal(size=3) if with_bias else None
    dz = rng.normal(size=(6, 3))
    z, cache = dense_forward(x, W, b)
    np.testing.assert_allclose(z, x @ W + (b if with_bias else 0))
    dx, dW, db = dense_backward(dz, cache)

    def fwd(_):  # x, W and b are nudged in place by the gradient check
        return dense_forward(x, W, b)[0]

    assert relative_error(dx, numerical_gradient_array(fwd, x, dz)) < 1e-9
    assert relative_error(dW, numerical_gradient_array(fwd, W, dz)) < 1e-9
    if with_bias:
        assert relative_error(db, numerical_gradient_array(fwd, b, dz)) < 1e-9
    else:
        assert db is None


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradient_check(name):
    rng = np.random.default_rng(3)
    z = rng.normal(scale=2.0, size=(5, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep relu away from its kink, where no derivative exists
    dout = rng.normal(size=z.shape)
    forward, backward = ACTIVATIONS[name]
    _, cache = forward(z)
    num = numerical_gradient_array(lambda z: forward(z)[0], z, dout)
    assert relative_error(backward(dout, cache), num) < 1e-8


def test_sigmoid_is_finite_and_saturates_at_extremes():
    a, _ = ACTIVATIONS["sigmoid"][0](np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_array_equal(a, [[0.0, 0.5, 1.0]])


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(7, 5))
    y = rng.integers(0, 5, size=7)
    loss, dlogits = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.log(p[np.arange(7), y]).mean(), rel=1e-12)
    num = numerical_gradient(lambda logits: softmax_cross_entropy(logits, y)[0], logits)
    assert relative_error(dlogits, num) < 1e-8
    # Huge logits: still finite thanks to the max subtraction.
    big_loss, _ = softmax_cross_entropy(logits * 1e4, y)
    assert np.isfinite(big_loss)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: dense_forward(np.ones((2, 3)), np.ones((4, 2))), ValueError, ["x", "3", "4", "(n_in, n_out)"]),
        (lambda: dense_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3)), ValueError, ["b", "(2,)", "(3,)"]),
        (lambda: dense_forward(np.ones(3), np.ones((3, 2))), ValueError, ["x", "2 dimension"]),
        (lambda: dense_forward(np.ones((2, 3), int), np.ones((3, 2))), TypeError, ["x", "int64"]),
        (lambda: dense_backward(np.ones((5, 2)), dense_forward(np.ones((2, 3)), np.ones((3, 2)))[1]), ValueError, ["dz", "(2, 2)"]),
        (lambda: ACTIVATIONS["relu"][1](np.ones(3), ACTIVATIONS["relu"][0](np.ones(4))[1]), ValueError, ["da", "(4,)"]),
        (lambda: softmax_cross_entropy(np.ones((3, 4)), np.array([0, 1, 4])), ValueError, ["y", "0..3", "4"]),
        (lambda: softmax_cross_entropy(np.ones((3, 4)), np.array([0.0, 1.0, 2.0])), TypeError, ["y", "integer"]),
        (lambda: softmax_cross_entropy(np.ones((3, 4)), np.array([0, 1])), ValueError, ["y", "(3,)"]),
    ],
)
def test_layers_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} missing from: {info.value}"
