"""The backward-pass exercises (04 batch norm, 08 layer norm) and where a wrong gradient is wrong.

A wrong backward pass that matches no known mistake gets a LOCATED hint instead of the full
formula, from what every right backward pass of a normalization satisfies:
    dbeta  = the sum of dz~ over the batch                     (checked on its own)
    dgamma = the sum of dz~ * z_norm over the batch            (checked on its own)
    the sum of dz over a normalized group is 0                 (shifting every z of the group
                                                                 leaves z_norm unchanged: the
                                                                 mean branch)
    the sum of dz * z_norm over a group is the reference's     (stretching the group around its
                                                                 mean leaves z_norm unchanged up
                                                                 to eps: the variance branch)
A group is a unit over the batch (batch norm, axis=0) or an example over its units (layer norm,
axis=1). `located_hint` says which output and which branch is wrong.

The exercises:
    04  batchnorm_backward(dz_tilde, cache) -> (dz, dgamma, dbeta), the cache of
        helpers.batchnorm.batchnorm_forward; checked by a float64 gradient check.
    08  layer_norm_backward(dz_tilde, z, gamma, eps=1e-5) -> (dz (m, n), dgamma (n,),
        dbeta (n,)) of layer norm (statistics per example over its n units).
"""

import dataclasses

import numpy as np

from helpers import batchnorm, gradcheck
from helpers.checks import cases, mistakes
from helpers.checks.mistakes import Mistake, divisor, hint
from helpers.checks.runner import ATOL, RTOL, Case, Exercise, Output, run_exercise
from helpers.checks.seeds import case_seed

__all__ = ["BACKWARD_HINTS", "BATCHNORM_BACKWARD", "LAYER_NORM_BACKWARD",
           "check_batchnorm_backward", "check_layer_norm_backward", "located_hint"]

OUTPUTS = ("dz", "dgamma", "dbeta")

# Mistakes of a backward pass that recomputes the forward normalization (shared by 04 and 08).
BACKWARD_HINTS = {
    "backward: eps missing": Mistake(
        "Your backward pass normalizes without eps: it must differentiate exactly the forward "
        "pass, which divides by np.sqrt(var + eps). Use the forward's 1 / np.sqrt(var + eps) "
        "({eps_source}), not 1 / np.sqrt(var).", ({"eps": 0.0},)),
    "backward: eps outside sqrt": Mistake(
        "Your backward pass divides by np.sqrt(var) + eps, with eps outside the square root: "
        "the forward pass divides by np.sqrt(var + eps) ({eps_source}).",
        ({"spread": "sqrt(var) + eps"},)),
    "backward: eps fixed": Mistake(
        "Your backward pass uses eps = {eps:g}, not the eps of the forward pass "
        "({eps_source}).", ({"eps": 1e-5}, {"eps": 1e-3})),
    "backward: sign": Mistake(
        "dz has the opposite sign everywhere: the gradient of the loss points the other way. "
        "Check the sign of the direct term, dz_norm * inv_std (it must be +).",
        ({"sign": -1},)),
}


# ----------------------------------------------------------------------------- located hints
def sums_agree(a, b):
    """Invariant values equal to round-off."""
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-7 * max(1.0, float(np.max(np.abs(b))))))


