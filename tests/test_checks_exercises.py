"""helpers/checks/exercises.py: each exercise's checker passes a right answer, fails each common
mistake with its own hint, and never raises, whatever the student's function does.

Every student function here is written out independently, as a student would write it (the right
formula and each mistake), and the tests assert both the returned bool and the printed hint.
One section per exercise, in the order of the notebooks (01 normalize_inputs ... 08 layer_norm).
"""


import numpy as np
import pytest

from helpers.checks import (
    check_batch_norm,
    check_batchnorm_backward,
    check_batchnorm_inference,
    check_identity_gamma_beta,
    check_layer_norm,
    check_normalize_inputs,
    check_numerical_gradient,
    check_range_width,
    check_track_running_stats,
)
from helpers.data import normalize_inputs
from helpers.normalization import layernorm_forward
from helpers.probes import trainable_width


# ----------------------------------------------------------------------------- 01 normalize_inputs
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


NORMALIZE_MISTAKES = {
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


def test_normalize_reference_passes(capsys):
    def student_copy(X_train, X_test=None, eps=1e-8):  # the reference, as a student writes it
        return normalize_inputs(X_train, X_test, eps)

    assert check_normalize_inputs(student_copy) is True
    out = capsys.readouterr().out
    assert "All 7 checks passed." in out


def test_normalize_importing_the_reference_does_not_pass(capsys):
    # The one-line cheat `from helpers.data import normalize_inputs` gets 0 points.
    assert check_normalize_inputs(normalize_inputs) is False
    assert "reference implementation, not your code" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", list(NORMALIZE_MISTAKES))
def test_normalize_each_mistake_fails_with_its_hint(capsys, mistake):
    fn, hint = NORMALIZE_MISTAKES[mistake]
    assert check_normalize_inputs(fn) is False
    out = capsys.readouterr().out
    assert "failed" in out and hint in out


def test_normalize_eps_missing_without_a_constant_feature_is_named(capsys):
    # Scales down to 1e-3 (variance 1e-6) are enough to see a missing eps.
    def no_eps(X_train, X_test=None, eps=1e-8):
        var = X_train.var(axis=0)
        sigma = np.sqrt(np.where(var > 0, var, eps))  # dodges the NaN, still no eps
        mu = X_train.mean(axis=0)
        return (X_train - mu) / sigma, None if X_test is None else (X_test - mu) / sigma, mu, sigma

    assert check_normalize_inputs(no_eps) is False
    assert "eps is missing" in capsys.readouterr().out


def test_normalize_mutating_the_inputs_fails(capsys):
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
def test_normalize_broken_functions_fail_without_raising(capsys, fn, words):
    assert check_normalize_inputs(fn) is False
    assert words in capsys.readouterr().out


def test_normalize_hard_coded_answers_do_not_pass(capsys):
    # Record the right answers of one call, then replay them whatever the input.
    recorded = []

    def spy(X_train, X_test=None, eps=1e-8):
        recorded.append(normalize_inputs(X_train, X_test, eps))
        return recorded[0]

    assert check_normalize_inputs(spy) is False
    assert "Check 2 of 7 failed" in capsys.readouterr().out


def test_normalize_not_a_function(capsys):
    assert check_normalize_inputs(np.zeros(3)) is False
    assert "pass the function itself" in capsys.readouterr().out


# ----------------------------------------------------------------------------- 02 batch_norm
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


BATCH_NORM_MISTAKES = [
    (bn_unbiased_variance, "unbiased variance (ddof=1"),
    (bn_eps_outside_sqrt, "eps is outside the square root"),
    (bn_eps_missing, "eps is missing"),
    (bn_eps_hard_coded, "eps was fixed at 1e-05"),
    (bn_wrong_axis, "wrong axis"),
    (bn_wrong_axis_no_keepdims, "mu and var are per unit"),
    (bn_swapped, "gamma and beta are swapped"),
    (bn_returns_z_norm, "You returned z_norm"),
]


def test_batch_norm_right_function_passes(capsys):
    assert check_batch_norm(right_bn, use_tensorflow=False) is True
    assert "All 8 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", BATCH_NORM_MISTAKES,
                         ids=[f.__name__ for f, _ in BATCH_NORM_MISTAKES])
def test_batch_norm_each_common_mistake_gets_its_hint(fn, hint, capsys):
    assert check_batch_norm(fn, use_tensorflow=False) is False
    out = capsys.readouterr().out
    assert "failed" in out and hint in out


