"""The inputs each checker tries: seeded, computed afresh on every check, never shown to students.

Each function returns a list of runner.Case. Together, the cases of an exercise tell the right
formula apart from each mistake the exercise looks for (a batch of 3, where m and m - 1 differ
most; a constant unit, where eps matters; m != n, so a sum over the wrong axis changes a shape).

Cases built to show a loss of precision come last, so that every other mistake is named on the
ordinary cases first: means of 1e4 to 1e6 with a spread of about 1 in float64 (where the variance
E[z**2] - E[z]**2 loses its digits), and float32 inputs (compared with a float32 tolerance).
Their context names the hint used when no known mistake explains the failure.
"""

import numpy as np

from helpers import batchnorm
from helpers.checks.runner import Case
from helpers.checks.seeds import case_seed

__all__ = [
    "batch_norm_cases",
    "batchnorm_backward_cases",
    "batchnorm_inference_cases",
    "identity_cases",
    "layer_norm_cases",
    "normalize_inputs_cases",
    "numerical_gradient_cases",
    "range_width_cases",
    "track_running_stats_cases",
]

# Far from 0: E[z**2] - E[z]**2 subtracts numbers of about 1e12 whose difference is about 1.
LARGE_OFFSETS = [1e4, 1e5, 1e6]
LARGE_OFFSET = {"fallback": "large offset"}
# float32 inputs: a right function may compute in float32 (about 7 digits) or in float64.
FLOAT32 = {"rtol": 1e-4, "atol": 5e-4, "fallback": "float32 offset"}

# The small example the notebooks print before their checker cell.
SMALL = np.array([[1.0, 2.0, -3.0], [3.0, 2.5, 0.0], [5.0, 1.0, 3.0], [7.0, 0.5, 4.0]])


def columns(rng, m, means, stds):
    """m rows of normal values, one column per (mean, std)."""
    return rng.normal(size=(m, len(means))) * np.asarray(stds) + np.asarray(means)


# ----------------------------------------------------------------------------- 01
def normalize_inputs_cases():
    """normalize_inputs(X_train, X_test=None, eps=1e-8)."""
    rng = np.random.default_rng(case_seed(2024))

    def features(m, scales, offsets):
        return columns(rng, m, offsets, scales)

    train = features(40, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])
    wide_scales, wide_offsets = [1e-3, 0.1, 1.0, 20.0, 1e3], [1e3, -500.0, 0.0, 20.0, 1e3]
    constant = np.column_stack([features(30, [0.05, 2.0], [1.0, -3.0]), np.full(30, 7.0)])
    return [
        Case("5 examples x 3 features, no test set (X_test=None)",
             (features(5, [1.0, 10.0, 0.5], [0.0, 5.0, -2.0]), None), {}),
        Case("40 x 4 training set, 10 test examples from the same distribution",
             (train, features(10, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])), {}),
        Case("test set from a different distribution (shifted and wider than training)",
             (train, features(12, [2.0, 30.0, 1.0, 6.0], [3.0, 80.0, 0.0, 1.0])), {}),
        Case("a test set of a single example",
             (train, features(1, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])), {}),
        Case("offsets up to 1e3 and scales from 1e-3 to 1e3",
             (features(60, wide_scales, wide_offsets), features(15, wide_scales, wide_offsets)),
             {}),
        Case("a constant feature (variance 0) and eps=1e-3 passed by keyword",
             (constant, constant[:6] + 0.01), {"eps": 1e-3}),
        Case("features far from 0 (means 1e4, 1e5 and 1e6, spread about 1)",
             (features(50, [1.0, 2.0, 1.0], LARGE_OFFSETS),
              features(8, [1.0, 2.0, 1.0], LARGE_OFFSETS)), {}, LARGE_OFFSET),
    ]


