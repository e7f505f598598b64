"""Notebook 08 (beyond batch norm): the checker, the explorer, the figure and the key numbers.

The notebook's claims are asserted here on smaller runs: BN degrades at tiny batches while LN
and GN do not, batch variances are (m - 1) / m of the population's, a batch of one fails for BN
only, and one example's output moves with its companions under BN only.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from helpers import data, plots
from helpers.batchnorm import batchnorm_forward
from helpers.checks import check_layernorm_forward
from helpers.normalization import (
    NormMLP,
    groupnorm_forward,
    layernorm_forward,
    train_norm_mlp,
)
from helpers.optimizers import Adam
from helpers.widgets import NormalizationCompanionsExplorer

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08_beyond_batchnorm.ipynb"


# ----------------------------------------------------------------------------- the checker
def solution(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=1, keepdims=True)
    var = z.var(axis=1, keepdims=True)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def batch_axis(z, gamma, beta, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta


def unbiased(z, gamma, beta, eps=1e-5):
    mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, ddof=1, keepdims=True)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def eps_outside(z, gamma, beta, eps=1e-5):
    mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
    return gamma * (z - mu) / (np.sqrt(var) + eps) + beta


def swapped(z, gamma, beta, eps=1e-5):
    return solution(z, beta, gamma, eps)


def no_keepdims_square_only(z, gamma, beta, eps=1e-5):
    # Passes the broadcast only when m == n: then mu (m,) is subtracted along the wrong axis.
    if z.shape[0] != z.shape[1]:
        return solution(z, gamma, beta, eps)
    return gamma * (z - z.mean(axis=1)) / np.sqrt(z.var(axis=1) + eps) + beta


def fixed_eps(z, gamma, beta, eps=1e-5):
    return solution(z, gamma, beta, 1e-5)


def in_place(z, gamma, beta, eps=1e-5):
    z -= z.mean(axis=1, keepdims=True)
    return gamma * z / np.sqrt(z.var(axis=1, keepdims=True) + eps) + beta


def run(fn, capsys):
    passed = check_layernorm_forward(fn)
    return passed, capsys.readouterr().out


def test_checker_passes_the_solution_and_the_helper(capsys):
    passed, out = run(solution, capsys)
    assert passed and "All 6 checks passed." in out
    passed, out = run(lambda z, g, b, eps=1e-5: layernorm_forward(z, g, b, eps)[0], capsys)
    assert passed, out


@pytest.mark.parametrize("fn, words", [
    (batch_axis, "that is batch norm"),
    (unbiased, "unbiased variance"),
    (eps_outside, "eps is outside the square root"),
    (swapped, "gamma and beta are swapped"),
    (no_keepdims_square_only, "keepdims=True"),
    (fixed_eps, "eps was fixed at 1e-05"),
    (in_place, "changed its input z in place"),
    (lambda z, g, b, eps=1e-5: (z - z.mean(axis=1, keepdims=True))
     / np.sqrt(z.var(axis=1, keepdims=True) + eps), "You returned z_norm"),
    (lambda z, g, b, eps=1e-5: g * (z - z.mean(1)) / np.sqrt(z.var(1) + eps) + b, "keepdims=True"),
    (lambda z, g, b, eps=1e-5: solution(z, g, b, eps)[:, :-1], "has shape"),
    (lambda z, g, b, eps=1e-5: None, "returned None"),
    (lambda z, g, b, eps=1e-5: (solution(z, g, b, eps), None), "expected the array z_tilde alone"),
    (lambda z, g, b, eps=1e-5: 1 / 0, "ZeroDivisionError"),
    (lambda z, g, b: solution(z, g, b), "Keep the function signature"),
    (lambda z, g, b, eps=1e-5: g * (z - z.mean(1, keepdims=True)) / np.sqrt(
        z.var(1, keepdims=True)) + b, "eps is missing"),
])
def test_checker_names_each_mistake_and_never_raises(fn, words, capsys):
    with np.errstate(all="ignore"):
        passed, out = run(fn, capsys)
    assert not passed
    assert words in out, out
    assert "Hint" in out


def test_checker_rejects_a_non_function(capsys):
    passed, out = run(3, capsys)
    assert not passed and "pass the function itself" in out


# ----------------------------------------------------------------------------- the figure
@pytest.mark.parametrize("method, expected", [("batch", 4), ("layer", 6), ("group", 2)])
def test_normalization_cube_shades_what_one_statistic_covers(method, expected):
    fig, ax = plt.subplots()
    try:
        assert plots.normalization_cube(ax, method, channels=6, examples=4, groups=3) == expected
        assert ax.get_title()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kwargs, words", [({"method": "instance"}, "method must be"),
                                           ({"method": "group", "groups": 4}, "groups must divide"),
                                           ({"method": "layer", "channels": 0}, "channels")])
def test_normalization_cube_rejects_bad_settings(kwargs, words):
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match=words):
            plots.normalization_cube(ax, **kwargs)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- the explorer
@pytest.fixture(scope="module")
def z_layer():
    rng = np.random.default_rng(0)
    X = data.load_digits().X[:400] / 16.0
    return X @ rng.normal(0.0, np.sqrt(2 / 64), (64, 16))


@pytest.fixture(scope="module")
def explorer(z_layer):
    return NormalizationCompanionsExplorer(z_layer, index=3, batch_sizes=(2, 4, 16, 64),
                                           draws=120, groups=4, units=8, shown=10)


def test_explorer_controls_and_view(explorer):
    slider = explorer.sliders["m"]
    assert tuple(slider.options) == (2, 4, 16, 64)
    assert explorer.image in explorer.widget.children
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    slider.value = 16
    assert explorer.result["m"] == 16 and "m = 16" in explorer.readout.value
    assert explorer.image.value[:4] == b"\x89PNG"
    assert len(explorer.redraw_ms) >= 2


def test_ln_and_gn_outputs_never_move_and_match_the_example_alone(explorer, z_layer):
    ones, zeros = np.ones(16), np.zeros(16)
    alone_ln = layernorm_forward(z_layer[3:4], ones, zeros)[0][0]
    alone_gn = groupnorm_forward(z_layer[3:4], ones, zeros, 4)[0][0]
    for m in explorer.sizes:
        r = explorer.compute({"m": m})
        np.testing.assert_allclose(r["outputs"]["layer"], np.broadcast_to(alone_ln, (120, 16)),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(r["outputs"]["group"], np.broadcast_to(alone_gn, (120, 16)),
                                   rtol=0, atol=1e-12)
        assert r["spread"]["layer"] < 1e-12 and r["spread"]["group"] < 1e-12


def test_bn_output_moves_with_the_batch_and_shrinks_like_one_over_sqrt_m(explorer, z_layer):
    spreads = explorer.spreads["batch"]
    assert np.all(np.diff(spreads) < 0)
    slope = np.polyfit(np.log(explorer.sizes[1:]), np.log(spreads[1:]), 1)[0]
    assert -0.65 < slope < -0.35  # about -1/2
    # At m = 2 each unit's z_norm is +-1 (up to eps): the companion only decides the sign.
    at2 = explorer.compute({"m": 2})["outputs"]["batch"]
    assert np.mean(np.abs(np.abs(at2) - 1) < 0.01) > 0.9
    # The reference is the example normalized with the whole population's statistics.
    mu, var = z_layer.mean(axis=0), z_layer.var(axis=0)
    np.testing.assert_allclose(explorer.reference["batch"], (z_layer[3] - mu) / np.sqrt(var + 1e-5))


def test_explorer_rejects_bad_input(z_layer):
    with pytest.raises(ValueError, match="batch sizes"):
        NormalizationCompanionsExplorer(z_layer, batch_sizes=(1, 4))
    with pytest.raises(ValueError, match="index"):
        NormalizationCompanionsExplorer(z_layer, index=400)
    with pytest.raises(ValueError, match="groups must divide"):
        NormalizationCompanionsExplorer(z_layer, groups=5, batch_sizes=(2,), draws=3)
    explorer = NormalizationCompanionsExplorer(z_layer, batch_sizes=(2, 4), draws=5)
    with pytest.raises(ValueError, match="m must be one of"):
        explorer.compute({"m": 3})


# ----------------------------------------------------------------------------- key numbers
@pytest.fixture(scope="module")
def digits_split():
    digits = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(digits.X / 16.0, digits.y,
                                                             test_fraction=0.25, seed=0)
    return X_train[:500], X_test, y_train[:500], y_test


@pytest.fixture(scope="module")
def accuracies(digits_split):
    """The notebook's experiment, smaller: 500 training examples, batch sizes 2 and 32."""
    X_train, X_test, y_train, y_test = digits_split
    acc = {}
    for norm in ("batch", "layer", "group"):
        for m in (2, 32):
            net = NormMLP((64, 32, 32, 10), norm=norm, groups=4)
            params, state = net.init(seed=0)
            params, state, _ = train_norm_mlp(net, params, state, X_train, y_train,
                                              Adam(0.005 * np.sqrt(m / 16)), epochs=4,
                                              batch_size=m, seed=0)
            acc[norm, m] = net.accuracy(params, state, X_test, y_test)
    return acc


