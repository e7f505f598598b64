"""helpers/checks/backward.py: notebook 08's layer_norm_backward, and the located hints that
tell which output and which branch of a wrong backward pass is wrong (04 and 08).

Every student function is written out in NumPy, as a student would (the compact formula, the
staged CS231n-style derivation, and each mistake); the tests assert on the printed hint.
"""

import numpy as np
import pytest

from helpers.checks import check_layer_norm_backward
from helpers.checks.backward import located_hint
from helpers.normalization import layernorm_backward, layernorm_forward


def run(fn, capsys):
    passed = check_layer_norm_backward(fn)
    captured = capsys.readouterr()
    assert captured.err == ""
    return passed, captured.out


def forward(z, eps):
    mu = z.mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(z.var(axis=1, keepdims=True) + eps)
    return (z - mu) * inv_std, inv_std


def compact(dz_tilde, z, gamma, eps=1e-5):
    z_norm, inv_std = forward(z, eps)
    n = z.shape[1]
    dz_norm = dz_tilde * gamma
    dz = inv_std / n * (n * dz_norm - dz_norm.sum(axis=1, keepdims=True)
                        - z_norm * (dz_norm * z_norm).sum(axis=1, keepdims=True))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def staged(dz_tilde, z, gamma, eps=1e-5):
    """The graph of small steps, backward one step at a time."""
    n = z.shape[1]
    mu = z.mean(axis=1, keepdims=True)
    zmu = z - mu
    var = (zmu ** 2).mean(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    z_norm = zmu / std
    dz_norm = dz_tilde * gamma
    dstd = -(dz_norm * zmu).sum(axis=1, keepdims=True) / std ** 2
    dvar = dstd / (2 * std)
    dzmu = dz_norm / std + 2 * zmu * dvar / n
    dmu = -dzmu.sum(axis=1, keepdims=True)
    return dzmu + dmu / n, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


@pytest.mark.parametrize("fn", [compact, staged])
def test_right_answers_pass(fn, capsys):
    passed, out = run(fn, capsys)
    assert passed and "All 4 checks passed." in out, out


def test_importing_the_reference_is_not_accepted(capsys):
    def via_helpers(dz_tilde, z, gamma, eps=1e-5):
        cache = layernorm_forward(z, gamma, np.zeros_like(gamma), eps)[1]
        return layernorm_backward(dz_tilde, cache)

    assert run(via_helpers, capsys)[0] is True  # a wrapper passes (documented) ...
    assert run(layernorm_backward, capsys)[0] is False  # ... the helper itself does not


def student(sum_axis=1, divide_by="n", mean_branch=True, var_branch=True, params_axis=0,
            eps_kind="right", sign=1):
    """The compact formula with one mistake, written out."""

    def layer_norm_backward(dz_tilde, z, gamma, eps=1e-5):
        mu = z.mean(axis=1, keepdims=True)
        var = z.var(axis=1, keepdims=True)
        std = {"right": np.sqrt(var + eps), "missing": np.sqrt(var),
               "outside": np.sqrt(var) + eps, "fixed": np.sqrt(var + 1e-5)}[eps_kind]
        z_norm = (z - mu) / std
        N = z.shape[1] if divide_by == "n" else z.shape[0]
        dz_norm = dz_tilde * gamma
        dz = N * dz_norm
        if mean_branch:
            dz = dz - dz_norm.sum(axis=sum_axis, keepdims=True)
        if var_branch:
            dz = dz - z_norm * (dz_norm * z_norm).sum(axis=sum_axis, keepdims=True)
        dz = sign * dz / (N * std)
        return dz, (dz_tilde * z_norm).sum(axis=params_axis), dz_tilde.sum(axis=params_axis)

    return layer_norm_backward


MISTAKES = {
    "sums over the batch (batch-norm style)": (student(sum_axis=0),
                                               "run over the batch (axis=0), as in batch norm"),
    "batch-norm sums and divisor m": (student(sum_axis=0, divide_by="m"),
                                      "run over the batch (axis=0), as in batch norm"),
    "divisor m instead of n": (student(divide_by="m"), "Your dz divides by m, the batch size"),
    "mean branch missing": (student(mean_branch=False),
                            "The path through mu is missing: dz lacks the contribution of dmu"),
    "variance branch missing": (student(var_branch=False), "The path through var is missing: "
                                "dcentered lacks the term from dvar"),
    "both branches missing": (student(mean_branch=False, var_branch=False),
                              "paths through mu and through var are both missing"),
    "dgamma and dbeta over the units": (student(params_axis=1),
                                        "dgamma has one entry per unit: reduce over the batch"),
    "sign error": (student(sign=-1), "dz has the opposite sign everywhere"),
    "forward without eps": (student(eps_kind="missing"), "normalizes without eps"),
    "forward with eps outside the sqrt": (student(eps_kind="outside"),
                                          "eps outside the square root"),
    "forward with a fixed eps": (student(eps_kind="fixed"),
                                 "uses eps = 1e-05, not the eps of the forward pass"),
}


# Pieces of the compact formula (the exercise's answer): no hint may print them.
COMPACT_FORMULA = ("inv_std / n", "n * dz_norm", "dz_norm * z_norm).sum", "average of dz_norm")


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_gets_its_hint(name, capsys):
    fn, words = MISTAKES[name]
    passed, out = run(fn, capsys)
    assert passed is False
    assert words in out, out
    assert not [piece for piece in COMPACT_FORMULA if piece in out], out


def test_dgamma_and_dbeta_swapped_is_an_order_problem(capsys):
    def swapped(dz_tilde, z, gamma, eps=1e-5):
        dz, dgamma, dbeta = compact(dz_tilde, z, gamma, eps)
        return dz, dbeta, dgamma

    passed, out = run(swapped, capsys)
    assert passed is False and "it returns the expected (dz, dbeta, dgamma)" in out, out


def test_a_wrong_branch_sign_gets_a_located_hint(capsys):
    def mean_sign_flipped(dz_tilde, z, gamma, eps=1e-5):
        z_norm, inv_std = forward(z, eps)
        n = z.shape[1]
        dz_norm = dz_tilde * gamma
        dz = inv_std / n * (n * dz_norm + dz_norm.sum(axis=1, keepdims=True)
                            - z_norm * (dz_norm * z_norm).sum(axis=1, keepdims=True))
        return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)

    passed, out = run(mean_sign_flipped, capsys)
    assert passed is False
    assert "dz is wrong in the MEAN branch" in out
    assert "over the units of each example (axis=1)" in out and "VARIANCE" not in out


