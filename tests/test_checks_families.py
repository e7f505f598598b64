"""Feedback that names the bug: each family of mistakes gets its own hint (issue 13).

Every wrong answer here is written out in plain NumPy, as a student would write it, and the test
asserts on the key words of the hint it gets; right answers written in other styles pass. One
section per family, in the order of the issue's list. (The new exercises' own mistakes are in
test_checks_population.py, test_checks_reestimate.py and test_checks_backward.py; the Keras
port's in test_checks_keras_port.py.)
"""

import sys
import warnings

import numpy as np
import pytest

from helpers.checks import (
    check_batch_norm,
    check_batchnorm_backward,
    check_identity_gamma_beta,
    check_layer_norm,
    check_normalize_inputs,
    check_track_running_stats,
)


def out_of(check, fn, capsys, **kwargs):
    """(passed, stdout) of one check; nothing may reach stderr."""
    passed = check(fn, **kwargs)
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    return passed, captured.out


def batch_norm_quietly(fn):
    return check_batch_norm(fn, use_tensorflow=False)


# ----------------------------------------------------------------------------- no axis
def bn_no_axis(z, gamma, beta, eps=1e-5):
    return gamma * (z - np.mean(z)) / np.sqrt(np.var(z) + eps) + beta


def ln_no_axis(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean()) / np.sqrt(z.var() + eps) + beta


def ni_no_axis(X_train, X_test=None, eps=1e-8):
    mu, sigma = X_train.mean(), np.sqrt(X_train.var() + eps)
    return (X_train - mu) / sigma, None if X_test is None else (X_test - mu) / sigma, mu, sigma


def rs_no_axis(running_mean, running_var, z, momentum=0.9):
    return (momentum * running_mean + (1 - momentum) * z.mean(),
            momentum * running_var + (1 - momentum) * z.var())


@pytest.mark.parametrize("check, fn, words", [
    (batch_norm_quietly, bn_no_axis, "per unit, over the batch: pass axis=0"),
    (check_layer_norm, ln_no_axis, "per example, over its units: pass axis=1, keepdims=True"),
    (check_normalize_inputs, ni_no_axis, "per feature, over the training examples: pass axis=0"),
    (check_track_running_stats, rs_no_axis, "average z over the batch, axis=0"),
])
def test_statistics_without_an_axis_are_named(check, fn, words, capsys):
    passed, out = out_of(check, fn, capsys)
    assert passed is False
    assert "no axis" in out and words in out, out


# ----------------------------------------------------------------------------- 01 §5's pitfall
def ni_train_and_test_together(X_train, X_test=None, eps=1e-8):
    X_all = X_train if X_test is None else np.concatenate([X_train, X_test])
    mu = X_all.mean(axis=0)
    sigma = np.sqrt(X_all.var(axis=0) + eps)
    X_test_norm = None if X_test is None else (X_test - mu) / sigma
    return (X_train - mu) / sigma, X_test_norm, mu, sigma


def test_train_plus_test_statistics_are_named_without_the_formula_used(capsys):
    passed, out = out_of(check_normalize_inputs, ni_train_and_test_together, capsys)
    assert passed is False
    assert "X_train and X_test together" in out and "from X_train alone" in out
    assert "np.sqrt(var + eps)" not in out  # the very formula the student used is not the hint


def ni_test_wrong_only(X_train, X_test=None, eps=1e-8):
    mu, sigma = X_train.mean(axis=0), np.sqrt(X_train.var(axis=0) + eps)
    if X_test is None:
        return (X_train - mu) / sigma, None, mu, sigma
    X_test_norm = (X_test - np.median(X_test, axis=0)) / sigma  # some other test statistic
    return (X_train - mu) / sigma, X_test_norm, mu, sigma


def test_a_test_set_transformed_differently_is_located_on_the_test_set(capsys):
    passed, out = out_of(check_normalize_inputs, ni_test_wrong_only, capsys)
    assert passed is False
    assert "Your X_train_norm is right but X_test_norm is not" in out, out


# ----------------------------------------------------------------------------- min-max
def ni_min_max(X_train, X_test=None, eps=1e-8):
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    scale = high - low
    test = None if X_test is None else (X_test - low) / scale
    return (X_train - low) / scale, test, low, scale


def test_min_max_scaling_is_named(capsys):
    passed, out = out_of(check_normalize_inputs, ni_min_max, capsys)
    assert passed is False
    assert "That is min-max scaling" in out and "mean 0 and variance 1" in out