def test_bn_degrades_at_tiny_batches(accuracies):
    assert accuracies["batch", 32] > 0.8
    assert accuracies["batch", 2] < accuracies["batch", 32] - 0.25


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_ln_and_gn_do_not_degrade_at_tiny_batches(accuracies, norm):
    assert accuracies[norm, 2] > accuracies["batch", 2] + 0.25
    assert accuracies[norm, 2] > accuracies[norm, 32] - 0.05
    assert accuracies[norm, 2] > 0.8


@pytest.mark.parametrize("m", [2, 4, 16])
def test_batch_variances_are_m_minus_1_over_m_of_the_population(m, digits_split):
    z = digits_split[0] @ np.random.default_rng(1).normal(size=(64, 8))
    batches = z[np.random.default_rng(2).permutation(len(z))[: len(z) - len(z) % m]]
    ratio = np.mean(batches.reshape(-1, m, 8).var(axis=1) / z.var(axis=0))
    assert ratio == pytest.approx((m - 1) / m, abs=0.05)


def test_a_batch_of_one_trains_under_ln_and_gn_but_not_bn(digits_split):
    X = digits_split[0][:1]
    for norm in ("layer", "group"):
        net = NormMLP((64, 32, 32, 10), norm=norm, groups=4)
        logits, _, _ = net.forward(*net.init(), X, training=True)
        assert logits.shape == (1, 10)
    net = NormMLP((64, 32, 32, 10), norm="batch")
    with pytest.raises(ValueError, match="batch of at least 2"):
        net.forward(*net.init(), X, training=True)
    with pytest.raises(ValueError, match="batch of at least 2"):
        batchnorm_forward(np.ones((1, 4)), np.ones(4), np.zeros(4))


