"""helpers.widgets: drive the explorers of notebooks 02 and 03 without a browser.

Set the controls programmatically, then compare the explorer's numbers with the lecture's
formulas written out here in NumPy (never with the explorer's own code).
"""

import itertools

import ipywidgets as widgets
import numpy as np
import pytest

from helpers import plots
from helpers.widgets import BatchNormExplorer, IdentityBlendExplorer


@pytest.fixture(scope="module")
def z():
    """A batch of 200 examples x 12 units, each unit with its own mean and spread."""
    rng = np.random.default_rng(7)
    means = rng.uniform(-3.0, 3.0, size=12)
    stds = rng.uniform(0.2, 2.0, size=12)
    return rng.normal(size=(200, 12)) * stds + means


@pytest.fixture
def explorer(z):
    return BatchNormExplorer(z)


def lecture_bn(z, gamma, beta, eps):
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


def set_controls(explorer, **values):
    for name, value in values.items():
        explorer.sliders[name].value = value
    return explorer.result


# ----------------------------------------------------------------------------- BatchNormExplorer
def test_controls_are_exposed_by_name(explorer):
    assert isinstance(explorer.sliders["gamma"], widgets.FloatSlider)
    assert isinstance(explorer.sliders["beta"], widgets.FloatSlider)
    eps = explorer.sliders["eps"]
    assert isinstance(eps, widgets.FloatLogSlider) and (eps.min, eps.max) == (-8, 2)  # 1e-8..1e2
    assert tuple(explorer.sliders["activation"].options) == ("sigmoid", "tanh", "relu")
    assert explorer.image in explorer.widget.children
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


@pytest.mark.parametrize("gamma, beta, eps", [(1.0, 0.0, 1e-5), (2.5, -1.0, 1e-5), (0.5, 3.0, 1.0)])
def test_z_tilde_and_its_statistics_follow_the_formula(explorer, z, gamma, beta, eps):
    result = set_controls(explorer, gamma=gamma, beta=beta, eps=eps)
    expected = lecture_bn(z, gamma, beta, eps)
    np.testing.assert_allclose(result["z_tilde"], expected, atol=1e-12)
    var = z.var(axis=0)
    # Every unit has mean beta and variance gamma^2 var / (var + eps), so pooled over units:
    assert result["z_tilde_mean"] == pytest.approx(beta, abs=1e-12)
    assert result["z_tilde_std"] == pytest.approx(gamma * np.sqrt(np.mean(var / (var + eps))),
                                                  rel=1e-10)
    assert result["z_norm_std"] == pytest.approx(np.sqrt(np.mean(var / (var + eps))), rel=1e-10)
    assert f"mean {beta:.2f}" in explorer.readout.value.replace("-0.00", "0.00")


def test_large_eps_shrinks_z_norm(explorer, z):
    small = set_controls(explorer, eps=1e-8)["z_norm_std"]
    large = set_controls(explorer, eps=100.0)["z_norm_std"]
    assert small == pytest.approx(1.0, abs=1e-6)
    assert large < 0.3  # every unit's variance here is below 4, far under eps = 100


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturation_and_slope_readouts(explorer, z, name):
    result = set_controls(explorer, activation=name, gamma=3.0, beta=0.5)
    zt = lecture_bn(z, 3.0, 0.5, 1e-5)
    assert result["saturated"] == pytest.approx(np.mean(np.abs(zt) > 2.5))
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-zt))
        slope = np.mean(s * (1 - s) / 0.25)
        np.testing.assert_allclose(result["a"], s, atol=1e-12)
    else:
        slope = np.mean(1 - np.tanh(zt) ** 2)
        np.testing.assert_allclose(result["a"], np.tanh(zt), atol=1e-12)
    assert result["slope_ratio"] == pytest.approx(slope, rel=1e-10)
    assert result["dead"] is None and result["dead_units"] is None
    assert f"{np.mean(np.abs(zt) > 2.5):.1%}" in explorer.readout.value


def test_gamma_one_beta_zero_keeps_sigmoid_nearly_linear_and_gamma_widens_its_range(explorer):
    narrow = set_controls(explorer, activation="sigmoid", gamma=1.0, beta=0.0)
    assert narrow["saturated"] < 0.03 and narrow["slope_ratio"] > 0.75
    wide = set_controls(explorer, gamma=4.0)
    assert wide["saturated"] > 0.3 and wide["slope_ratio"] < 0.5


def test_relu_dead_outputs_and_dead_units(explorer, z):
    result = set_controls(explorer, activation="relu", gamma=1.0, beta=-3.0)
    zt = lecture_bn(z, 1.0, -3.0, 1e-5)
    assert result["dead"] == pytest.approx(np.mean(zt <= 0))
    assert result["dead_units"] == int(np.sum(np.all(zt <= 0, axis=0)))
    assert result["dead_units"] > 0 and result["saturated"] is None
    np.testing.assert_allclose(result["a"], np.maximum(zt, 0), atol=1e-12)
    assert f"{result['dead_units']} of 12 units dead" in explorer.readout.value
    assert set_controls(explorer, beta=0.0)["dead"] == pytest.approx(0.5, abs=0.05)


def test_histograms_are_shares_of_the_values_with_outliers_in_the_edge_bins(explorer, z):
    result = set_controls(explorer, gamma=5.0, beta=4.0)  # many values beyond the +10 edge
    zt = lecture_bn(z, 5.0, 4.0, 1e-5)
    edges = np.linspace(-10.0, 10.0, 101)
    counts, _ = np.histogram(np.clip(zt, -10.0, 10.0), bins=edges)
    np.testing.assert_allclose(result["heights"]["z_tilde"], 100 * counts / zt.size)
    for heights in result["heights"].values():
        assert heights.sum() == pytest.approx(100.0)
    assert result["heights"]["z_tilde"][-1] > 5  # the outliers are counted, not lost