# ----------------------------------------------------------------------------- wrong order
def ni_stats_swapped(X_train, X_test=None, eps=1e-8):
    mu, sigma = X_train.mean(axis=0), np.sqrt(X_train.var(axis=0) + eps)
    return (X_train - mu) / sigma, None if X_test is None else (X_test - mu) / sigma, sigma, mu


def rs_swapped(running_mean, running_var, z, momentum=0.9):
    new_mean = momentum * running_mean + (1 - momentum) * z.mean(axis=0)
    new_var = momentum * running_var + (1 - momentum) * z.var(axis=0)
    return new_var, new_mean


def identity_swapped(z, eps=1e-5):
    return z.mean(axis=0), np.sqrt(z.var(axis=0) + eps)


def backward_swapped(dz_tilde, cache):
    z_norm, gamma, inv_std, m = cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=0) - z_norm * (dz_norm * z_norm).sum(0))
    return dz, dz_tilde.sum(axis=0), (dz_tilde * z_norm).sum(axis=0)


@pytest.mark.parametrize("check, fn, returned", [
    (check_normalize_inputs, ni_stats_swapped, "(X_train_norm, X_test_norm, sigma, mu)"),
    (check_track_running_stats, rs_swapped, "(running_var, running_mean)"),
    (check_identity_gamma_beta, identity_swapped, "(beta, gamma)"),
    (check_batchnorm_backward, backward_swapped, "(dz, dbeta, dgamma)"),
])
def test_outputs_in_the_wrong_order_get_a_hint_about_the_order(check, fn, returned, capsys):
    passed, out = out_of(check, fn, capsys)
    assert passed is False
    assert "right values in the wrong order: it returns the expected " + returned in out, out
    assert "differs from the expected values" not in out  # not blamed on one output
    assert "has shape" not in out


# ----------------------------------------------------------------------------- stub and None
def test_an_untouched_stub_is_told_to_replace_the_raise(capsys):
    def batch_norm(z, gamma, beta, eps=1e-5):
        # YOUR CODE HERE
        raise NotImplementedError()

    passed, out = out_of(batch_norm_quietly, batch_norm, capsys)
    assert passed is False
    assert "replace `raise NotImplementedError()` with your code" in out
    assert "traceback" not in out


def test_a_function_returning_none_is_asked_for_its_return(capsys):
    def batchnorm_backward(dz_tilde, cache):
        dbeta = dz_tilde.sum(axis=0)  # noqa: F841 (... and no return statement)

    passed, out = out_of(check_batchnorm_backward, batchnorm_backward, capsys)
    assert passed is False
    assert "returned None" in out and "forget the `return` statement" in out
    assert "NoneType" not in out


def test_one_output_left_none_is_named(capsys):
    def batchnorm_backward(dz_tilde, cache):
        dgamma = None  # not done yet
        return dz_tilde, dgamma, dz_tilde.sum(axis=0)

    passed, out = out_of(check_batchnorm_backward, batchnorm_backward, capsys)
    assert passed is False
    assert "dgamma is None" in out and "NoneType" not in out


# ----------------------------------------------------------------------------- running statistics
def rs_keepdims(running_mean, running_var, z, momentum=0.9):
    mu = z.mean(axis=0, keepdims=True)
    var = z.var(axis=0, keepdims=True)
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var


def test_keepdims_in_running_statistics_is_named(capsys):
    passed, out = out_of(check_track_running_stats, rs_keepdims, capsys)
    assert passed is False
    assert "running_mean has shape (1, 3), expected (3,)" in out and "Drop keepdims=True" in out
    assert "gamma" not in out and "beta" not in out


def rs_eps_in_variance(running_mean, running_var, z, momentum=0.9, eps=1e-5):
    mu = z.mean(axis=0)
    var = z.var(axis=0) + eps  # "the variance batch norm divides by"
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var


def test_eps_added_before_the_running_average_is_named_by_a_clear_margin(capsys):
    passed, out = out_of(check_track_running_stats, rs_eps_in_variance, capsys)
    assert passed is False
    assert "added eps to the variance before averaging it" in out
    # The case with variances of about 1e-4 shows the mistake far above round-off.
    from helpers.checks.cases import track_running_stats_cases

    case = next(c for c in track_running_stats_cases() if "tiny variances" in c.description)
    right_var = 0.5 * case.args[1] + 0.5 * case.args[2].var(axis=0)
    wrong_var = rs_eps_in_variance(*case.args, **case.kwargs)[1]
    assert np.min(np.abs(wrong_var - right_var) / right_var) > 1e-3


