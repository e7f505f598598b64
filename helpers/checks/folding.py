"""Notebook 09's checker: fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps).

Built on the generic runner (runner.Exercise): the cases, the reference
(helpers.folding.fold_batchnorm) and the mistakes a student folding BN makes, with their hints.
These mistakes belong to this exercise alone, so their hints live here (FOLD_MISTAKES) rather
than in the shared catalogue; the shared situations (an exception, a stub, an input changed in
place) keep the catalogue's words.

    from helpers.checks.folding import check_fold_batchnorm
    assert check_fold_batchnorm(fold_batchnorm)
"""

from dataclasses import dataclass

import numpy as np

from helpers.checks import mistakes
from helpers.checks.runner import Case, Exercise, Output, run_exercise
from helpers.checks.seeds import case_seed

__all__ = ["FOLD_BATCHNORM", "FOLD_MISTAKES", "check_fold_batchnorm", "fold_cases"]


# ----------------------------------------------------------------------------- the mistakes
FOLD_MISTAKES = {
    "fold: per-input scaling": mistakes.Mistake(
        "W_folded scales W's ROWS (the inputs). Batch norm normalizes each OUTPUT unit, column j "
        "of W (the last axis of a conv kernel): every weight feeding unit j is multiplied by "
        "unit j's own factor.", ({"per_input": True},)),
    "fold: eps outside sqrt": mistakes.Mistake(
        "eps is outside the square root: batch norm divides by np.sqrt(running_var + eps), so "
        "must the folded layer.", ({"spread": "sqrt(var) + eps"},)),
    "fold: eps missing": mistakes.Mistake(
        "eps is missing (or not the eps argument): batch norm divides by np.sqrt(running_var + "
        "eps) with the eps it was built with.", ({"eps": 0.0}, {"eps": 1e-5}, {"eps": 1e-3})),
    "fold: divided by variance": mistakes.Mistake(
        "You divided by the variance; batch norm divides by the standard deviation, "
        "np.sqrt(running_var + eps).", ({"spread": "var + eps"},)),
    "fold: bias forgotten": mistakes.Mistake(
        "b_folded leaves out the layer's own bias b. z = x @ W + b, and b goes through batch "
        "norm like the rest of z: it is shifted by the mean and scaled like the weights.",
        ({"bias": "forgotten"},)),
    "fold: bias not scaled": mistakes.Mistake(
        "b (or b - running_mean) was not multiplied by the scale. Everything in z, the bias "
        "included, is divided by the standard deviation and multiplied by gamma.",
        ({"bias": "unscaled"}, {"bias": "shift unscaled"})),
    "fold: mean forgotten": mistakes.Mistake(
        "b_folded does not subtract the running mean: batch norm first subtracts running_mean "
        "from z, and that subtraction has to end up in the bias.", ({"mean": False},)),
    "fold: beta forgotten": mistakes.Mistake(
        "beta is missing from b_folded: batch norm adds beta after scaling.", ({"beta": False},)),
    "fold: gamma forgotten": mistakes.Mistake(
        "gamma is missing: batch norm multiplies by gamma after dividing by the standard "
        "deviation, so the weights and the bias carry gamma too.", ({"gamma": False},)),
    "fold: W unchanged": mistakes.Mistake(
        "W_folded is W unchanged: the division by the standard deviation and the multiplication "
        "by gamma act on x @ W, so they must be folded into the weights.", ({"scale_W": False},)),
    "fold: outputs swapped": mistakes.Mistake(
        "Return (W_folded, b_folded), in that order.", ({"swap": True},)),
    "fold: broadcast": mistakes.Mistake(
        "The shapes do not line up. gamma, beta, running_mean and running_var have one entry "
        "per OUTPUT unit, the last axis of W: an array of shape (n_out,) multiplies W's columns "
        "by broadcasting (W * scale), for a dense W and a conv kernel alike."),
    "fold: None bias": mistakes.Mistake(
        "b may be None: a dense layer right before batch norm has no bias (its b would be "
        "cancelled by the mean subtraction). Treat None as a bias of zeros."),
    "fold: formula": mistakes.Mistake(
        "Write batch norm at inference for one unit as z * (a number) + (another number), then "
        "put z = x @ W + b into it and collect what multiplies x and what does not."),
}


def fold_variant(case, per_input=False, spread="sqrt(var + eps)",
                 eps=None, bias="scaled", mean=True, beta=True, gamma=True, scale_W=True,
                 swap=False):
    """What a student making the given mistakes returns (W_folded, b_folded)."""
    W, b, g, be, mu, var = case.args
    eps = case.kwargs.get("eps", 1e-5) if eps is None else eps
    b = np.zeros(W.shape[-1]) if b is None else b
    std = mistakes.divisor(var, eps, spread)
    scale = (g if gamma else 1.0) / std
    if per_input:
        W_f = W * scale[:, None]    # raises for non-square W: the runner skips the variant
    else:
        W_f = W * scale if scale_W else W
    mu = mu if mean else 0.0 * mu
    b_f = {"scaled": (b - mu) * scale,             # right: all of z goes through the scale
           "forgotten": -mu * scale,               # the layer's own bias left out
           "unscaled": b - mu * scale,             # b added as it is
           "shift unscaled": b - mu}[bias] + (be if beta else 0.0)
    return (b_f, W_f) if swap else (W_f, b_f)


