"""helpers.validation: each check accepts what it should, and its error names the argument,
what it got and what was expected. (The helpers' own bad-input tables, in the tests of each
module, check that every public function goes through these checks.)"""

import numpy as np
import pytest

from helpers import validation

ACCEPTED = [
    (lambda: validation.real(0.5, "lr", low=0), 0.5),
    (lambda: validation.real(np.float32(2), "lr", low=0), 2.0),
    (lambda: validation.real(1, "x", low=1, low_open=False), 1.0),
    (lambda: validation.integer(3, "epochs"), 3),
    (lambda: validation.integer(np.int64(0), "k", low=0), 0),
    (lambda: validation.eps(1e-5), 1e-5),
    (lambda: validation.fraction(0.0, "momentum"), 0.0),
    (lambda: validation.fraction(1.0, "momentum"), 1.0),
    (lambda: validation.choice("adam", "name", {"adam": 1}), "adam"),
    (lambda: validation.axes(-1, 3), (2,)),
    (lambda: validation.axes((2, 0, 1), 4), (0, 1, 2)),
]


@pytest.mark.parametrize("call, expected", ACCEPTED)
def test_good_values_come_back_cleaned(call, expected):
    value = call()
    assert value == expected and type(value) is type(expected)


REFUSED = [
    # (call, error, words the message must contain)
    (lambda: validation.real(True, "lr", low=0), TypeError, ["lr", "True", "bool"]),
    (lambda: validation.real("0.1", "lr"), TypeError, ["lr", "'0.1'", "str"]),
    (lambda: validation.real(0.0, "lr", low=0), ValueError, ["lr", "(0, inf]", "0.0"]),
    (lambda: validation.real(float("nan"), "lr"), ValueError, ["lr", "nan"]),
    (lambda: validation.real(1.0, "p", low=0, high=1, high_open=True), ValueError, ["p", "(0, 1)"]),
    (lambda: validation.integer(2.0, "epochs"), TypeError, ["epochs", "int", "2.0"]),
    (lambda: validation.integer(False, "epochs"), TypeError, ["epochs", "False"]),
    (lambda: validation.integer(0, "epochs"), ValueError, ["epochs", ">= 1", "0"]),
    (lambda: validation.integer(9, "k", low=1, high=8), ValueError, ["k", "[1, 8]", "9"]),
    (lambda: validation.eps(0.0), ValueError, ["eps", "positive", "0.0"]),
    (lambda: validation.eps(-1e-5, "epsilon"), ValueError, ["epsilon", "-1e-05"]),
    (lambda: validation.eps("1e-5"), TypeError, ["eps", "'1e-5'"]),
    (lambda: validation.fraction(1.0, "beta1", high_open=True), ValueError, ["beta1", "[0, 1)", "1.0"]),
    (lambda: validation.fraction(-0.1, "momentum"), ValueError, ["momentum", "[0, 1]", "-0.1"]),
    (lambda: validation.choice("sgd", "name", ["adam", "gd"]), ValueError, ["name", "'sgd'", "['adam', 'gd']"]),
    (lambda: validation.float_array(np.ones(3, int), "z"), TypeError, ["z", "int64", "float"]),
    (lambda: validation.float_array(np.ones(3), "z", ndim=2), ValueError, ["z", "2 dimension", "(3,)"]),
    (lambda: validation.number_array(np.array(["a"]), "X"), TypeError, ["X", "numbers", "<U1"]),
    (lambda: validation.finite(np.array([1.0, np.nan, np.inf]), "gamma"), ValueError, ["gamma", "NaN", "2 value"]),
    (lambda: validation.same_shape(np.ones((2, 3)), np.ones((3, 2)), "dout"), ValueError, ["dout", "(3, 2)", "(2, 3)"]),
    (lambda: validation.labels(np.ones(3), 3), TypeError, ["y", "integer", "float64"]),
    (lambda: validation.labels(np.ones(2, int), 3), ValueError, ["y", "(3,)", "(2,)"]),
    (lambda: validation.labels(np.array([0, 5]), 2, classes=3), ValueError, ["y", "0..2", "5"]),
    (lambda: validation.axes((), 2), ValueError, ["axes", "at least one"]),
    (lambda: validation.axes((0, 1), 2), ValueError, ["axes", "every axis"]),
    (lambda: validation.axes("0", 2), TypeError, ["axes", "'0'"]),
    (lambda: validation.batch(np.ones((1, 3)), (0,), training=True), ValueError, ["one value per unit", "batchnorm_inference"]),
    (lambda: validation.per_unit(np.ones(4), "gamma", (3,)), ValueError, ["gamma", "(3,)", "(4,)"]),
    (lambda: validation.per_unit(-np.ones(3), "running_var", (3,), nonnegative=True), ValueError, ["running_var", "negative"]),
]


@pytest.mark.parametrize("call, error, words", REFUSED)
def test_bad_values_get_an_error_naming_argument_value_and_expectation(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} missing from: {info.value}"


def test_batch_of_one_is_fine_at_inference():
    z, axes, m = validation.batch(np.ones((1, 3)), 0, training=False)
    assert z.shape == (1, 3) and axes == (0,) and m == 1


def test_nan_in_z_is_data_not_an_error():
    z = np.array([[1.0, np.nan], [2.0, 3.0]])
    assert validation.batch(z, (0,), training=True)[2] == 2