# ----------------------------------------------------------------------------- 02
def batch_norm_cases():
    """batch_norm(z, gamma, beta, eps=1e-5)."""
    rng = np.random.default_rng(case_seed(2025))
    n = 5
    gamma, beta = rng.uniform(0.5, 2.0, size=n), rng.uniform(-1.0, 1.0, size=n)
    small_var = columns(rng, 20, [3.0, -1.0, 0.5], [0.01, 1.0, 2.0])  # unit 0: variance ~1e-4
    constant = np.column_stack([columns(rng, 8, [2.0, -4.0], [1.0, 3.0]), np.full(8, 0.5)])
    return [
        Case("the 4 x 3 example above: gamma = 1, beta = 0",
             (SMALL.copy(), np.ones(3), np.zeros(3)), {}),
        Case("16 examples x 5 units with different means and spreads, gamma and beta per unit",
             (columns(rng, 16, [0.0, 5.0, -3.0, 10.0, 1.0], [1.0, 0.5, 4.0, 2.0, 10.0]), gamma,
              beta), {}),
        Case("a batch of 3 examples (m and m - 1 differ most)",
             (columns(rng, 3, [1.0, -2.0, 0.0, 4.0], [2.0, 1.0, 0.5, 3.0]),
              np.array([1.5, 0.5, 2.0, 1.0]), np.array([0.3, -0.2, 1.0, -1.0])), {}),
        Case("a unit with tiny variance (about 1e-4) and eps=1e-2 passed by keyword",
             (small_var, np.array([2.0, 1.0, 0.5]), np.array([1.0, 0.0, -1.0])), {"eps": 1e-2}),
        Case("a constant unit (variance 0, like a dead ReLU) with the default eps",
             (constant, np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.5, 0.25])), {}),
        Case("a single unit, shape (32, 1), far from 0 (mean 100)",
             (columns(rng, 32, [100.0], [5.0]), np.array([0.8]), np.array([-0.4])), {}),
        Case("units far from 0 (means 1e4, 1e5 and 1e6, spread about 1)",
             (columns(rng, 24, LARGE_OFFSETS, [1.0, 2.0, 1.0]), np.array([1.5, 0.5, 1.0]),
              np.array([0.1, -0.2, 0.3])), {}, LARGE_OFFSET),
        Case("float32 inputs, units around 300 with a spread of about 1",
             tuple(a.astype(np.float32) for a in (
                 columns(rng, 40, [300.0, -200.0, 250.0], [1.0, 0.5, 2.0]),
                 np.array([1.2, 0.8, 2.0]), np.array([0.0, 0.5, -0.5]))), {}, FLOAT32),
    ]


# ----------------------------------------------------------------------------- 03
def identity_cases():
    """identity_gamma_beta(z, eps=1e-5)."""
    rng = np.random.default_rng(case_seed(3))
    return [
        Case("the 4 x 3 example above", (SMALL.copy(),), {}),
        Case("10 examples x 6 units with different means and spreads",
             (rng.normal(size=(10, 6)) * [1.0, 3.0, 0.2, 5.0, 1.0, 2.0]
              + [0.0, -4.0, 2.0, 10.0, -1.0, 0.5],), {}),
        Case("a small-variance unit and eps=0.5 passed by keyword",
             (rng.normal(size=(12, 3)) * [0.05, 1.0, 2.0] + [1.0, 0.0, -2.0],), {"eps": 0.5}),
    ]


def batch_norm_loss_of_bias(x, W, gamma, beta, dz_tilde):
    """f(b) = sum(z~ * dz_tilde) with z~ = batch norm of x @ W + b: its gradient in b is 0."""
    def f(b):
        return float(np.sum(batchnorm.batchnorm_forward(x @ W + b, gamma, beta)[0] * dz_tilde))

    return f


def numerical_gradient_cases():
    """numerical_gradient(f, b, h=1e-5); context["gradient"] is the true gradient."""
    rng = np.random.default_rng(case_seed(4))
    x, W = rng.normal(size=(8, 3)), rng.normal(size=(3, 4))
    dout, gamma, beta = rng.normal(size=(8, 4)), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    c = rng.normal(size=5)
    b2, b3, b4 = rng.normal(size=2), rng.normal(size=5), rng.normal(size=4)
    return [
        Case("f(b) = sum(b**2) at b = [1, -2] (gradient 2 b)",
             (lambda b: float(np.sum(b ** 2)), np.array([1.0, -2.0])), {},
             {"gradient": np.array([2.0, -4.0])}),
        Case("f(b) = sum(b**3) at 2 random points (gradient 3 b**2)",
             (lambda b: float(np.sum(b ** 3)), b2), {}, {"gradient": 3 * b2 ** 2}),
        Case("f(b) = sum(c * sin(b)) for 5 entries (gradient c * cos(b))",
             (lambda b: float(np.sum(c * np.sin(b))), b3), {}, {"gradient": c * np.cos(b3)}),
        Case("f(b) = sum(z~ * dz~) with z~ = batch norm of x @ W + b (gradient 0)",
             (batch_norm_loss_of_bias(x, W, gamma, beta, dout), b4), {},
             {"gradient": np.zeros(4)}),
    ]