def test_batch_norm_eps_missing_on_a_constant_unit_is_reported_as_nan(capsys):
    def eps_missing_after_passing_early_cases(z, gamma, beta, eps=1e-5):
        # Right on non-constant units, eps missing only where the variance is 0.
        var = z.var(axis=0)
        return gamma * (z - z.mean(axis=0)) / np.sqrt(np.where(var == 0, 0.0, var + eps)) + beta

    with np.errstate(invalid="ignore"):
        assert check_batch_norm(eps_missing_after_passing_early_cases,
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


BATCH_NORM_BROKEN = [
    (raises, "Your function raised RuntimeError: not written yet"),
    (returns_none, "returned None"),
    (wrong_shape, "has shape (3, 4), expected (4, 3)"),
    (all_nan, "contains NaN"),
    (returns_tuple, "expected the array z_tilde alone"),
    (modifies_input, "changed its input z in place"),
    (hard_coded_visible_case, "Check 2 of 8 failed"),
    (lambda z, gamma, beta, eps=1e-5: "z_tilde", "is a str"),
]


@pytest.mark.parametrize("fn, message", BATCH_NORM_BROKEN,
                         ids=[m for _, m in BATCH_NORM_BROKEN])
def test_batch_norm_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batch_norm(fn, use_tensorflow=False) is False
    assert message in capsys.readouterr().out


def test_batch_norm_hard_coded_output_passes_only_the_visible_case(capsys):
    check_batch_norm(hard_coded_visible_case, use_tensorflow=False)
    out = capsys.readouterr().out
    assert "Check 1 of 8" not in out and "Check 2 of 8 failed" in out


def test_batch_norm_not_a_function(capsys):
    assert check_batch_norm(right_bn(VISIBLE, np.ones(3), np.zeros(3)),
                                   use_tensorflow=False) is False
    assert "pass the function itself" in capsys.readouterr().out


def test_batch_norm_compared_with_tensorflow_when_available(capsys):
    pytest.importorskip("tensorflow")
    assert check_batch_norm(right_bn, use_tensorflow=True) is True
    out = capsys.readouterr().out
    assert "also matches tf.nn.batch_normalization on all 8 cases" in out


def test_batch_norm_without_tensorflow_it_says_so_and_uses_helpers(monkeypatch, capsys):
    from helpers import tf_reference

    def no_tensorflow(fn, *args, **kwargs):  # the separate process finds no TensorFlow
        raise tf_reference.TensorFlowUnavailable("TensorFlow is not installed.")

    monkeypatch.setattr(tf_reference, "in_separate_process", no_tensorflow)
    assert check_batch_norm(right_bn, use_tensorflow=True) is True
    out = capsys.readouterr().out
    assert "TensorFlow could not be imported" in out and "helpers.batchnorm only" in out
    assert "tf.nn.batch_normalization on all" not in out
    assert check_batch_norm(bn_swapped, use_tensorflow=True) is False  # mistakes still found


# ----------------------------------------------------------------------------- 03 identity_gamma_beta
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


# ----------------------------------------------------------------------------- 03 numerical_gradient
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


# ----------------------------------------------------------------------------- 04 batchnorm_backward
def _parts(cache):
    return cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]


def backward_staged(dz_tilde, cache):
    """The right answer, written the long way: through dvar and dmu, from mu and var."""
    z_norm, gamma, inv_std, m = _parts(cache)
    dbeta = dz_tilde.sum(axis=0)
    dgamma = (dz_tilde * z_norm).sum(axis=0)
    dz_norm = dz_tilde * gamma
    z_centered = z_norm / inv_std
    dvar = np.sum(dz_norm * z_centered, axis=0) * -0.5 * inv_std**3
    dmu = -np.sum(dz_norm * inv_std, axis=0)
    dz = dz_norm * inv_std + dvar * 2 * z_centered / m + dmu / m
    return dz, dgamma, dbeta


