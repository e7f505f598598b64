"""helpers.checks for notebooks 02 and 03: right answers pass, each common mistake gets its hint.

Every student function here is written out independently (the right formula and each mistake),
and the tests assert both the returned bool and the printed hint. A checker must never raise.
"""

import sys

import numpy as np
import pytest

from helpers.checks import (
    check_batchnorm_forward,
    check_identity_gamma_beta,
    check_numerical_gradient,
)


# ----------------------------------------------------------------------------- batchnorm_forward
def right_bn(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def bn_unbiased_variance(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0, ddof=1) + eps) + beta


def bn_eps_outside_sqrt(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / (np.sqrt(z.var(axis=0)) + eps) + beta


def bn_eps_missing(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0)) + beta


def bn_eps_hard_coded(z, gamma, beta, eps=1e-5):
    return right_bn(z, gamma, beta, 1e-5)


def bn_wrong_axis(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=1, keepdims=True)
    return gamma * (z - mu) / np.sqrt(z.var(axis=1, keepdims=True) + eps) + beta


def bn_wrong_axis_no_keepdims(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=1)) / np.sqrt(z.var(axis=1) + eps) + beta


def bn_swapped(z, gamma, beta, eps=1e-5):
    return right_bn(z, beta, gamma, eps)


def bn_returns_z_norm(z, gamma, beta, eps=1e-5):
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)


MISTAKES = [
    (bn_unbiased_variance, "unbiased variance (ddof=1"),
    (bn_eps_outside_sqrt, "eps is outside the square root"),
    (bn_eps_missing, "eps is missing"),
    (bn_eps_hard_coded, "eps was fixed at 1e-05"),
    (bn_wrong_axis, "wrong axis"),
    (bn_wrong_axis_no_keepdims, "mu and var are per unit"),
    (bn_swapped, "gamma and beta are swapped"),
    (bn_returns_z_norm, "You returned z_norm"),
]


def test_right_function_passes(capsys):
    assert check_batchnorm_forward(right_bn, use_tensorflow=False) is True
    assert "All 6 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", MISTAKES, ids=[f.__name__ for f, _ in MISTAKES])
def test_each_common_mistake_gets_its_hint(fn, hint, capsys):
    assert check_batchnorm_forward(fn, use_tensorflow=False) is False
    out = capsys.readouterr().out
    assert "failed" in out and hint in out


def test_eps_missing_on_a_constant_unit_is_reported_as_nan(capsys):
    def eps_missing_after_passing_early_cases(z, gamma, beta, eps=1e-5):
        # Right on non-constant units, eps missing only where the variance is 0.
        var = z.var(axis=0)
        return gamma * (z - z.mean(axis=0)) / np.sqrt(np.where(var == 0, 0.0, var + eps)) + beta

    with np.errstate(invalid="ignore"):
        assert check_batchnorm_forward(eps_missing_after_passing_early_cases,
                                       use_tensorflow=False) is False
    out = capsys.readouterr().out
    assert "constant unit" in out and "contains NaN" in out and "np.sqrt(var + eps)" in out


def raises(z, gamma, beta, eps=1e-5):
    raise RuntimeError("not written yet")


def returns_none(z, gamma, beta, eps=1e-5):
    right_bn(z, gamma, beta, eps)


def wrong_shape(z, gamma, beta, eps=1e-5):
    return right_bn(z, gamma, beta, eps).T


def all_nan(z, gamma, beta, eps=1e-5):
    return np.full(z.shape, np.nan)


def returns_tuple(z, gamma, beta, eps=1e-5):
    return right_bn(z, gamma, beta, eps), {}


def modifies_input(z, gamma, beta, eps=1e-5):
    z -= z.mean(axis=0)
    return gamma * z / np.sqrt(z.var(axis=0) + eps) + beta


VISIBLE = np.array([[1.0, 2.0, -3.0], [3.0, 2.5, 0.0], [5.0, 1.0, 3.0], [7.0, 0.5, 4.0]])


def hard_coded_visible_case(z, gamma, beta, eps=1e-5):
    # What a student might paste after reading the example's printed output.
    return right_bn(VISIBLE, np.ones(3), np.zeros(3))


BROKEN = [
    (raises, "Your function raised RuntimeError: not written yet"),
    (returns_none, "returned None"),
    (wrong_shape, "has shape (3, 4), expected (4, 3)"),
    (all_nan, "contains NaN"),
    (returns_tuple, "expected the array z_tilde alone"),
    (modifies_input, "changed its input z in place"),
    (hard_coded_visible_case, "Check 2 of 6 failed"),
    (lambda z, gamma, beta, eps=1e-5: "z_tilde", "is a str"),
]


@pytest.mark.parametrize("fn, message", BROKEN, ids=[m for _, m in BROKEN])
def test_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batchnorm_forward(fn, use_tensorflow=False) is False
    assert message in capsys.readouterr().out


def test_hard_coded_output_passes_only_the_visible_case(capsys):
    check_batchnorm_forward(hard_coded_visible_case, use_tensorflow=False)
    out = capsys.readouterr().out
    assert "Check 1 of 6" not in out and "Check 2 of 6 failed" in out