# ----------------------------------------------------------------------------- 04
def batchnorm_backward_cases():
    """batchnorm_backward(dz_tilde, cache), the cache of helpers.batchnorm.batchnorm_forward;
    context holds the z, gamma, beta and eps it came from (for the gradient check).
    m != n everywhere, so a sum over the wrong axis shows up as a wrong shape or value."""
    rng = np.random.default_rng(case_seed(404))

    def case(description, z, gamma, beta, dz_tilde, eps=1e-5):
        cache = batchnorm.batchnorm_forward(z, gamma, beta, eps=eps)[1]
        return Case(description, (dz_tilde, cache), {},
                    {"z": z, "gamma": gamma, "beta": beta, "eps": eps})

    return [
        case("4 examples x 3 units, gamma = [1.5, 0.5, 2.0], random upstream gradient",
             columns(rng, 4, [1.0, -2.0, 0.5], [1.0, 2.0, 0.5]), np.array([1.5, 0.5, 2.0]),
             np.array([0.1, -0.3, 0.2]), rng.normal(size=(4, 3))),
        case("16 examples x 5 units with different means and spreads, gamma and beta per unit",
             columns(rng, 16, [0.0, 5.0, -3.0, 10.0, 1.0], [1.0, 0.5, 4.0, 2.0, 10.0]),
             rng.uniform(0.5, 2.0, 5), rng.uniform(-1.0, 1.0, 5),
             rng.normal(size=(16, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0] + [0.5, -1.0, 0.0, 2.0, 0.3]),
        case("a batch of 3 examples x 6 units (every example weighs a lot in mu and var)",
             columns(rng, 3, [1.0, -2.0, 0.0, 4.0, 2.0, -1.0], [2.0, 1.0, 0.5, 3.0, 1.0, 0.2]),
             rng.uniform(0.5, 3.0, 6), rng.normal(size=6), rng.normal(size=(3, 6))),
        case("10 examples x 2 units, a unit with tiny variance and eps = 1e-2",
             columns(rng, 10, [3.0, -1.0], [0.05, 1.0]), np.array([2.0, 0.7]),
             np.array([1.0, -1.0]), rng.normal(size=(10, 2)), eps=1e-2),
    ]


# ----------------------------------------------------------------------------- 05
def track_running_stats_cases():
    """track_running_stats(running_mean, running_var, z, momentum=0.9)."""
    rng = np.random.default_rng(case_seed(505))
    z1 = rng.normal(size=(8, 3)) * [1.0, 2.0, 0.5] + [2.0, -1.0, 0.0]
    z2 = rng.normal(size=(5, 4)) * [3.0, 0.2, 1.0, 2.0] + [10.0, 0.0, -4.0, 1.0]
    z3 = rng.normal(size=(32, 2)) * [1.0, 4.0] + [0.5, -2.0]
    return [
        Case("start of training (running mean 0, variance 1), a batch of 8 x 3, default momentum",
             (np.zeros(3), np.ones(3), z1), {}),
        Case("running statistics far from the batch's, a batch of 5 x 4, momentum=0.99",
             (np.array([1.0, 2.0, -3.0, 0.5]), np.array([0.5, 4.0, 2.0, 1.0]), z2),
             {"momentum": 0.99}),
        Case("a batch of 32 x 2, momentum=0.6 passed by keyword",
             (np.array([0.3, -1.5]), np.array([2.0, 10.0]), z3), {"momentum": 0.6}),
        Case("a batch of 6 x 3 with tiny variances (about 1e-4), momentum=0.5",
             (np.array([0.0, 1.0, -1.0]), np.array([1e-4, 2e-4, 5e-5]),
              rng.normal(size=(6, 3)) * [0.01, 0.02, 0.005] + [0.0, 1.0, -1.0]),
             {"momentum": 0.5}),
        Case("units far from 0 (means 1e4, 1e5 and 1e6, spread about 1)",
             (np.array(LARGE_OFFSETS), np.ones(3),
              columns(rng, 16, LARGE_OFFSETS, [1.0, 2.0, 1.0])),
             {"momentum": 0.5}, LARGE_OFFSET),
    ]


def batchnorm_inference_cases():
    """batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5)."""
    rng = np.random.default_rng(case_seed(506))
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.2, -1.0, 0.5])
    rm, rv = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])
    return [
        Case("a batch of 6 x 3 whose statistics differ from the running ones",
             (rng.normal(size=(6, 3)) * [1.0, 2.0, 3.0] + [3.0, 0.0, -1.0], gamma, beta, rm, rv),
             {}),
        Case("a single example, shape (1, 3): inference must work for a batch of one",
             (np.array([[2.0, -1.5, 0.0]]), gamma, beta, rm, rv), {}),
        Case("a unit with a tiny running variance and eps=1e-2 passed by keyword",
             (rng.normal(size=(5, 2)) * [0.1, 1.0], np.array([1.0, 2.0]), np.array([0.0, 0.3]),
              np.array([0.05, 0.0]), np.array([1e-4, 2.0])), {"eps": 1e-2}),
    ]