def backward_no_mean_branch(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - z_norm * (dz_norm * z_norm).sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_no_var_branch(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_steps(dz_tilde, cache, step3=True, step1=True):
    """Notebook 04's staged derivation (steps 6 to 1), with step 3 or step 1 forgotten."""
    z_norm, gamma, inv_std, m = _parts(cache)
    centered = z_norm / inv_std
    dbeta, dgamma, dz_norm = dz_tilde.sum(axis=0), (dz_tilde * z_norm).sum(axis=0), gamma * dz_tilde
    dinv_std = (dz_norm * centered).sum(axis=0, keepdims=True)
    dcentered = dz_norm * inv_std
    dvar = -0.5 * inv_std**3 * dinv_std
    if step3:
        dcentered = dcentered + 2.0 * centered / m * dvar
    dmu = -dcentered.sum(axis=0, keepdims=True)
    dz = dcentered + (dmu / m if step1 else 0.0)
    return dz, dgamma, dbeta


def backward_without_step1(dz_tilde, cache):
    return backward_steps(dz_tilde, cache, step1=False)


def backward_without_step3(dz_tilde, cache):
    return backward_steps(dz_tilde, cache, step3=False)


def backward_direct_path_only(dz_tilde, cache):
    return backward_steps(dz_tilde, cache, step1=False, step3=False)


def backward_wrong_axis(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=1, keepdims=True)
                        - z_norm * (dz_norm * z_norm).sum(axis=1, keepdims=True))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_params_wrong_axis(dz_tilde, cache):
    dz, _, _ = backward_staged(dz_tilde, cache)
    return dz, (dz_tilde * cache["z_norm"]).sum(axis=1), dz_tilde.sum(axis=1)


def backward_swapped(dz_tilde, cache):
    dz, dgamma, dbeta = backward_staged(dz_tilde, cache)
    return dz, dbeta, dgamma


def backward_no_gamma(dz_tilde, cache):
    z_norm, _, inv_std, m = _parts(cache)
    dz = inv_std / m * (m * dz_tilde - dz_tilde.sum(axis=0)
                        - z_norm * (dz_tilde * z_norm).sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def test_backward_right_answer_passes_with_gradcheck_report(capsys):
    assert check_batchnorm_backward(backward_staged) is True
    out = capsys.readouterr().out
    assert "All 4 checks passed." in out
    assert "relative error against the numerical gradient" in out and "below 1e-8" in out


# Pieces of the compact formula, revealed only after the exercise: no hint may print them.
COMPACT_FORMULA = ("inv_std / m", "m * dz_norm", "sum(dz_norm * z_norm)", "/ sqrt(var + eps)")


@pytest.mark.parametrize("fn, hint", [
    (backward_no_mean_branch, "path through mu is missing: dz lacks the contribution of dmu"),
    (backward_without_step1, "path through mu is missing: dz lacks the contribution of dmu"),
    (backward_no_var_branch, "path through var is missing: dcentered lacks the term from dvar"),
    (backward_without_step3, "path through var is missing: dcentered lacks the term from dvar"),
    (backward_direct_path_only, "paths through mu and through var are both missing"),
])
def test_backward_missing_paths_are_located_without_the_formula(fn, hint, capsys):
    assert check_batchnorm_backward(fn) is False
    out = capsys.readouterr().out
    assert hint in out, out
    assert not [piece for piece in COMPACT_FORMULA if piece in out], out


def test_backward_staged_steps_pass(capsys):
    assert check_batchnorm_backward(backward_steps) is True, capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", [
    (backward_wrong_axis, "wrong axis"),
    (backward_params_wrong_axis, "reduce over the batch, axis=0"),
    (backward_swapped, "dgamma and dbeta are swapped"),
    (backward_no_gamma, "gamma is missing from dz"),
])
def test_backward_mistakes_get_their_hint(fn, hint, capsys):
    assert check_batchnorm_backward(fn) is False
    assert hint in capsys.readouterr().out


def backward_raises(dz_tilde, cache):
    raise KeyError("x_hat")


@pytest.mark.parametrize("fn, message", [
    (backward_raises, "raised KeyError"),
    (lambda d, c: None, "returned None"),
    (lambda d, c: (d[:1], d.sum(axis=0), d.sum(axis=0)), "dz has shape"),
    (lambda d, c: (d * np.nan, d.sum(axis=0), d.sum(axis=0)), "contains NaN"),
    (lambda d, c: np.zeros_like(d), "expected a tuple of 3"),
    (lambda d, c: (np.zeros_like(d), np.zeros(d.shape[1]), np.zeros(d.shape[1])),
     "gradient check failed"),
    ("not a function", "pass the function itself"),
])
def test_backward_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batchnorm_backward(fn) is False
    assert message in capsys.readouterr().out


def test_backward_student_cannot_spoil_the_cache_for_later_cases(capsys):
    def mutating(dz_tilde, cache):
        result = backward_staged(dz_tilde, cache)
        cache["z_norm"][:] = 0.0  # vandalism: later cases must still be checked on fresh data
        return result

    assert check_batchnorm_backward(mutating) is True