# ----------------------------------------------------------------------------- the notebook file
@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_notebook_exercise_cells_are_marked_for_nbgrader(cells):
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells
              if "nbgrader" in c.get("metadata", {})}
    solution_cell, test_cell = graded["layernorm_forward"], graded["layernorm_forward_test"]
    assert solution_cell["metadata"]["nbgrader"] == {
        "grade": False, "solution": True, "locked": False, "grade_id": "layernorm_forward",
        "schema_version": 3}
    assert test_cell["metadata"]["nbgrader"] == {
        "grade": True, "solution": False, "locked": True, "grade_id": "layernorm_forward_test",
        "points": 2, "schema_version": 3}
    source = "".join(solution_cell["source"])
    assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
    assert "assert check_layernorm_forward(layernorm_forward)" in "".join(test_cell["source"])


def test_notebook_conventions(cells):
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    first = json.loads((NOTEBOOK.parent / "01_input_normalization.ipynb").read_text())["cells"]
    first_code = next("".join(c["source"]) for c in first if c["cell_type"] == "code")
    assert code[0] == first_code  # the Colab-friendly setup cell
    assert not any("import tensorflow" in c or "import keras" in c for c in code)
    ignored = [c for c in code if "NBVAL_IGNORE_OUTPUT" in c]
    assert ignored and all(c.splitlines()[0] == "# NBVAL_IGNORE_OUTPUT" and
                           c.splitlines()[1].startswith("# (why:") for c in ignored)
    assert all(c["execution_count"] is not None for c in cells if c["cell_type"] == "code")