def located_hint(values, expected, z_norm, group_axis, group_words):
    """Which output and which branch of a wrong backward pass is wrong, in sentences.

    values, expected: (dz, dgamma, dbeta); z_norm (m, n) of the forward pass; group_axis: the
    axis one mean and variance average over (0 batch norm, 1 layer norm); group_words: how the
    notebook says it ("over the batch (axis=0)").
    """
    dz, dgamma, dbeta = (np.asarray(v, dtype=np.float64) for v in values)
    dz_ref, dgamma_ref, dbeta_ref = expected
    found = []
    if not np.allclose(dbeta, dbeta_ref, rtol=RTOL, atol=1e-9):
        found.append("dbeta is wrong: beta is added to z~ of every example, so dbeta collects "
                     "dz~ from every example, a sum over the batch (axis=0), one value per unit.")
    if not np.allclose(dgamma, dgamma_ref, rtol=RTOL, atol=1e-9):
        found.append("dgamma is wrong: gamma multiplies z_norm, so each example adds dz~ * z_norm "
                     "(the z_norm of the forward pass), summed over the batch (axis=0).")
    if np.allclose(dz, dz_ref, rtol=RTOL, atol=1e-9):
        return " ".join(found) + " dz is right."
    if np.allclose(dz, -dz_ref, rtol=RTOL, atol=1e-9):
        return " ".join([*found, mistakes.hint("backward: sign", own=BACKWARD_HINTS)])
    mean_sum, mean_ref = dz.sum(axis=group_axis), dz_ref.sum(axis=group_axis)
    var_sum = (dz * z_norm).sum(axis=group_axis)
    var_ref = (dz_ref * z_norm).sum(axis=group_axis)
    # The variance sum is 0 only up to eps (about eps / var of its terms' size), so it is
    # compared at 1e-3 of the size of its terms: a branch mistake moves it by their full size.
    terms = np.abs(dz_ref * z_norm).sum(axis=group_axis)
    mean_ok = sums_agree(mean_sum, mean_ref)
    var_ok = bool(np.all(np.abs(var_sum - var_ref) <= 1e-3 * terms + 1e-12))
    if not mean_ok:
        worst = float(np.max(np.abs(mean_sum)))
        found.append(
            f"dz is wrong in the MEAN branch: the sum of dz {group_words} must be 0 (adding the "
            f"same number to every z of a group leaves z_norm, and so the loss, unchanged), but "
            f"yours reaches {worst:.3g}. Look at the term that comes through mu: its sign, and "
            f"that it is a sum {group_words} divided by the number of values averaged.")
    if not var_ok:
        found.append(
            f"dz is wrong in the VARIANCE branch: the sum of dz * z_norm {group_words} is "
            f"{float(np.max(np.abs(var_sum - var_ref))):.3g} away from the right one (which is 0 "
            f"up to eps: stretching a group around its mean barely changes z_norm). Look at the "
            f"term that comes through var: its sign, the z_norm factor, and its sum "
            f"{group_words}.")
    if mean_ok and var_ok:
        found.append(
            "dz is wrong, but both of its sums over the groups are right, so the branches "
            "through mu and var look fine: look at the direct term, dz_norm = gamma * dz~ "
            "scaled by inv_std = 1 / np.sqrt(var + eps) (is gamma there, is inv_std used once?).")
    return " ".join(found)


# ---------------------------------------------------------------------------- 04 batchnorm_backward
BACKWARD_OUTPUTS = ("dz", "dgamma", "dbeta")
GRADCHECK_TOL = 1e-8  # float64 centred differences agree with a right backward pass far better


def batchnorm_backward_variant(case, mean_branch=True, var_branch=True, gamma_in_dz=True, axis=0,
                               inv_std_twice=False, swap=False, eps=None,
                               spread="sqrt(var + eps)", sign=1):
    """What a student making a mistake returns; eps and spread: inv_std recomputed from the
    cache's var with a mistaken eps (a backward pass built on a forward without eps, ...)."""
    dz_tilde, cache = case.args
    z_norm, inv_std, m = cache["z_norm"], cache["inv_std"], cache["m"]
    if eps is not None or spread != "sqrt(var + eps)":
        eps = cache["eps"] if eps is None else eps
        inv_std = 1.0 / divisor(cache["var"].reshape(inv_std.shape), eps, spread)
    dz_norm = cache["gamma"] * dz_tilde if gamma_in_dz else dz_tilde
    total = m * dz_norm
    if mean_branch:
        total = total - dz_norm.sum(axis=axis, keepdims=True)
    if var_branch:
        total = total - z_norm * (dz_norm * z_norm).sum(axis=axis, keepdims=True)
    dz = sign * inv_std / m * total * (inv_std if inv_std_twice else 1.0)
    dgamma, dbeta = (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)
    return (dz, dbeta, dgamma) if swap else (dz, dgamma, dbeta)