# ----------------------------------------------------------------------------- backward and eps
def backward_recomputing(eps_kind):
    """A backward pass that rebuilds inv_std from the cache's var, with an eps mistake."""

    def batchnorm_backward(dz_tilde, cache):
        var, m = cache["var"], cache["m"]
        if eps_kind == "missing":
            inv_std = 1 / np.sqrt(var)
        elif eps_kind == "outside":
            inv_std = 1 / (np.sqrt(var) + cache["eps"])
        else:
            inv_std = 1 / np.sqrt(var + 1e-5)  # fixed at the usual default
        z_norm = cache["z_norm"]
        dz_norm = cache["gamma"] * dz_tilde
        dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=0)
                            - z_norm * (dz_norm * z_norm).sum(axis=0))
        return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)

    return batchnorm_backward


@pytest.mark.parametrize("eps_kind, words", [
    ("missing", "normalizes without eps"),
    ("outside", "eps outside the square root"),
    ("fixed", "uses eps = 1e-05, not the eps of the forward pass"),
])
def test_a_backward_built_on_a_wrong_forward_eps_is_named(eps_kind, words, capsys):
    passed, out = out_of(check_batchnorm_backward, backward_recomputing(eps_kind), capsys)
    assert passed is False
    assert words in out and "the cache holds inv_std" in out, out


# ----------------------------------------------------------------------------- precision
def bn_moments(z, gamma, beta, eps=1e-5):
    mu = np.mean(z, axis=0)
    var = np.mean(z ** 2, axis=0) - mu ** 2
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def bn_moments_by_sums(z, gamma, beta, eps=1e-5):
    m = z.shape[0]
    total, squares = z.sum(axis=0), (z * z).sum(axis=0)
    var = squares / m - (total / m) ** 2
    return gamma * (z - total / m) / np.sqrt(var + eps) + beta


def ln_moments(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=1, keepdims=True)
    var = (z ** 2).mean(axis=1, keepdims=True) - mu ** 2
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def rs_moments(running_mean, running_var, z, momentum=0.9):
    mu = z.mean(axis=0)
    var = np.mean(z * z, axis=0) - mu * mu
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var


@pytest.mark.parametrize("check, fn", [
    (batch_norm_quietly, bn_moments), (batch_norm_quietly, bn_moments_by_sums),
    (check_layer_norm, ln_moments), (check_track_running_stats, rs_moments),
])
def test_the_variance_as_mean_of_squares_minus_squared_mean_is_named(check, fn, capsys):
    passed, out = out_of(check, fn, capsys)
    assert passed is False
    assert "far from 0" in out  # found on the large-offset case ...
    assert "E[z**2] - E[z]**2" in out and "precision" in out  # ... and named
    assert "as np.var does" in out


def bn_float32(z, gamma, beta, eps=1e-5):
    z32 = z.astype(np.float32)
    mu, var = z32.mean(axis=0), z32.var(axis=0)
    return gamma.astype(np.float32) * (z32 - mu) / np.sqrt(var + np.float32(eps)) + beta.astype(
        np.float32)


def test_a_right_formula_in_float32_is_called_a_precision_problem(capsys):
    passed, out = out_of(batch_norm_quietly, bn_float32, capsys)
    assert passed is False
    assert "Your formula looks right: the difference is round-off" in out
    assert "z_tilde is float32" in out and "Compute in float64" in out


def test_float32_rounding_hidden_behind_float64_is_still_called_precision(capsys):
    passed, out = out_of(batch_norm_quietly,
                         lambda z, g, b, eps=1e-5: bn_float32(z, g, b, eps).astype(float), capsys)
    assert passed is False
    assert "significant digits" in out and "precision problem" in out


def bn_two_pass(z, gamma, beta, eps=1e-5):
    """Right in any dtype: float32 inputs stay float32."""
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def test_right_answers_pass_on_float32_inputs_in_either_dtype(capsys):
    assert out_of(batch_norm_quietly, bn_two_pass, capsys)[0] is True

    def upcast(z, gamma, beta, eps=1e-5):
        return bn_two_pass(np.asarray(z, np.float64), gamma, beta, eps)

    assert out_of(batch_norm_quietly, upcast, capsys)[0] is True


def test_the_float32_case_catches_the_mean_of_squares_in_float32(capsys):
    def moments_in_input_dtype(z, gamma, beta, eps=1e-5):
        if z.dtype == np.float32:
            return bn_moments(z, gamma, beta, eps)
        return bn_two_pass(z, gamma, beta, eps)

    passed, out = out_of(batch_norm_quietly, moments_in_input_dtype, capsys)
    assert passed is False
    assert "Check 8 of 8 failed: float32 inputs" in out
    assert "E[z**2] - E[z]**2" in out and "precision" in out