# ----------------------------------------------------------------------------- 05 track_running_stats
def running_right(running_mean, running_var, z, momentum=0.9):
    mu = z.sum(axis=0) / z.shape[0]
    var = ((z - mu) ** 2).sum(axis=0) / z.shape[0]
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var


def running_pytorch(running_mean, running_var, z, momentum=0.9):
    return ((1 - momentum) * running_mean + momentum * z.mean(axis=0),
            (1 - momentum) * running_var + momentum * z.var(axis=0))


def running_unbiased(running_mean, running_var, z, momentum=0.9):
    return (momentum * running_mean + (1 - momentum) * z.mean(axis=0),
            momentum * running_var + (1 - momentum) * z.var(axis=0, ddof=1))


def running_fixed_momentum(running_mean, running_var, z, momentum=0.9):
    return running_right(running_mean, running_var, z, 0.9)


def running_in_place(running_mean, running_var, z, momentum=0.9):
    new_mean, new_var = running_right(running_mean, running_var, z, momentum)
    running_mean[:] = new_mean
    running_var[:] = new_var
    return running_mean, running_var


def test_running_right_answer_passes(capsys):
    assert check_track_running_stats(running_right) is True
    assert "All 5 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", [
    (running_pytorch, "momentum is reversed"),
    (running_unbiased, "unbiased variance"),
    (running_fixed_momentum, "momentum was fixed at 0.9"),
    (running_in_place, "changed its input running_mean in place"),
    (lambda rm, rv, z, momentum=0.9: (z.mean(axis=0), z.var(axis=0)), "batch statistics alone"),
    (lambda rm, rv, z, momentum=0.9: running_right(rm, rv, z, momentum)[::-1], "swapped"),
    (lambda rm, rv, z, momentum=0.9: (z.mean(axis=1), z.var(axis=1)), "axis=0"),
])
def test_running_mistakes_get_their_hint(fn, hint, capsys):
    assert check_track_running_stats(fn) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda *a, **k: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a, **k: None, "returned None"),
    (lambda rm, rv, z, momentum=0.9: (rm[:1], rv), "has shape"),
    (lambda rm, rv, z, momentum=0.9: (rm * np.nan, rv), "contains NaN"),
])
def test_running_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_track_running_stats(fn) is False
    assert message in capsys.readouterr().out


# ----------------------------------------------------------------------------- 05 batchnorm_inference
def inference_right(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta


def inference_batch_stats(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta


def inference_eps_outside(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - running_mean) / (np.sqrt(running_var) + eps) + beta


def test_inference_right_answer_passes(capsys):
    assert check_batchnorm_inference(inference_right) is True
    assert "All 3 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", [
    (inference_batch_stats, "batch's own mean and variance"),
    (inference_eps_outside, "eps is outside the square root"),
    (lambda z, g, b, rm, rv, eps=1e-5: b * (z - rm) / np.sqrt(rv + eps) + g, "swapped"),
    (lambda z, g, b, rm, rv, eps=1e-5: (z - rm) / np.sqrt(rv + eps), "returned z_norm"),
])
def test_inference_mistakes_get_their_hint(fn, hint, capsys):
    assert check_batchnorm_inference(fn) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda *a, **k: {}["z"], "raised KeyError"),
    (lambda *a, **k: None, "returned None"),
    (lambda z, *a, **k: z[:, :1], "has shape"),
    (lambda z, *a, **k: z * np.nan, "contains NaN"),
])
def test_inference_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batchnorm_inference(fn) is False
    assert message in capsys.readouterr().out


# ----------------------------------------------------------------------------- 06 range_width
def _width(grid, accuracies, target):  # written here from the exercise text, as a student would
    good = grid[accuracies >= target]
    return float(np.log10(good.max()) - np.log10(good.min())) if len(good) else 0.0


def _natural_log(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log(good.max()) - np.log(good.min())) if len(good) else 0.0


def _strict(grid, accuracies, target):
    good = grid[accuracies > target]
    return float(np.log10(good.max()) - np.log10(good.min())) if len(good) else 0.0


def _count(grid, accuracies, target):
    return float(np.sum(accuracies >= target))


def _first_last(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log10(good[-1]) - np.log10(good[0])) if len(good) else 0.0


def _no_empty_case(grid, accuracies, target):
    good = grid[accuracies >= target]
    return float(np.log10(good.max()) - np.log10(good.min()))