def test_not_a_function(capsys):
    assert check_batchnorm_forward(right_bn(VISIBLE, np.ones(3), np.zeros(3)),
                                   use_tensorflow=False) is False
    assert "pass the function itself" in capsys.readouterr().out


def test_compared_with_tensorflow_when_available(capsys):
    pytest.importorskip("tensorflow")
    assert check_batchnorm_forward(right_bn) is True
    out = capsys.readouterr().out
    assert "also matches tf.nn.batch_normalization on all 6 cases" in out


def test_without_tensorflow_it_says_so_and_uses_helpers(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    assert check_batchnorm_forward(right_bn) is True
    out = capsys.readouterr().out
    assert "TensorFlow could not be imported" in out and "helpers.batchnorm only" in out
    assert "tf.nn.batch_normalization on all" not in out
    assert check_batchnorm_forward(bn_swapped) is False  # mistakes are still found


def test_importing_checks_does_not_import_tensorflow():
    import subprocess

    code = "import sys, helpers.checks; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- identity_gamma_beta
def right_identity(z, eps=1e-5):
    return np.sqrt(z.var(axis=0) + eps), z.mean(axis=0)


IDENTITY_MISTAKES = [
    (lambda z, eps=1e-5: (z.mean(axis=0), np.sqrt(z.var(axis=0) + eps)), "swapped"),
    (lambda z, eps=1e-5: (np.sqrt(z.var(axis=0)), z.mean(axis=0)), "eps is missing from gamma"),
    (lambda z, eps=1e-5: (z.var(axis=0) + eps, z.mean(axis=0)), "not the variance"),
    (lambda z, eps=1e-5: (np.sqrt(z.var(axis=0, ddof=1) + eps), z.mean(axis=0)), "ddof=1"),
    (lambda z, eps=1e-5: (np.sqrt(z.var(axis=0) + 1e-5), z.mean(axis=0)), "eps was not taken"),
    (lambda z, eps=1e-5: (np.sqrt(z.var(axis=1) + eps), z.mean(axis=1)), "gamma has shape"),
    (lambda z, eps=1e-5: np.sqrt(z.var(axis=0) + eps), "expected a tuple of 2"),
    (lambda z, eps=1e-5: 1 / 0, "raised ZeroDivisionError"),
]


def test_identity_right_function_passes(capsys):
    assert check_identity_gamma_beta(right_identity) is True
    assert "All 3 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", IDENTITY_MISTAKES, ids=[h for _, h in IDENTITY_MISTAKES])
def test_identity_mistakes(fn, hint, capsys):
    assert check_identity_gamma_beta(fn) is False
    assert hint in capsys.readouterr().out


# ----------------------------------------------------------------------------- numerical_gradient
def centred(f, b, h=1e-5):
    grad = np.zeros_like(b)
    for j in range(b.size):
        e = np.zeros_like(b)
        e[j] = h
        grad[j] = (f(b + e) - f(b - e)) / (2 * h)
    return grad


def forward_difference(f, b, h=1e-5):
    grad = np.zeros_like(b)
    for j in range(b.size):
        e = np.zeros_like(b)
        e[j] = h
        grad[j] = (f(b + e) - f(b)) / h
    return grad


def divides_by_h(f, b, h=1e-5):
    return 2 * centred(f, b, h)


def all_entries_at_once(f, b, h=1e-5):
    return np.full_like(b, (f(b + h) - f(b - h)) / (2 * h))


def sign_flipped(f, b, h=1e-5):
    return -centred(f, b, h)


def nudges_b_in_place(f, b, h=1e-5):
    grad = np.zeros_like(b)
    for j in range(b.size):
        b[j] += h
        plus = f(b)
        b[j] -= 2 * h
        minus = f(b)
        b[j] += h  # not exactly the old value in floating point
        grad[j] = (plus - minus) / (2 * h)
    return grad


GRADIENT_MISTAKES = [
    (forward_difference, "one-sided (forward) difference"),
    (divides_by_h, "divide by 2 h"),
    (all_entries_at_once, "nudged all entries of b at once"),
    (sign_flipped, "sign is flipped"),
    (nudges_b_in_place, "work on a copy"),
    (lambda f, b, h=1e-5: np.zeros_like(b), "Check 1 of 4 failed"),  # "db = 0" hard-coded
    (lambda f, b, h=1e-5: centred(f, b, h)[:-1], "has shape"),
]


def test_gradient_right_function_passes(capsys):
    assert check_numerical_gradient(centred) is True
    assert "All 4 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", GRADIENT_MISTAKES, ids=[h for _, h in GRADIENT_MISTAKES])
def test_gradient_mistakes(fn, hint, capsys):
    assert check_numerical_gradient(fn) is False
    assert hint in capsys.readouterr().out


def test_gradient_cases_include_the_batchnorm_bias_whose_gradient_is_zero(capsys):
    def right_except_batchnorm(f, b, h=1e-5):
        grad = centred(f, b, h)
        return grad if np.abs(grad).max() > 1e-6 else grad + 1.0  # wrong only when db = 0

    assert check_numerical_gradient(right_except_batchnorm) is False
    assert "Check 4 of 4 failed" in capsys.readouterr().out
