"""helpers/checks/folding.py: check_fold_batchnorm passes right answers written in different
styles, fails each usual mistake with its own hint, and never raises.

Every student function is written out here as a student would write it; the tests assert the
returned bool and the printed hint.
"""

import numpy as np
import pytest

from helpers.checks.folding import FOLD_BATCHNORM, check_fold_batchnorm


def _b(b, n):
    return np.zeros(n) if b is None else b


def right(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma / np.sqrt(running_var + eps)
    return W * scale, (_b(b, W.shape[-1]) - running_mean) * scale + beta


def right_loops(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    W_f, b_f = np.array(W, dtype=float), np.zeros(W.shape[-1])
    for j in range(W.shape[-1]):
        s = gamma[j] / (running_var[j] + eps) ** 0.5
        W_f[..., j] = W[..., j] * s
        b_f[j] = beta[j] + s * ((0.0 if b is None else b[j]) - running_mean[j])
    return W_f, b_f


def mistake(kind):
    def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        b = _b(b, W.shape[-1])
        std = {"eps outside": np.sqrt(running_var) + eps, "variance": running_var + eps,
               "no eps": np.sqrt(running_var)}.get(kind, np.sqrt(running_var + eps))
        s = (1.0 if kind == "no gamma" else gamma) / std
        W_f = {"rows": W * s[:, None] if W.ndim == 2 and W.shape[0] == W.shape[1] else W * s,
               "W unchanged": W}.get(kind, W * s)
        b_f = {"no b": -running_mean * s + beta, "b unscaled": b - running_mean * s + beta,
               "no mean": b * s + beta, "no beta": (b - running_mean) * s}.get(
            kind, (b - running_mean) * s + beta)
        return (b_f, W_f) if kind == "swapped" else (W_f, b_f)
    return fold


@pytest.mark.parametrize("fn", [right, right_loops])
def test_right_answers_pass(fn, capsys):
    assert check_fold_batchnorm(fn)
    assert f"All {len(FOLD_BATCHNORM.cases())} checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("kind, words", [
    ("eps outside", "eps is outside the square root"),
    ("variance", "divided by the variance"),
    ("no eps", "eps is missing"),
    ("no gamma", "gamma is missing"),
    ("rows", "ROWS"),
    ("W unchanged", "W_folded is W unchanged"),
    ("no b", "leaves out the layer's own bias"),
    ("b unscaled", "was not multiplied by the scale"),
    ("no mean", "does not subtract the running mean"),
    ("no beta", "is missing from b_folded"),
    ("swapped", "in that order"),
])
def test_each_mistake_fails_with_its_hint(kind, words, capsys):
    assert not check_fold_batchnorm(mistake(kind))
    out = capsys.readouterr().out
    assert "failed" in out and words in out, out


def test_a_none_bias_crash_gets_the_none_hint(capsys):
    def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        s = gamma / np.sqrt(running_var + eps)
        return W * s, (b - running_mean) * s + beta          # b may be None

    assert not check_fold_batchnorm(fold)
    assert "b may be None" in capsys.readouterr().out


def test_per_input_scaling_of_a_non_square_w_gets_the_shape_hint(capsys):
    def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        s = gamma / np.sqrt(running_var + eps)
        return W * s[:, None], (_b(b, len(s)) - running_mean) * s + beta

    assert not check_fold_batchnorm(fold)
    assert "OUTPUT unit" in capsys.readouterr().out


@pytest.mark.parametrize("fn", [
    lambda *a, **k: None,
    lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()),
    lambda *a, **k: 1 / 0,
    lambda W, *a, **k: (W, np.full(W.shape[-1], np.nan)),
    lambda W, *a, **k: W,
    "not a function",
])
def test_broken_functions_get_feedback_not_a_crash(fn, capsys):
    assert check_fold_batchnorm(fn) is False
    assert capsys.readouterr().out.strip()


def test_the_course_reference_is_refused(capsys):
    from helpers.folding import fold_batchnorm

    assert not check_fold_batchnorm(fold_batchnorm)
    assert "reference" in capsys.readouterr().out


def test_the_checker_is_exported_from_helpers_checks():
    import helpers.checks

    assert helpers.checks.check_fold_batchnorm is check_fold_batchnorm
    assert "check_fold_batchnorm" in helpers.checks.__all__