def numerical_batchnorm_gradients(context, dz_tilde):
    """(dz, dgamma, dbeta) of sum(z~ * dz_tilde) by centred differences (helpers.gradcheck)."""
    z, gamma, beta = (context[name].copy() for name in ("z", "gamma", "beta"))

    def z_tilde(_):  # f(x) for gradcheck, which nudges x (z, gamma or beta) in place
        return batchnorm.batchnorm_forward(z, gamma, beta, eps=context["eps"])[0]

    return tuple(gradcheck.numerical_gradient_array(z_tilde, x, dz_tilde) for x in (z, gamma, beta))


def gradient_check(exercise, values, expected, case, errors=None):
    """A message if a relative error against the numerical gradient is 1e-8 or more.

    errors: a list that collects the relative errors of every case (for the final report).
    """
    numerical = numerical_batchnorm_gradients(case.context, case.args[0])
    relative = [gradcheck.relative_error(np.asarray(value, dtype=np.float64), gradient)
                for value, gradient in zip(values, numerical)]
    if errors is not None:
        errors.append(relative)
    worst = int(np.argmax(relative))
    if relative[worst] < GRADCHECK_TOL:
        return None
    return (f"gradient check failed: relative error of {BACKWARD_OUTPUTS[worst]} = "
            f"{relative[worst]:.2g} (must be below 1e-8).")


def backward_fallback(values, expected, case):
    """Where the gradient is wrong: which output, and which branch of dz (see backward.py)."""
    if any(np.shape(v) != np.shape(r) for v, r in zip(values, expected)):
        wrong = [name for name, value, reference in zip(BACKWARD_OUTPUTS, values, expected)
                 if np.shape(value) != np.shape(reference)
                 or not np.allclose(value, reference, rtol=RTOL, atol=ATOL)]
        return hint("formula: backward", wrong=", ".join(wrong) or "the outputs")
    return located_hint(values, expected, case.args[1]["z_norm"], 0, "over the batch (axis=0)")


BATCHNORM_BACKWARD = Exercise(
    name="batchnorm_backward",
    args=("dz_tilde", "cache"),
    outputs=(Output("dz", lambda case: case.args[0].shape),
             Output("dgamma", lambda case: case.args[0].shape[1:]),
             Output("dbeta", lambda case: case.args[0].shape[1:])),
    cases=cases.batchnorm_backward_cases,
    reference=lambda case: batchnorm.batchnorm_backward(*case.args),
    variant=batchnorm_backward_variant,
    mistakes=("dgamma and dbeta swapped", "both branches missing", "mean branch missing",
              "variance branch missing", "gamma missing from dz", "sums over the wrong axis",
              "inv_std twice", *BACKWARD_HINTS),
    fallback=backward_fallback,
    terms={"eps_source": "the cache holds inv_std = 1 / np.sqrt(var + eps), and eps itself"},
    own_hints=BACKWARD_HINTS,
    situations={"broadcast": "broadcast (backward)"},
    nan="NaN (backward)",
    compare=gradient_check,
)


def order_of(x):
    """A rounding-proof bound for a small positive number: '< 1e-10' style."""
    if x <= 0:
        return "0"
    return f"< 1e{int(np.floor(np.log10(x))) + 1}"


