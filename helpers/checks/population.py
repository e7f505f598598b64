"""The checker of notebook 05's population_statistics exercise (Ioffe & Szegedy's Algorithm 2).

    def population_statistics(batch_means, batch_vars, m):
        batch_means, batch_vars (k, n): the mean and biased variance of each of k training
        mini-batches of size m -> (mean (n,), var (n,)): the mean of the batch means, and the
        unbiased variance m / (m - 1) * the mean of the batch variances.

The cases have k != n (an average over the wrong axis changes the shape), batches as small as
m = 2 (where m / (m - 1) = 2 matters most) and batch means that vary from batch to batch (so
the variance of the batch means is far from the population variance).
"""

import numpy as np

from helpers.checks.mistakes import Mistake
from helpers.checks.runner import Case, Exercise, Output, run_exercise
from helpers.checks.seeds import case_seed

__all__ = ["POPULATION_STATISTICS", "check_population_statistics", "population_cases"]

# This exercise's own mistakes (the catalogue holds those shared by several exercises).
MISTAKES = {
    "no Bessel factor": Mistake(
        "You returned the plain mean of the batch variances. Each batch variance divides by m, "
        "so it underestimates the variance of the whole population; Algorithm 2 multiplies the "
        "average by m / (m - 1) (Bessel's correction for batches of m).", ({"factor": "1"},)),
    "Bessel factor inverted": Mistake(
        "The correction is upside down: you multiplied by (m - 1) / m, which makes the variance "
        "smaller still. A batch's biased variance is too small by (m - 1) / m on average, so "
        "undo that by multiplying by m / (m - 1).", ({"factor": "(m-1)/m"},)),
    "variance of the batch means": Mistake(
        "You used the variance of the batch MEANS as the variance. That measures how much the "
        "mean moves from batch to batch (about var / m), not how spread the values of a unit "
        "are: average the batch VARIANCES (batch_vars), then correct by m / (m - 1).",
        ({"source": "means"}, {"source": "means", "ddof": 1}, {"source": "means", "factor": "1"},
         {"source": "means", "ddof": 1, "factor": "1"})),
    "averaged the std": Mistake(
        "You averaged standard deviations (np.sqrt(batch_vars)). Algorithm 2 averages the "
        "variances themselves: the mean of the squares is not the square of the mean. Average "
        "batch_vars as they are, then correct by m / (m - 1).",
        ({"spread": "std"}, {"spread": "std squared"}, {"spread": "std", "factor": "1"},
         {"spread": "std squared", "factor": "1"})),
    "global average": Mistake(
        "Your average has no axis: np.mean(batch_vars) averages over all units AND batches into "
        "one number. Each unit has its own statistics: average over the k batches only, axis=0.",
        ({"axis": None},)),
}

HINTS = {
    **MISTAKES,
    "formula: population statistics": Mistake(
        "mean: average the batch means over the k batches (one value per unit). var: average "
        "the batch variances over the k batches, then multiply by m / (m - 1)."),
}


def population_cases():
    """Non-square (k, n) batch statistics, m from 2 to 32, batch means that vary."""
    rng = np.random.default_rng(case_seed(2505))

    def statistics(k, n, m):
        centre, spread = rng.normal(0.0, 3.0, n), rng.uniform(0.5, 4.0, n)
        means = centre + spread / np.sqrt(m) * rng.normal(size=(k, n))
        variances = spread ** 2 * rng.chisquare(m - 1, size=(k, n)) / m  # biased batch variances
        return (means, variances, m)

    return [
        Case("5 batches of m = 4 examples, 3 units", statistics(5, 3, 4), {}),
        Case("8 batches of m = 32 examples, 6 units", statistics(8, 6, 32), {}),
        Case("3 batches of m = 2 examples, 7 units (m / (m - 1) = 2)", statistics(3, 7, 2), {}),
        Case("20 batches of m = 10 examples, 4 units", statistics(20, 4, 10), {}),
    ]


def population_reference(case):
    """(mean of the batch means, m / (m - 1) * mean of the batch variances), each (n,)."""
    batch_means, batch_vars, m = case.args
    return batch_means.mean(axis=0), m / (m - 1) * batch_vars.mean(axis=0)


def population_variant(case, factor="m/(m-1)", source="vars", spread="var", ddof=0, axis=0):
    """What a student making one of the mistakes returns (see MISTAKES)."""
    batch_means, batch_vars, m = case.args
    scale = {"m/(m-1)": m / (m - 1), "1": 1.0, "(m-1)/m": (m - 1) / m}[factor]
    if source == "means":
        values = batch_means.var(axis=axis, ddof=ddof)
    elif spread == "std":
        values = np.sqrt(batch_vars).mean(axis=axis)
    elif spread == "std squared":
        values = np.sqrt(batch_vars).mean(axis=axis) ** 2
    else:
        values = batch_vars.mean(axis=axis)
    mean = batch_means.mean(axis=axis)
    if axis is None:  # a global number broadcast to one per unit, as a student's array would be
        mean, values = np.full(batch_means.shape[1], mean), np.full(batch_means.shape[1], values)
    return mean, scale * values


POPULATION_STATISTICS = Exercise(
    name="population_statistics",
    args=("batch_means", "batch_vars", "m"),
    outputs=(Output("mean", lambda case: case.args[0].shape[1:]),
             Output("var", lambda case: case.args[0].shape[1:])),
    cases=population_cases,
    reference=population_reference,
    variant=population_variant,
    mistakes=tuple(MISTAKES),
    fallback="formula: population statistics",
    terms={"x": "batch_vars", "over": "the k batches", "stat_shape": "(n,)",
           "other_axis": "axis=1, across the units of one batch"},
    own_hints=HINTS,
)


def check_population_statistics(fn):
    """Check a student's population_statistics(batch_means, batch_vars, m) -> (mean, var).

    batch_means, batch_vars: (k, n), the mean and biased variance of each of k mini-batches of
    size m. Expected: mean = the mean of the batch means over the k batches (n,), var =
    m / (m - 1) * the mean of the batch variances (n,) (Ioffe & Szegedy 2015, Algorithm 2).
    Recognises: no Bessel factor, the factor inverted, the variance of the batch means, averaged
    standard deviations, an average without axis or over the wrong axis, keepdims, the outputs
    swapped. Prints "All N checks passed." or the first problem with a hint; returns True/False;
    never raises.
    """
    return run_exercise(POPULATION_STATISTICS, fn)