@pytest.mark.parametrize(
    "fn, words",
    [
        (_natural_log, "np.log10"),
        (_strict, ">= target"),
        (_count, "number of grid values"),
        (_first_last, "max and min"),
        (_no_empty_case, "ValueError"),
        (lambda grid, accuracies, target: None, "expected one number"),
        (lambda grid, accuracies, target: float("nan"), "0.0"),
        (lambda grid, accuracies, target: 1 / 0, "ZeroDivisionError"),
        (trainable_width, "reference implementation"),  # importing the answer does not pass
    ],
)
def test_range_width_checker_catches_mistakes(fn, words, capsys):
    assert check_range_width(fn) is False
    assert words in capsys.readouterr().out


def test_range_width_checker_passes_a_correct_function(capsys):
    assert check_range_width(_width) is True
    assert "All 7 checks passed." in capsys.readouterr().out


# ----------------------------------------------------------------------------- 08 layer_norm
def ln_right(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=1, keepdims=True)
    var = z.var(axis=1, keepdims=True)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def ln_batch_axis(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta


def ln_unbiased(z, gamma, beta, eps=1e-5):
    mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, ddof=1, keepdims=True)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def ln_eps_outside(z, gamma, beta, eps=1e-5):
    mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
    return gamma * (z - mu) / (np.sqrt(var) + eps) + beta


def ln_swapped(z, gamma, beta, eps=1e-5):
    return ln_right(z, beta, gamma, eps)


def ln_no_keepdims_square_only(z, gamma, beta, eps=1e-5):
    # Passes the broadcast only when m == n: then mu (m,) is subtracted along the wrong axis.
    if z.shape[0] != z.shape[1]:
        return ln_right(z, gamma, beta, eps)
    return gamma * (z - z.mean(axis=1)) / np.sqrt(z.var(axis=1) + eps) + beta


def ln_fixed_eps(z, gamma, beta, eps=1e-5):
    return ln_right(z, gamma, beta, 1e-5)


def ln_in_place(z, gamma, beta, eps=1e-5):
    z -= z.mean(axis=1, keepdims=True)
    return gamma * z / np.sqrt(z.var(axis=1, keepdims=True) + eps) + beta


def run_layer_norm(fn, capsys):
    passed = check_layer_norm(fn)
    return passed, capsys.readouterr().out


def test_layer_norm_passes_the_solution_and_the_helper(capsys):
    passed, out = run_layer_norm(ln_right, capsys)
    assert passed and "All 7 checks passed." in out
    passed, out = run_layer_norm(lambda z, g, b, eps=1e-5: layernorm_forward(z, g, b, eps)[0], capsys)
    assert passed, out


@pytest.mark.parametrize("fn, words", [
    (ln_batch_axis, "that is batch norm"),
    (ln_unbiased, "unbiased variance"),
    (ln_eps_outside, "eps is outside the square root"),
    (ln_swapped, "gamma and beta are swapped"),
    (ln_no_keepdims_square_only, "keepdims=True"),
    (ln_fixed_eps, "eps was fixed at 1e-05"),
    (ln_in_place, "changed its input z in place"),
    (lambda z, g, b, eps=1e-5: (z - z.mean(axis=1, keepdims=True))
     / np.sqrt(z.var(axis=1, keepdims=True) + eps), "You returned z_norm"),
    (lambda z, g, b, eps=1e-5: g * (z - z.mean(1)) / np.sqrt(z.var(1) + eps) + b, "keepdims=True"),
    (lambda z, g, b, eps=1e-5: ln_right(z, g, b, eps)[:, :-1], "has shape"),
    (lambda z, g, b, eps=1e-5: None, "returned None"),
    (lambda z, g, b, eps=1e-5: (ln_right(z, g, b, eps), None), "expected the array z_tilde alone"),
    (lambda z, g, b, eps=1e-5: 1 / 0, "ZeroDivisionError"),
    (lambda z, g, b: ln_right(z, g, b), "Keep the function signature"),
    (lambda z, g, b, eps=1e-5: g * (z - z.mean(1, keepdims=True)) / np.sqrt(
        z.var(1, keepdims=True)) + b, "eps is missing"),
])
def test_layer_norm_names_each_mistake_and_never_raises(fn, words, capsys):
    with np.errstate(all="ignore"):
        passed, out = run_layer_norm(fn, capsys)
    assert not passed
    assert words in out, out
    assert "Hint" in out


def test_layer_norm_rejects_a_non_function(capsys):
    passed, out = run_layer_norm(3, capsys)
    assert not passed and "pass the function itself" in out