def check_batchnorm_backward(fn):
    """Check a student's batchnorm_backward(dz_tilde, cache) -> (dz, dgamma, dbeta).

    The student receives the cache of helpers.batchnorm.batchnorm_forward(z, gamma, beta, eps),
    a dict whose documented keys are: "z_norm" (m, n); "gamma" (n,); "inv_std" (1, n), equal to
    1 / sqrt(var + eps); "m", the batch size; "axes" = (0,) (it also holds "mu", "var", "eps").
    Expected: dz (m, n), dgamma (n,), dbeta (n,), the gradients of the loss for upstream
    gradient dz_tilde (m, n).
    Each case is a float64 gradient check (helpers.gradcheck, centred differences of
    sum(z~ * dz_tilde)) with gamma != 1 and a non-uniform upstream gradient; every relative
    error must be below 1e-8. Recognises the common mistakes (mean or variance branch missing,
    wrong axis, dgamma/dbeta swapped, gamma forgotten, inv_std rebuilt from var with eps
    missing, outside the square root or fixed, the sign of dz) and prints a hint; any other
    wrong answer gets a located hint (which output, which branch of dz; see located_hint).
    Prints the largest relative errors and "All N checks passed.", or the first problem;
    returns True/False; never raises.
    """
    errors = []
    exercise = dataclasses.replace(
        BATCHNORM_BACKWARD, compare=lambda *args: gradient_check(*args, errors=errors))
    passed = run_exercise(exercise, fn)
    if passed:
        worst = np.max(np.asarray(errors), axis=0)
        print("Largest relative error against the numerical gradient: "
              + ", ".join(f"{name} {order_of(e)}" for name, e in zip(BACKWARD_OUTPUTS, worst))
              + " (all below 1e-8).")
    return passed


# ----------------------------------------------------------------------------- 08 layer norm
def layer_norm_backward_cases():
    """Non-square batches (a sum over the wrong axis shows), gamma != 1, eps passed by keyword."""
    rng = np.random.default_rng(case_seed(2808))

    def case(description, m, n, eps=None, spread=1.0):
        z = (rng.normal(size=(m, n)) * rng.uniform(0.5, 3.0, (m, 1)) * spread
             + rng.normal(0.0, 4.0, (m, 1)))
        args = (rng.normal(size=(m, n)), z, rng.uniform(0.5, 2.0, n))
        return Case(description, args, {} if eps is None else {"eps": eps})

    return [
        case("4 examples x 6 units, each example with its own mean and spread", 4, 6),
        case("9 examples x 3 units, gamma != 1", 9, 3),
        case("a batch of ONE example, 1 x 5", 1, 5),
        case("examples with a tiny spread (variance about 1e-4) and eps=1e-2 by keyword", 5, 4,
             eps=1e-2, spread=0.005),
    ]


def layer_norm_backward_reference(case):
    """helpers.normalization's layer norm forward then backward (floor 2, imported here)."""
    from helpers import normalization

    dz_tilde, z, gamma = case.args
    cache = normalization.layernorm_forward(z, gamma, np.zeros_like(gamma), **case.kwargs)[1]
    return normalization.layernorm_backward(dz_tilde, cache)


def layer_norm_backward_variant(case, sum_axis=1, count="n", mean_branch=True, var_branch=True,
                                param_axis=0, eps=None, spread="sqrt(var + eps)", sign=1,
                                gamma_in_dz=True, statistics_axis=1):
    """What a student making one of the mistakes returns (float64).

    statistics_axis=0 normalizes like batch norm (per unit) in the recomputed forward pass."""
    dz_tilde, z, gamma = case.args
    eps = case.kwargs.get("eps", 1e-5) if eps is None else eps
    mu = z.mean(axis=statistics_axis, keepdims=True)
    var = z.var(axis=statistics_axis, keepdims=True)
    inv_std = 1.0 / divisor(var, eps, spread)
    z_norm = (z - mu) * inv_std
    dz_norm = dz_tilde * gamma if gamma_in_dz else dz_tilde
    N = z.shape[1] if count == "n" else z.shape[0]
    total = N * dz_norm
    if mean_branch:
        total = total - dz_norm.sum(axis=sum_axis, keepdims=True)
    if var_branch:
        total = total - z_norm * (dz_norm * z_norm).sum(axis=sum_axis, keepdims=True)
    dz = sign * inv_std / N * total
    return dz, (dz_tilde * z_norm).sum(axis=param_axis), dz_tilde.sum(axis=param_axis)


