"""helpers.widgets: drive notebook 01's explorer without a browser.

Set the controls programmatically, then compare the explorer's numbers with computations made
here from the data (eigenvalues of the Hessian built by hand, 2 / lambda_max, ...).
"""

import itertools

import ipywidgets as widgets
import numpy as np
import pytest

from helpers.data import load_wine, train_test_split
from helpers.widgets import InputScaleExplorer


@pytest.fixture(scope="module")
def wine_pair():
    wine = load_wine()
    X_train, _, y_train, _ = train_test_split(wine.X, wine.y)
    names = list(wine.feature_names)
    X = X_train[:, [names.index("proline"), names.index("hue")]] / [1000.0, 1.0]  # proline in g/L
    return X, (y_train == 0).astype(float)


@pytest.fixture
def explorer(wine_pair):
    return InputScaleExplorer(*wine_pair, feature_names=("proline (g/L)", "hue"), max_steps=600)


def hessian_eigenvalues(X):
    A = np.column_stack([X, np.ones(len(X))])
    return np.linalg.eigvalsh(A.T @ A / len(X))


def test_controls_are_exposed_by_name(explorer):
    assert isinstance(explorer.sliders["scale"], widgets.FloatLogSlider)
    assert explorer.sliders["scale"].min == 0 and explorer.sliders["scale"].max == 3  # 1x..1000x
    assert explorer.sliders["lr"].max > 1.0  # lets the user cross the stability limit
    assert isinstance(explorer.sliders["normalize"], widgets.Checkbox)
    assert isinstance(explorer.image, widgets.Image) and isinstance(explorer.readout, widgets.HTML)
    assert explorer.image in explorer.widget.children
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


@pytest.mark.parametrize("scale", [1.0, 10.0, 1000.0])
def test_eigenvalues_and_stable_lr_match_the_data(explorer, wine_pair, scale):
    X, _ = wine_pair
    explorer.sliders["scale"].value = scale
    ev = hessian_eigenvalues(X * [scale, 1.0])
    result = explorer.result
    np.testing.assert_allclose(result["eigenvalues"], ev, rtol=1e-8)
    assert result["condition_number"] == pytest.approx(ev[-1] / ev[0], rel=1e-6)
    assert result["stable_lr"] == pytest.approx(2 / ev[-1], rel=1e-10)
    assert result["lr"] == pytest.approx(explorer.sliders["lr"].value * 2 / ev[-1], rel=1e-10)
    assert f"{ev[-1] / ev[0]:.3g}" in explorer.readout.value


def test_condition_number_grows_with_scale_and_normalizing_lowers_it(explorer, wine_pair):
    X, _ = wine_pair
    kappas = []
    for scale in (1.0, 10.0, 100.0, 1000.0):
        explorer.sliders["scale"].value = scale
        kappas.append(explorer.result["condition_number"])
    assert all(b > 10 * a for a, b in itertools.pairwise(kappas))  # curvature ~ scale**2
    explorer.sliders["normalize"].value = True
    Xn = (X - X.mean(0)) / X.std(0)  # any scale normalizes to the same features
    ev = hessian_eigenvalues(Xn)
    assert explorer.result["condition_number"] == pytest.approx(ev[-1] / ev[0], rel=1e-5)
    assert explorer.result["condition_number"] < kappas[0] / 10


def test_below_the_limit_the_loss_decreases_above_it_diverges(explorer, wine_pair):
    X, t = wine_pair
    explorer.sliders["lr"].value = 0.9
    gaps = explorer.result["gaps"]
    assert np.all(np.diff(gaps) <= 1e-12) and gaps[-1] < 1e-6 * gaps[0]
    k = explorer.result["steps_to_tol"]
    assert k is not None and gaps[k] <= 1e-6 < gaps[k - 1]
    assert f"converged in {k:,} steps" in explorer.readout.value
    # The loss at the end of the path, recomputed from its parameters, is the least-squares fit.
    A = np.column_stack([X, np.ones(len(X))])
    theta = explorer.result["path"][-1]
    best = np.linalg.lstsq(A, t, rcond=None)[0]
    np.testing.assert_allclose(theta, best, atol=1e-4)

    explorer.sliders["lr"].value = 1.1
    assert explorer.result["diverged"]
    assert explorer.result["gaps"][-1] > 1e3 * explorer.result["gaps"][0]
    assert "diverges" in explorer.readout.value


def test_large_scale_does_not_converge_within_the_budget(explorer):
    explorer.sliders["scale"].value = 1000.0
    result = explorer.result
    assert result["steps_to_tol"] is None and not result["diverged"]
    assert result["predicted_steps"] > 100 * explorer.max_steps
    assert "not converged in 600 steps" in explorer.readout.value


def test_every_control_change_redraws_a_new_image(explorer):
    images, readouts = [bytes(explorer.image.value)], [explorer.readout.value]
    for name, value in [("scale", 10.0), ("lr", 0.5), ("normalize", True), ("lr", 1.05)]:
        explorer.sliders[name].value = value
        images.append(bytes(explorer.image.value))
        readouts.append(explorer.readout.value)
    assert all(image.startswith(b"\x89PNG") for image in images)
    assert all(a != b for a, b in itertools.pairwise(images))
    assert len(explorer.redraw_ms) == 5 and all(ms > 0 for ms in explorer.redraw_ms)


def test_compute_is_pure(explorer):
    params = {"scale": 30.0, "lr": 0.7, "normalize": False}
    first, second = explorer.compute(params), explorer.compute(dict(params))
    for key in ("eigenvalues", "path", "gaps", "background"):
        np.testing.assert_array_equal(first[key], second[key])
    assert explorer.sliders["scale"].value == 1.0  # computing does not touch the controls


def test_bad_data_gets_a_clear_error(wine_pair):
    X, t = wine_pair
    with pytest.raises(ValueError, match="X must have shape"):
        InputScaleExplorer(np.c_[X, X], t)
    with pytest.raises(ValueError, match="t must have shape"):
        InputScaleExplorer(X, t[:-1])