def test_located_hint_reads_the_invariants():
    rng = np.random.default_rng(0)
    z, dz_tilde = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    gamma = rng.uniform(0.5, 2, 4)
    cache = layernorm_forward(z, gamma, np.zeros(4))[1]
    right = layernorm_backward(dz_tilde, cache)
    z_norm = forward(z, 1e-5)[0]
    words = "over the units (axis=1)"
    assert located_hint(right, right, z_norm, 1, words).strip() == "dz is right."
    shifted = (right[0] + 1.0, *right[1:])  # sums over each example no longer 0
    assert "MEAN branch" in located_hint(shifted, right, z_norm, 1, words)
    stretched = (right[0] + 0.1 * z_norm, *right[1:])  # only the sum of dz * z_norm moves
    hint = located_hint(stretched, right, z_norm, 1, words)
    assert "VARIANCE branch" in hint and "MEAN" not in hint
    direct = (right[0] * 2, *right[1:])  # both sums stay 0 / right: the direct term
    assert "look at the direct term" in located_hint(direct, right, z_norm, 1, words)


@pytest.mark.parametrize("fn, words", [
    (lambda d, z, g, eps=1e-5: (_ for _ in ()).throw(NotImplementedError()),
     "replace `raise NotImplementedError()`"),
    (lambda d, z, g, eps=1e-5: None, "forget the `return` statement"),
    (lambda d, z, g: compact(d, z, g), "Keep the function signature"),
    (lambda d, z, g, eps=1e-5: (d, g), "expected a tuple of 3: (dz, dgamma, dbeta)"),
    (lambda d, z, g, eps=1e-5: (d + np.ones((d.shape[0] + 1, 1)), g, g), "raised ValueError"),
])
def test_broken_functions_fail_without_raising(fn, words, capsys):
    passed, out = run(fn, capsys)
    assert passed is False and words in out, out