def fold_cases():
    """Seeded cases: dense layers with and without bias, a square W (so per-input scaling is a
    value and not a shape error), a conv kernel, small variances where eps matters."""
    rng = np.random.default_rng(case_seed(2026))

    def layer(shape, with_bias=True, var_low=0.2, var_high=4.0):
        n = shape[-1]
        W = rng.normal(0.0, 0.5, size=shape)
        b = rng.normal(0.0, 1.0, size=n) if with_bias else None
        return (W, b, rng.uniform(0.5, 2.0, n), rng.normal(0.0, 1.0, n),
                rng.normal(0.0, 2.0, n), rng.uniform(var_low, var_high, n))

    return [
        Case("a dense layer, 5 inputs -> 3 units, with a bias", layer((5, 3)), {}),
        Case("a dense layer without bias (b=None), as right before BN in our network",
             layer((6, 4), with_bias=False), {}),
        Case("a square W (4 -> 4), so that rows and columns have the same length",
             layer((4, 4)), {}),
        Case("tiny running variances (1e-4 to 1e-3) and eps=1e-3 passed by keyword",
             layer((3, 5), var_low=1e-4, var_high=1e-3), {"eps": 1e-3}),
        Case("a conv kernel (3, 3, 2, 4): kh, kw, C_in, C_out", layer((3, 3, 2, 4)), {}),
    ]


def fold_reference(case):
    from helpers.folding import fold_batchnorm  # floor 2, imported on first use

    return fold_batchnorm(*case.args, **case.kwargs)


def folds_correctly(case, values):
    """A last check once the outputs are right: x @ W_folded + b_folded on fresh inputs equals
    BN at inference of x @ W + b (for a dense case)."""
    W, b, gamma, beta, mu, var = case.args
    if W.ndim != 2:
        return None
    eps = case.kwargs.get("eps", 1e-5)
    x = np.random.default_rng(case_seed(7)).normal(size=(8, W.shape[0]))
    z = x @ W + (0.0 if b is None else b)
    expected = gamma * (z - mu) / np.sqrt(var + eps) + beta
    got = x @ values[0] + values[1]
    if np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return None
    return "x @ W_folded + b_folded differs from batch norm at inference of x @ W + b."


@dataclass(frozen=True)
class FoldExercise(Exercise):
    """An Exercise whose own mistakes (FOLD_MISTAKES) are looked up before the catalogue's."""

    def versions(self, key):
        if key in FOLD_MISTAKES:
            return FOLD_MISTAKES[key].versions
        return super().versions(key)

    def hint(self, key, **values):
        if key in FOLD_MISTAKES:
            return FOLD_MISTAKES[key].hint.format(**values)
        return super().hint(key, **values)


FOLD_BATCHNORM = FoldExercise(
    name="fold_batchnorm",
    args=("W", "b", "gamma", "beta", "running_mean", "running_var"),
    outputs=(Output("W_folded", lambda case: case.args[0].shape),
             Output("b_folded", lambda case: case.args[0].shape[-1:])),
    cases=fold_cases,
    reference=fold_reference,
    variant=fold_variant,
    mistakes=("fold: outputs swapped", "fold: per-input scaling",
              "fold: eps outside sqrt", "fold: divided by variance", "fold: eps missing",
              "fold: W unchanged", "fold: gamma forgotten", "fold: bias forgotten",
              "fold: bias not scaled", "fold: mean forgotten", "fold: beta forgotten"),
    fallback="fold: formula",
    situations={"None argument": "fold: None bias", "broadcast": "fold: broadcast"},
    after=folds_correctly,
)


def check_fold_batchnorm(fn):
    """Check a student's fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5).

    Expected: (W_folded, b_folded) with x @ W_folded + b_folded equal to batch norm at inference
    (running statistics) of x @ W + b for every x; W (n_in, n_out) or a conv kernel
    (kh, kw, C_in, C_out), b (n_out,) or None. Compared with helpers.folding.fold_batchnorm on
    fresh seeded cases. Recognises per-input scaling, eps outside the square root or missing,
    dividing by the variance, the bias b forgotten or not scaled, the mean, beta or gamma
    forgotten, W left unchanged, swapped outputs. Prints "All N checks passed." or the first
    problem with a hint; returns True/False; never raises.
    """
    return run_exercise(FOLD_BATCHNORM, fn)
