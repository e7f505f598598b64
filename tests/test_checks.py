"""helpers.checks.check_normalize_inputs: passes the reference, catches each common mistake
with its own hint, and never raises whatever the student's function does."""

import numpy as np
import pytest

from helpers.checks import check_normalize_inputs
from helpers.data import normalize_inputs


def from_stats(mean, std, test_stats=None):
    """Build a normalize_inputs variant from functions computing mu and sigma of a set."""

    def normalize(X_train, X_test=None, eps=1e-8):
        mu, sigma = mean(X_train), std(X_train, eps)
        if X_test is None:
            return (X_train - mu) / sigma, None, mu, sigma
        t_mu, t_sigma = (mu, sigma) if test_stats is None else test_stats(X_test, eps)
        return (X_train - mu) / sigma, (X_test - t_mu) / t_sigma, mu, sigma

    return normalize


def mean0(X):
    return X.mean(axis=0)


def std0(X, eps):
    return np.sqrt(X.var(axis=0) + eps)


MISTAKES = {
    "test set with its own statistics": (
        from_stats(mean0, std0, test_stats=lambda X, eps: (mean0(X), std0(X, eps))),
        "TRAINING set's mu and sigma"),
    "unbiased variance": (
        from_stats(mean0, lambda X, eps: np.sqrt(X.var(axis=0, ddof=1) + eps)), "ddof=1"),
    "statistics per example": (
        from_stats(lambda X: X.mean(axis=1, keepdims=True),
                   lambda X, eps: np.sqrt(X.var(axis=1, keepdims=True) + eps)), "axis=0"),
    "mean not subtracted": (
        lambda X_train, X_test=None, eps=1e-8: (
            X_train / std0(X_train, eps), None if X_test is None else X_test / std0(X_train, eps),
            mean0(X_train), std0(X_train, eps)), "mean was not subtracted"),
    "not divided by std": (
        from_stats(mean0, lambda X, eps: 1.0), "did not divide by the standard deviation"),
    "eps missing": (from_stats(mean0, lambda X, eps: np.sqrt(X.var(axis=0))), "eps is missing"),
    "eps outside the sqrt": (
        from_stats(mean0, lambda X, eps: np.sqrt(X.var(axis=0)) + eps), "outside the square root"),
    "divided by the variance": (
        from_stats(mean0, lambda X, eps: X.var(axis=0) + eps), "divided by the variance"),
    "eps argument ignored": (
        from_stats(mean0, lambda X, eps: np.sqrt(X.var(axis=0) + 1e-8)), "eps your function receives"),
}


def test_reference_passes(capsys):
    def student_copy(X_train, X_test=None, eps=1e-8):  # the reference, as a student writes it
        return normalize_inputs(X_train, X_test, eps)

    assert check_normalize_inputs(student_copy) is True
    out = capsys.readouterr().out
    assert "All 6 checks passed." in out


def test_importing_the_reference_does_not_pass(capsys):
    # The one-line cheat `from helpers.data import normalize_inputs` gets 0 points.
    assert check_normalize_inputs(normalize_inputs) is False
    assert "reference implementation, not your code" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_fails_with_its_hint(capsys, mistake):
    fn, hint = MISTAKES[mistake]
    assert check_normalize_inputs(fn) is False
    out = capsys.readouterr().out
    assert "failed" in out and hint in out


def test_eps_missing_without_a_constant_feature_is_named(capsys):
    # Scales down to 1e-3 (variance 1e-6) are enough to see a missing eps.
    def no_eps(X_train, X_test=None, eps=1e-8):
        var = X_train.var(axis=0)
        sigma = np.sqrt(np.where(var > 0, var, eps))  # dodges the NaN, still no eps
        mu = X_train.mean(axis=0)
        return (X_train - mu) / sigma, None if X_test is None else (X_test - mu) / sigma, mu, sigma

    assert check_normalize_inputs(no_eps) is False
    assert "eps is missing" in capsys.readouterr().out


def test_mutating_the_inputs_fails(capsys):
    def in_place(X_train, X_test=None, eps=1e-8):
        mu, sigma = mean0(X_train), std0(X_train, eps)
        X_train -= mu
        X_train /= sigma
        return X_train, None if X_test is None else (X_test - mu) / sigma, mu, sigma

    assert check_normalize_inputs(in_place) is False
    assert "changed its input X_train in place" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (lambda X_train, X_test=None, eps=1e-8: 1 / 0, "raised ZeroDivisionError: division by zero"),
    (lambda X_train, X_test=None, eps=1e-8: None, "forget the `return`"),
    (lambda X_train, X_test=None, eps=1e-8: normalize_inputs(X_train, X_test, eps)[0],
     "expected a tuple of 4"),
    (lambda X_train, X_test=None, eps=1e-8: tuple(
        np.nan * a if isinstance(a, np.ndarray) else a for a in normalize_inputs(X_train, X_test, eps)),
     "contains NaN"),
    (lambda X_train, X_test=None, eps=1e-8: (normalize_inputs(X_train, X_test, eps)[0].T,)
     + normalize_inputs(X_train, X_test, eps)[1:], "has shape"),
    (lambda X_train, X_test=None, eps=1e-8: (normalize_inputs(X_train, X_test, eps)[0].tolist(),)
     + normalize_inputs(X_train, X_test, eps)[1:], "expected a NumPy array"),
    (lambda X_train, X_test=None, eps=1e-8: normalize_inputs(X_train, X_test, eps)[:2]
     + (X_train.mean(axis=0, keepdims=True), normalize_inputs(X_train, X_test, eps)[3]),
     "keepdims"),
    (lambda X_train, X_test=None: normalize_inputs(X_train, X_test), "unexpected keyword argument"),
    (lambda X_train, X_test=None, eps=1e-8: normalize_inputs(X_train, X_train, eps),
     "X_test was None"),
])
def test_broken_functions_fail_without_raising(capsys, fn, words):
    assert check_normalize_inputs(fn) is False
    assert words in capsys.readouterr().out


def test_hard_coded_answers_do_not_pass(capsys):
    # Record the right answers of one call, then replay them whatever the input.
    recorded = []

    def spy(X_train, X_test=None, eps=1e-8):
        recorded.append(normalize_inputs(X_train, X_test, eps))
        return recorded[0]

    assert check_normalize_inputs(spy) is False
    assert "Check 2 of 6 failed" in capsys.readouterr().out


def test_not_a_function(capsys):
    assert check_normalize_inputs(np.zeros(3)) is False
    assert "pass the function itself" in capsys.readouterr().out
