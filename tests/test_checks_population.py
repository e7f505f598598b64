"""helpers/checks/population.py: notebook 05's population_statistics (Algorithm 2).

Right answers in several styles pass; each listed mistake, written out in NumPy as a student
would, gets its own hint; broken functions fail without raising.
"""

import numpy as np
import pytest

from helpers.checks import check_population_statistics
from helpers.checks.population import population_cases


def run(fn, capsys):
    passed = check_population_statistics(fn)
    captured = capsys.readouterr()
    assert captured.err == ""
    return passed, captured.out


def right(batch_means, batch_vars, m):
    mean = np.mean(batch_means, axis=0)
    var = m / (m - 1) * np.mean(batch_vars, axis=0)
    return mean, var


def right_with_sums(batch_means, batch_vars, m):
    k = len(batch_means)
    return batch_means.sum(axis=0) / k, batch_vars.sum(axis=0) / k * m / (m - 1)


def right_in_a_loop(batch_means, batch_vars, m):
    mean, var = np.zeros(batch_means.shape[1]), np.zeros(batch_means.shape[1])
    for mu_b, var_b in zip(batch_means, batch_vars):
        mean += mu_b / len(batch_means)
        var += var_b / len(batch_means)
    return mean, var * m / (m - 1)


@pytest.mark.parametrize("fn", [right, right_with_sums, right_in_a_loop])
def test_right_answers_pass(fn, capsys):
    passed, out = run(fn, capsys)
    assert passed, out
    assert f"All {len(population_cases())} checks passed." in out


def test_the_cases_tell_the_mistakes_apart():
    cases = population_cases()
    assert all(c.args[0].shape[0] != c.args[0].shape[1] for c in cases)  # k != n
    assert min(c.args[2] for c in cases) == 2  # m / (m - 1) = 2 somewhere


MISTAKES = {
    "no Bessel factor": (lambda bm, bv, m: (bm.mean(axis=0), bv.mean(axis=0)),
                         "plain mean of the batch variances"),
    "factor inverted": (lambda bm, bv, m: (bm.mean(axis=0), (m - 1) / m * bv.mean(axis=0)),
                        "upside down"),
    "variance of the batch means": (
        lambda bm, bv, m: (bm.mean(axis=0), np.var(bm, axis=0, ddof=1)),
        "variance of the batch MEANS"),
    "variance of the batch means, corrected": (
        lambda bm, bv, m: (bm.mean(axis=0), m / (m - 1) * bm.var(axis=0)),
        "variance of the batch MEANS"),
    "averaged std": (lambda bm, bv, m: (bm.mean(axis=0), m / (m - 1) * np.sqrt(bv).mean(axis=0)),
                     "averaged standard deviations"),
    "averaged std, squared": (
        lambda bm, bv, m: (bm.mean(axis=0), m / (m - 1) * np.mean(np.sqrt(bv), axis=0) ** 2),
        "averaged standard deviations"),
    "wrong axis": (lambda bm, bv, m: (bm.mean(axis=1), m / (m - 1) * bv.mean(axis=1)),
                   "reduce over the k batches, axis=0 (you reduced over the other axis)"),
    "no axis, broadcast": (
        lambda bm, bv, m: (np.full(bm.shape[1], bm.mean()),
                           np.full(bm.shape[1], m / (m - 1) * bv.mean())),
        "average over the k batches only, axis=0"),
    "no axis, a number": (lambda bm, bv, m: (bm.mean(), m / (m - 1) * bv.mean()),
                          "is a single number"),
    "returned order swapped": (lambda bm, bv, m: right(bm, bv, m)[::-1],
                               "wrong order: it returns the expected (var, mean)"),
    "keepdims": (lambda bm, bv, m: (bm.mean(axis=0, keepdims=True),
                                    m / (m - 1) * bv.mean(axis=0, keepdims=True)),
                 "Drop keepdims=True"),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_gets_its_hint(name, capsys):
    fn, words = MISTAKES[name]
    passed, out = run(fn, capsys)
    assert passed is False
    assert words in out, out


def test_hints_use_the_students_argument_names(capsys):
    def population_statistics(means, variances, m):
        return means.mean(axis=0), np.sqrt(variances).mean(axis=0) * m / (m - 1)

    passed, out = run(population_statistics, capsys)
    assert passed is False and "np.sqrt(variances)" in out and "batch_vars" not in out, out


@pytest.mark.parametrize("fn, words", [
    (lambda bm, bv, m: (_ for _ in ()).throw(NotImplementedError()),
     "replace `raise NotImplementedError()`"),
    (lambda bm, bv, m: None, "forget the `return` statement"),
    (lambda bm, bv, m: bm.mean(axis=0), "expected a tuple of 2: (mean, var)"),
    (lambda bm, bv, m: (bm.mean(axis=0), None), "var is None"),
    ("population_statistics", "pass the function itself"),
])
def test_broken_functions_fail_without_raising(fn, words, capsys):
    passed, out = run(fn, capsys)
    assert passed is False and words in out, out