# ----------------------------------------------------------------------------- located backward
def backward_with(mean_sign=1, var_sign=1, dbeta_fn=None, dgamma_fn=None, dz_sign=1):
    """The compact backward, with one branch's sign or one parameter gradient changed."""

    def batchnorm_backward(dz_tilde, cache):
        z_norm, gamma, inv_std, m = cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]
        dz_norm = gamma * dz_tilde
        dz = inv_std / m * (m * dz_norm - mean_sign * dz_norm.sum(axis=0)
                            - var_sign * z_norm * (dz_norm * z_norm).sum(axis=0))
        dbeta = dbeta_fn(dz_tilde, z_norm) if dbeta_fn else dz_tilde.sum(axis=0)
        dgamma = dgamma_fn(dz_tilde, z_norm) if dgamma_fn else (dz_tilde * z_norm).sum(axis=0)
        return dz_sign * dz, dgamma, dbeta

    return batchnorm_backward


@pytest.mark.parametrize("fn, words, not_words", [
    (backward_with(mean_sign=-1), "dz is wrong in the MEAN branch", "VARIANCE"),
    (backward_with(var_sign=-1), "dz is wrong in the VARIANCE branch", "MEAN"),
    (backward_with(dbeta_fn=lambda d, zn: d.mean(axis=0)), "dbeta is wrong", "dgamma is wrong"),
    (backward_with(dgamma_fn=lambda d, zn: (d * zn).mean(axis=0)), "dgamma is wrong",
     "dbeta is wrong"),
    (backward_with(dz_sign=-1), "dz has the opposite sign everywhere", "MEAN"),
])
def test_backward_errors_get_a_located_hint_not_the_formula(fn, words, not_words, capsys):
    passed, out = out_of(check_batchnorm_backward, fn, capsys)
    assert passed is False
    assert words in out and not_words not in out, out
    assert "m * dz_norm - sum(dz_norm)" not in out  # not the full formula


# ----------------------------------------------------------------------------- warnings
def test_a_right_answer_that_warns_passes_with_a_note_and_nothing_on_stderr(capsys):
    def batch_norm(z, gamma, beta, eps=1e-5):
        ratio = np.array([1.0, 0.0]) / np.array([0.0, 0.0])  # a division by zero, unused
        warnings.warn("a stray user warning", UserWarning, stacklevel=1)
        del ratio
        return bn_two_pass(z, gamma, beta, eps)

    real_stderr = sys.stderr
    passed, out = out_of(batch_norm_quietly, batch_norm, capsys)
    assert passed is True and sys.stderr is real_stderr
    assert "All 8 checks passed." in out
    assert "Note: a warning was raised while checking (it does not fail the check): " \
           "RuntimeWarning: divide by zero encountered in divide" in out
    assert "UserWarning: a stray user warning" in out


# ----------------------------------------------------------------------------- their names
def test_hints_use_the_students_parameter_names(capsys):
    def batch_norm(x, g, b, eps=1e-5):
        x -= x.mean(axis=0)
        return g * x / np.sqrt(x.var(axis=0) + eps) + b

    passed, out = out_of(batch_norm_quietly, batch_norm, capsys)
    assert passed is False and "changed its input x in place" in out


def test_hints_use_the_students_output_names(capsys):
    def batchnorm_backward(dz_tilde, cache):
        dz, dg, db = backward_with()(dz_tilde, cache)
        db = db * 2  # a wrong dbeta, returned under the student's own name
        return dz, dg, db

    passed, out = out_of(check_batchnorm_backward, batchnorm_backward, capsys)
    assert passed is False and "dbeta (your `db`)" in out, out


def test_a_float32_only_loss_of_precision_is_named_on_the_float32_case(capsys):
    def sums_in_input_dtype(z, gamma, beta, eps=1e-5):
        if z.dtype != np.float32:
            return bn_two_pass(z, gamma, beta, eps)
        mu = z.astype(np.float16).mean(axis=0).astype(np.float32)  # "saves memory"
        var = ((z - mu) ** 2).mean(axis=0)
        return gamma * (z - mu) / np.sqrt(var + eps) + beta

    passed, out = out_of(batch_norm_quietly, sums_in_input_dtype, capsys)
    assert passed is False
    assert "Check 8 of 8 failed: float32 inputs" in out
    assert "float32 keeps about 7 significant digits" in out, out