# ----------------------------------------------------------------------------- 06
def range_width_cases():
    """range_width(grid, accuracies, target): fresh sweeps, so no notebook number can be copied."""
    rng = np.random.default_rng(case_seed(606))
    grid = np.logspace(-4, 0, 9)
    bump = np.clip(0.95 - 0.08 * (np.log10(grid) + 2.0) ** 2 + rng.normal(0, 0.01, 9), 0, 1)
    dip = bump.copy()
    dip[4] = 0.2  # a run that failed in the middle of the range that works
    shuffled = rng.permutation(9)
    exact = bump.copy()
    exact[[1, 7]] = 0.85  # two runs exactly at the target
    return [
        Case("a learning-rate sweep shaped like the notebook's", (grid, bump, 0.85), {}),
        Case("grid values not in increasing order", (grid[shuffled], bump[shuffled], 0.85), {}),
        Case("runs exactly at the target count as reaching it", (grid, exact, 0.85), {}),
        Case("a failed run inside the range does not shorten it", (grid, dip, 0.85), {}),
        Case("only one value reaches the target", (grid, bump, float(bump.max())), {}),
        Case("no value reaches the target", (grid, bump, 0.99), {}),
        Case("another grid and target", (np.logspace(-1, 2, 7), np.linspace(0.2, 0.9, 7), 0.5),
             {}),
    ]


# ----------------------------------------------------------------------------- 08
def layer_norm_cases():
    """layer_norm(z, gamma, beta, eps=1e-5): tells layer norm apart from batch norm too."""
    rng = np.random.default_rng(case_seed(2028))

    def examples(m, n, scale=1.0):
        # Each example gets its own offset and spread, so per-example and per-unit statistics
        # differ (with a shared offset, averaging over the wrong axis could go unnoticed).
        return (rng.normal(size=(m, n)) * rng.uniform(0.5, 3.0, (m, 1)) * scale
                + rng.normal(0.0, 4.0, (m, 1)))

    gamma5, beta5 = rng.uniform(0.5, 2.0, 5), rng.uniform(-1.0, 1.0, 5)
    return [
        Case("the 4 x 3 example above: gamma = 1, beta = 0",
             (SMALL.copy(), np.ones(3), np.zeros(3)), {}),
        Case("8 examples x 5 units, each example with its own mean and spread, gamma and beta "
             "per unit", (examples(8, 5), gamma5, beta5), {}),
        Case("a square batch, 6 examples x 6 units (a forgotten keepdims still broadcasts here)",
             (examples(6, 6), rng.uniform(0.5, 2.0, 6), rng.uniform(-1.0, 1.0, 6)), {}),
        Case("a batch of ONE example, 1 x 7 (layer norm needs no batch)",
             (examples(1, 7), rng.uniform(0.5, 2.0, 7), rng.uniform(-1.0, 1.0, 7)), {}),
        Case("examples with tiny spread (variance about 1e-4) and eps=1e-2 passed by keyword",
             (examples(5, 4, scale=0.005), rng.uniform(0.5, 2.0, 4), rng.uniform(-1.0, 1.0, 4)),
             {"eps": 1e-2}),
        Case("an example whose units are all equal (variance 0) with the default eps",
             (np.vstack([examples(3, 4), np.full((1, 4), 2.5)]), np.array([1.0, 2.0, 0.5, 1.5]),
              np.array([0.5, -0.5, 0.25, 0.0])), {}),
        Case("examples far from 0 (means 1e4, 1e5 and 1e6, spread about 1)",
             (rng.normal(size=(3, 6)) + np.array(LARGE_OFFSETS)[:, None],
              rng.uniform(0.5, 2.0, 6), rng.uniform(-1.0, 1.0, 6)), {}, LARGE_OFFSET),
    ]