LN_MISTAKES = {
    "layer norm backward: batch sums": Mistake(
        "The sums in your dz run over the batch (axis=0), as in batch norm. Layer norm takes one "
        "mean and variance per EXAMPLE, over its n units: the branches through mu and var sum "
        "over axis=1 (keepdims=True), and divide by n.",
        ({"sum_axis": 0, "count": "m"}, {"sum_axis": 0},
         {"sum_axis": 0, "count": "m", "statistics_axis": 0})),
    "layer norm backward: divisor m": Mistake(
        "Your dz divides by m, the batch size. One mean and variance of layer norm average the n "
        "units of an example, so the branches through them divide by n = z.shape[1].",
        ({"count": "m"},)),
    "layer norm backward: both branches": Mistake(
        "The paths through mu and through var are both missing: your dz is only the direct "
        "path, as if each example's mu and var were constants. But every z of an example moves "
        "that example's mu and var: derive the gradients that come back through them too, as "
        "notebook 04 did step by step.", ({"mean_branch": False, "var_branch": False},)),
    "layer norm backward: mean branch": Mistake(
        "The path through mu is missing: dz lacks the contribution of dmu. Every z of an example "
        "moves that example's mu, and mu moves every centered value of the example: dmu "
        "collects the gradient from the n units of the example, and each unit gets its share "
        "back in dz.", ({"mean_branch": False},)),
    "layer norm backward: variance branch": Mistake(
        "The path through var is missing: dcentered lacks the term from dvar. Every z of an "
        "example moves that example's var, and var (through inv_std) scales every z_norm of the "
        "example: derive dvar from the gradient reaching inv_std, collected over the n units "
        "of the example, and add its term to dcentered.", ({"var_branch": False},)),
    "gamma missing from dz": mistakes.CATALOGUE["gamma missing from dz"],
    **BACKWARD_HINTS,
}

LN_GROUP_WORDS = "over the units of each example (axis=1)"


def layer_norm_located(values, expected, case):
    """The located hint, with the z_norm of this case's forward pass."""
    z = case.args[1]
    eps = case.kwargs.get("eps", 1e-5)
    z_norm = (z - z.mean(axis=1, keepdims=True)) / np.sqrt(z.var(axis=1, keepdims=True) + eps)
    return located_hint(values, expected, z_norm, 1, LN_GROUP_WORDS)


LAYER_NORM_BACKWARD = Exercise(
    name="layer_norm_backward",
    args=("dz_tilde", "z", "gamma"),
    outputs=(Output("dz", lambda case: case.args[1].shape),
             Output("dgamma", lambda case: case.args[2].shape),
             Output("dbeta", lambda case: case.args[2].shape)),
    cases=layer_norm_backward_cases,
    reference=layer_norm_backward_reference,
    variant=layer_norm_backward_variant,
    mistakes=tuple(LN_MISTAKES),
    fallback=layer_norm_located,
    terms={"group": "unit", "over": "the batch", "axis": "axis=0",
           "eps_source": "eps is your function's argument"},
    situations={"broadcast": "broadcast (layer norm backward)"},
    nan="NaN",
    own_hints={**LN_MISTAKES, "broadcast (layer norm backward)": Mistake(
        "The shapes do not line up. A sum over the units of each example has shape (m,); keep "
        "it as (m, 1) with keepdims=True where it is combined with (m, n) arrays. Sums over the "
        "batch (dgamma, dbeta) have shape (n,).")},
)


def check_layer_norm_backward(fn):
    """Check a student's layer_norm_backward(dz_tilde, z, gamma, eps=1e-5) -> (dz, dgamma, dbeta).

    dz_tilde, z: (m, n); gamma: (n,). Expected: the gradients of layer norm (one mean and
    biased variance per example over its n units; see helpers.normalization.layernorm_forward
    and layernorm_backward), dz (m, n), dgamma (n,), dbeta (n,) (sums over the batch).
    Recognises: batch-norm sums over axis 0, a divisor m instead of n, the mean or variance
    branch missing, gamma forgotten, a forward pass with eps missing, outside the square root or
    fixed, the sign of dz, dgamma/dbeta summed over the units, outputs in the wrong order; any
    other wrong dz gets a hint that says which output and which branch is wrong.
    Prints "All N checks passed." or the first problem with a hint; returns True/False; never
    raises.
    """
    return run_exercise(LAYER_NORM_BACKWARD, fn)