def test_every_change_redraws_the_same_figure_in_place(explorer):
    figure, artists = explorer.figure, list(explorer.dynamic_artists())
    images = [bytes(explorer.image.value)]
    for name, value in [("gamma", 2.0), ("beta", -1.0), ("eps", 0.1), ("activation", "relu"),
                        ("activation", "tanh"), ("gamma", 0.5)]:
        explorer.sliders[name].value = value
        images.append(bytes(explorer.image.value))
    assert all(image.startswith(b"\x89PNG") for image in images)
    assert all(a != b for a, b in itertools.pairwise(images))
    assert explorer.figure is figure and list(explorer.dynamic_artists()) == artists
    assert len(figure.axes) == 4
    assert len(explorer.redraw_ms) == 7 and all(ms > 0 for ms in explorer.redraw_ms)
    # The drawn step heights are the computed histogram of z~.
    heights = explorer.dynamic_artists()[1].get_data().values
    np.testing.assert_allclose(heights, explorer.result["heights"]["z_tilde"])


def test_small_moves_reuse_the_cached_axes(explorer):
    set_controls(explorer, gamma=1.0)
    key = explorer._background_key
    set_controls(explorer, gamma=1.05)
    set_controls(explorer, beta=0.1)
    assert explorer._background_key == key  # only the histograms were redrawn


def test_compute_is_pure(explorer):
    params = {"gamma": 2.0, "beta": 1.0, "eps": 1e-3, "activation": "tanh"}
    first, second = explorer.compute(params), explorer.compute(dict(params))
    np.testing.assert_array_equal(first["z_tilde"], second["z_tilde"])
    assert explorer.sliders["gamma"].value == 1.0  # computing does not touch the controls


def test_bad_input_gets_a_clear_error(z):
    with pytest.raises(ValueError, match=r"z must have shape \(m, n\)"):
        BatchNormExplorer(z[:, 0])
    with pytest.raises(TypeError, match="floating-point"):
        BatchNormExplorer(z.astype(int))
    bad = z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BatchNormExplorer(bad)
    with pytest.raises(ValueError, match="activation must be one of"):
        BatchNormExplorer(z).compute({"gamma": 1.0, "beta": 0.0, "eps": 1e-5, "activation": "elu"})


# ----------------------------------------------------------------------------- IdentityBlendExplorer
@pytest.fixture
def blend(z):
    return IdentityBlendExplorer(z, eps=1e-5)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_blend_interpolates_gamma_and_beta(blend, z, t):
    blend.sliders["blend"].value = t
    result = blend.result
    mu, var = z.mean(axis=0), z.var(axis=0)
    gamma = (1 - t) + t * np.sqrt(var + 1e-5)
    beta = t * mu
    np.testing.assert_allclose(result["gamma"], gamma, rtol=1e-12)
    np.testing.assert_allclose(result["beta"], beta, atol=1e-12)
    np.testing.assert_allclose(result["z_tilde"], lecture_bn(z, gamma, beta, 1e-5), atol=1e-12)
    np.testing.assert_allclose(result["unit_mean"], beta, atol=1e-12)


def test_blend_ends_are_normalized_and_identity(blend, z):
    start = blend.result  # t = 0 when created
    np.testing.assert_allclose(start["unit_mean"], 0, atol=1e-12)
    var = z.var(axis=0)
    np.testing.assert_allclose(start["unit_std"], np.sqrt(var / (var + 1e-5)), rtol=1e-10)
    blend.sliders["blend"].value = 1.0
    assert blend.result["max_abs_diff"] < 1e-12
    assert blend.result["max_abs_diff"] == pytest.approx(np.max(np.abs(blend.result["z_tilde"] - z)))
    assert "max |z~ - z|" in blend.readout.value


def test_blend_redraws_in_place(blend):
    images = [bytes(blend.image.value)]
    for t in (0.25, 0.5, 1.0):
        blend.sliders["blend"].value = t
        images.append(bytes(blend.image.value))
    assert all(a != b for a, b in itertools.pairwise(images))
    points = blend.dynamic_artists()[1]
    np.testing.assert_allclose(points.get_xdata(), blend.result["unit_mean"])
    assert len(blend.redraw_ms) == 4


def test_blend_rejects_values_outside_0_1(blend):
    with pytest.raises(ValueError, match=r"blend must be in \[0, 1\]"):
        blend.compute({"blend": 1.5})


# ----------------------------------------------------------------------------- plots helpers
def test_histogram_percent_counts_every_value():
    values = np.array([-5.0, 0.1, 0.2, 0.9, 7.0])
    heights = plots.histogram_percent(values, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(heights, [60.0, 40.0])  # -5 joins the first bin, 7 the last
    with pytest.raises(ValueError, match="increasing"):
        plots.histogram_percent(values, [1.0, 0.0])
    with pytest.raises(ValueError, match="empty"):
        plots.histogram_percent([], [0.0, 1.0])


@pytest.mark.parametrize("peak, limit", [(0.9, 1.0), (1.0, 2.0), (3.0, 5.0), (4.9, 10.0),
                                         (12.0, 20.0), (0.0, 1.0)])
def test_nice_limit_steps(peak, limit):
    assert plots.nice_limit(peak) == pytest.approx(limit)
