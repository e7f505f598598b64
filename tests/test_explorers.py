"""helpers.explorers: drive every explorer without a browser.

Set the controls programmatically, then check that the explorer shows the numbers of its
helpers.experiments function (tested against the lecture's formulas in test_experiments.py),
that every change re-renders the one figure in place, that the readout says what the numbers
say, and that `compute` needs neither the widgets nor the figure.
"""

import base64
import io
import itertools
import json
import os
import re
import zlib
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import PIL.Image
import pytest

from helpers import data, experiments
from helpers.explorers import (
    BatchNormExplorer,
    CovariateShiftExplorer,
    Explorer,
    IdentityBlendExplorer,
    InputScaleExplorer,
    MiniBatchNoiseExplorer,
    NormalizationCompanionsExplorer,
    OptimizerExplorer,
    RunningAverageExplorer,
    base,
)
from helpers.explorers.base import (
    Checkbox,
    Choice,
    Slider,
    join,
    layout,
    make_control,
    number,
    png_bytes,
    readout_lines,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def set_controls(explorer, **values):
    for name, value in values.items():
        explorer.sliders[name].value = value
    return explorer.result


def assert_is_a_displayable_box(explorer):
    """Controls, then the figure, then the readout, as direct children of one VBox (what the
    browser tests look for), and the explorer displays itself as that widget."""
    children = explorer.widget.children
    assert isinstance(explorer.widget, widgets.VBox)
    assert list(children) == [*explorer.sliders.values(), explorer.image, explorer.readout]
    assert isinstance(explorer.image, widgets.Image) and isinstance(explorer.readout, widgets.HTML)
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert_static_picture(explorer)


def decode_png(data):
    return np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB"))


def assert_static_picture(explorer):
    """One output: the widget view, and beside it a PNG of the figure with the readout under it,
    drawn at twice the size it is shown at (metadata width = the live image's CSS width)."""
    data, metadata = explorer._repr_mimebundle_()
    assert WIDGET_VIEW in data and data[WIDGET_VIEW]["model_id"] == explorer.widget.model_id
    picture = decode_png(base64.b64decode(data["image/png"]))
    live = decode_png(explorer.image.value)
    width = metadata["image/png"]["width"]
    assert explorer.image.layout.width == f"{width}px"
    assert picture.shape[1] == live.shape[1] == 2 * width  # crisp: 2 pixels per CSS pixel
    assert picture.shape[0] > live.shape[0]  # the readout is drawn under the figure
    np.testing.assert_array_equal(picture[: live.shape[0]], live)  # the figure as shown live
    assert metadata["image/png"]["height"] == picture.shape[0] // 2
    for line in readout_lines(explorer.readout.value):
        assert line in data["text/plain"]


def assert_compute_needs_no_figure(explorer, params):
    """compute gives the same numbers with the figure and the widgets gone."""
    before = explorer.compute(params)
    explorer.figure, explorer.image, explorer.readout = None, None, None
    after = explorer.compute(dict(params))
    assert before.keys() == after.keys()
    for key in before:
        if isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(before[key], after[key])


# ============================================================================= base
def test_control_specs_become_ipywidgets():
    log = make_control(Slider("eps", "eps", 1e-5, 1e-8, 1e2, 0.5, log=True, readout_format=".0e"))
    assert isinstance(log, widgets.FloatLogSlider) and (log.min, log.max) == (-8, 2)
    assert log.value == pytest.approx(1e-5) and log.readout_format == ".0e"
    plain = make_control(Slider("beta", "beta", 0.0, -5.0, 5.0, 0.1), "4em", "30em")
    assert isinstance(plain, widgets.FloatSlider) and (plain.min, plain.max) == (-5, 5)
    assert plain.style.description_width == "4em" and plain.layout.width == "30em"
    buttons = make_control(Choice("g", "g", ("a", "b"), "b", buttons=True))
    assert isinstance(buttons, widgets.ToggleButtons) and buttons.value == "b"
    slider = make_control(Choice("m", "m", (2, 4, 8), 4))
    assert isinstance(slider, widgets.SelectionSlider) and slider.value == 4
    box = make_control(Checkbox("normalize", "normalize inputs"))
    assert isinstance(box, widgets.Checkbox) and box.value is False
    with pytest.raises(TypeError, match="control spec"):
        make_control({"name": "x"})
    image, readout = widgets.Image(), widgets.HTML()
    assert layout([plain, box], image, readout).children == (plain, box, image, readout)


class Counter(Explorer):
    """A minimal explorer: one slider, one line, a background that changes with the sign."""

    FIGSIZE = (3.0, 2.0)

    def __init__(self):
        self.computed = 0
        super().__init__()

    def controls(self):
        return [Slider("x", "x", 0.0, -1.0, 1.0, 0.5)]

    def compute(self, params):
        self.computed += 1
        return {"x": params["x"]}

    def setup_figure(self, figure):
        ax = figure.subplots()
        self._line = ax.plot([0, 1], [0, 0])[0]
        ax.set_ylim(-1, 1)

    def dynamic_artists(self):
        return [self._line]

    def static_key(self, result):
        return result["x"] >= 0

    def draw(self, result):
        self._line.set_ydata([0, result["x"]])

    def readout_html(self, result):
        return f"x = {result['x']}"


def test_base_redraws_on_change_and_caches_one_background_per_key():
    explorer = Counter()
    assert explorer.computed == 1 and explorer.readout.value == "x = 0.0"
    assert_is_a_displayable_box(explorer)
    set_controls(explorer, x=0.5)
    assert explorer.readout.value == "x = 0.5" and explorer._background_key is True
    set_controls(explorer, x=-0.5)
    assert explorer._background_key is False and len(explorer._backgrounds) == 2
    set_controls(explorer, x=1.0)  # the background of x >= 0 is reused
    assert len(explorer._backgrounds) == 2
    assert len(explorer.redraw_ms) == 4 and all(ms > 0 for ms in explorer.redraw_ms)
    assert explorer.params() == {"x": 1.0}


def test_a_setting_seen_before_is_shown_from_the_picture_cache():
    explorer = Counter()
    set_controls(explorer, x=0.5)
    shown = bytes(explorer.image.value)
    set_controls(explorer, x=-0.5)
    computed = explorer.computed
    set_controls(explorer, x=0.5)  # back to a setting seen before
    assert explorer.computed == computed  # looked up, not computed again
    assert bytes(explorer.image.value) == shown and explorer.readout.value == "x = 0.5"
    assert list(explorer._line.get_ydata()) == [0, 0.5]  # the figure object shows it too
    assert explorer._background_key is True and len(explorer.redraw_ms) == 4
    explorer._pictures.clear()
    explorer.redraw()  # drawn afresh: the very same picture
    assert explorer.computed == computed + 1 and bytes(explorer.image.value) == shown
    explorer.MAX_PICTURES = 2
    for x in (-1.0, 0.0, 1.0):
        set_controls(explorer, x=x)
    assert len(explorer._pictures) == 2  # the oldest settings are dropped


@pytest.mark.parametrize("fast", ["isal", "zlib"])
def test_png_bytes_decode_to_the_same_pixels(fast, monkeypatch):
    # With ISA-L's deflate (when installed) and with the standard library's, its fallback.
    if fast == "zlib":
        monkeypatch.setattr(base, "fast_zlib", zlib)
    elif os.environ.get("CI") or base.fast_zlib is not zlib:
        assert base.fast_zlib.__name__ == "isal.isal_zlib"  # requirements install it
    else:
        pytest.skip("isal is not installed (the explorers fall back to zlib)")
    rgba = np.random.default_rng(0).integers(0, 256, (70, 50, 4), dtype=np.uint8)
    rgba[20:50] = [255, 255, 255, 255]  # a flat band, as plots mostly are
    decoded = PIL.Image.open(io.BytesIO(png_bytes(rgba)))
    assert decoded.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(decoded), rgba)
    rgb = np.ascontiguousarray(rgba[..., :3])
    decoded = PIL.Image.open(io.BytesIO(png_bytes(rgb, small=True)))
    assert decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), rgb)
    for bad in (rgba[..., 0], rgba[..., :2], rgba.astype(np.float32)):
        with pytest.raises(ValueError, match=r"\(height, width, 3 or 4\) uint8"):
            png_bytes(bad)


def test_numbers_in_readouts_have_no_negative_zero():
    assert number(-0.001, ".2f") == "0.00" and number(-0.4, ".0f") == "0"
    assert number(-0.01, ".2f") == "-0.01" and number(-2e-9, ".3g") == "-2e-09"
    assert number(0.5, ".1%") == "50.0%" and number(-0.0001, ".1%") == "0.0%"


def test_readout_is_one_unwrapped_line_per_part():
    html = join(["<b>a</b> = 1 &amp; 2", "b"])
    assert html.count("<div") == 2 and "white-space: nowrap" in html
    assert readout_lines(html) == ["a = 1 & 2", "b"]


def test_an_explorer_must_declare_controls():
    class Empty(Counter):
        def controls(self):
            return []

    with pytest.raises(TypeError, match="no control"):
        Empty()


# ============================================================================= notebook 01
@pytest.fixture(scope="module")
def wine_pair():
    wine = data.load_wine()
    X_train, _, y_train, _ = data.train_test_split(wine.X, wine.y)
    names = list(wine.feature_names)
    X = X_train[:, [names.index("proline"), names.index("hue")]] / [1000.0, 1.0]
    return X, (y_train == 0).astype(float)


@pytest.fixture
def input_scale(wine_pair):
    return InputScaleExplorer(*wine_pair, feature_names=("proline (g/L)", "hue"), max_steps=600)


def test_input_scale_controls(input_scale):
    sliders = input_scale.sliders
    assert isinstance(sliders["scale"], widgets.FloatLogSlider)
    assert sliders["scale"].min == 0 and sliders["scale"].max == 3  # 1x..1000x
    assert sliders["lr"].max > 1.0  # lets the user cross the stability limit
    assert isinstance(sliders["normalize"], widgets.Checkbox)
    assert sliders["scale"].description == "proline (g/L) x"
    assert_is_a_displayable_box(input_scale)


@pytest.mark.parametrize("params", [{"scale": 10.0, "lr": 0.9, "normalize": False},
                                    {"scale": 1000.0, "lr": 0.5, "normalize": True},
                                    {"scale": 1.0, "lr": 1.1, "normalize": False}])
def test_input_scale_shows_the_experiment(input_scale, wine_pair, params):
    X, t = wine_pair
    r = set_controls(input_scale, **params)
    run = experiments.input_scale(X, t, params["scale"], params["lr"], params["normalize"],
                                  max_steps=600)
    np.testing.assert_array_equal(r["path"], run.run.thetas)
    np.testing.assert_array_equal(r["eigenvalues"], run.eigenvalues)
    assert (r["status"], r["steps_to_tol"], r["diverged"]) == (
        run.status, run.run.steps_to_tol, run.run.diverged)
    assert f"{run.condition_number:.3g}" in input_scale.readout.value
    assert run.status in input_scale.readout.value
    assert r["background"].shape == (120, 120) and len(r["ellipses"]) == 8
    assert input_scale.extent[0] < 0 < input_scale.extent[1]  # the start w = 0 is in view


def test_input_scale_redraws_a_new_image_for_every_change(input_scale):
    images = [bytes(input_scale.image.value)]
    for name, value in [("scale", 10.0), ("lr", 0.5), ("normalize", True), ("lr", 1.05)]:
        input_scale.sliders[name].value = value
        images.append(bytes(input_scale.image.value))
    assert all(a != b for a, b in itertools.pairwise(images))
    assert len(input_scale.redraw_ms) == 5
    assert "normalized input" in input_scale.figure.axes[0].get_xlabel()


def test_input_scale_compute_is_pure_and_needs_no_figure(input_scale):
    params = {"scale": 30.0, "lr": 0.7, "normalize": False}
    first, second = input_scale.compute(params), input_scale.compute(dict(params))
    for key in ("eigenvalues", "path", "gaps", "background"):
        np.testing.assert_array_equal(first[key], second[key])
    assert input_scale.sliders["scale"].value == 1.0  # computing does not touch the controls
    assert_compute_needs_no_figure(input_scale, params)


def test_input_scale_bad_data(wine_pair):
    X, t = wine_pair
    with pytest.raises(ValueError, match="X must have shape"):
        InputScaleExplorer(np.c_[X, X], t)
    with pytest.raises(ValueError, match="t must have shape"):
        InputScaleExplorer(X, t[:-1])
    with pytest.raises(ValueError, match="feature_names"):
        InputScaleExplorer(X, t, feature_names=("a",))


# ============================================================================= notebooks 02, 03
@pytest.fixture(scope="module")
def z():
    rng = np.random.default_rng(7)
    return rng.normal(size=(200, 12)) * rng.uniform(0.2, 2.0, 12) + rng.uniform(-3, 3, 12)


@pytest.fixture
def bn(z):
    return BatchNormExplorer(z)


def test_batchnorm_controls(bn):
    assert isinstance(bn.sliders["gamma"], widgets.FloatSlider)
    assert isinstance(bn.sliders["beta"], widgets.FloatSlider)
    eps = bn.sliders["eps"]
    assert isinstance(eps, widgets.FloatLogSlider) and (eps.min, eps.max) == (-8, 2)  # 1e-8..1e2
    assert isinstance(bn.sliders["activation"], widgets.ToggleButtons)
    assert tuple(bn.sliders["activation"].options) == ("sigmoid", "tanh", "relu")
    assert_is_a_displayable_box(bn)


@pytest.mark.parametrize("name, gamma, beta", [("sigmoid", 3.0, 0.5), ("tanh", 1.0, 0.0),
                                               ("relu", 1.0, -3.0)])
def test_batchnorm_shows_the_experiment(bn, z, name, gamma, beta):
    r = set_controls(bn, activation=name, gamma=gamma, beta=beta)
    expected = experiments.bn_activation(z, gamma, beta, 1e-5, name)
    np.testing.assert_array_equal(r["z_tilde"], expected.z_tilde)
    np.testing.assert_array_equal(r["a"], expected.a)
    assert (r["saturated"], r["dead"], r["dead_units"], r["slope_ratio"]) == (
        expected.saturated, expected.dead, expected.dead_units, expected.slope_ratio)
    assert f"mean {number(beta, '.2f')}" in bn.readout.value
    if name == "relu":
        assert f"{expected.dead_units} of 12 units dead" in bn.readout.value
    else:
        assert f"{expected.saturated:.1%}" in bn.readout.value


@pytest.mark.parametrize("name, edge", [("sigmoid", "2.42"), ("tanh", "1.21")])
def test_each_activation_shades_and_reads_out_its_own_saturation_threshold(bn, z, name, edge):
    r = set_controls(bn, activation=name, gamma=2.0, beta=0.0)
    zt = experiments.bn_activation(z, 2.0, 0.0).z_tilde
    assert r["saturated"] == pytest.approx(np.mean(np.abs(zt) > float(edge)), abs=1e-3)
    assert f"&gt; {edge}" in bn.readout.value and "30% of its maximum" in bn.readout.value
    left, right = bn._flat  # the shaded spans: x <= -edge and x >= edge
    assert left.get_x() + left.get_width() == pytest.approx(-float(edge), abs=0.005)
    assert right.get_x() == pytest.approx(float(edge), abs=0.005) and right.get_visible()


def test_histograms_are_shares_of_the_values_with_outliers_in_the_edge_bins(bn, z):
    r = set_controls(bn, gamma=5.0, beta=4.0)  # many values beyond the +10 edge
    zt = experiments.bn_activation(z, 5.0, 4.0).z_tilde
    edges = np.linspace(-10.0, 10.0, 101)
    counts, _ = np.histogram(np.clip(zt, -10.0, 10.0), bins=edges)
    np.testing.assert_allclose(r["heights"]["z_tilde"], 100 * counts / zt.size)
    for heights in r["heights"].values():
        assert heights.sum() == pytest.approx(100.0)
    assert r["heights"]["z_tilde"][-1] > 5  # the outliers are counted, not lost


def test_batchnorm_redraws_the_same_figure_in_place(bn):
    figure, artists = bn.figure, list(bn.dynamic_artists())
    images = [bytes(bn.image.value)]
    for name, value in [("gamma", 2.0), ("beta", -1.0), ("eps", 0.1), ("activation", "relu"),
                        ("activation", "tanh"), ("gamma", 0.5)]:
        bn.sliders[name].value = value
        images.append(bytes(bn.image.value))
    assert all(a != b for a, b in itertools.pairwise(images))
    assert bn.figure is figure and list(bn.dynamic_artists()) == artists
    assert len(figure.axes) == 4 and len(bn.redraw_ms) == 7
    heights = bn.dynamic_artists()[1].get_data().values  # the drawn steps are the histogram
    np.testing.assert_allclose(heights, bn.result["heights"]["z_tilde"])


def test_panels_3_and_4_keep_their_y_axes_so_bars_compare_across_settings(bn):
    axes = bn.figure.axes
    set_controls(bn, gamma=1.0, beta=0.0, activation="sigmoid")
    limits = [ax.get_ylim() for ax in axes]
    for gamma in (0.2, 5.0):
        set_controls(bn, gamma=gamma)
        assert [ax.get_ylim() for ax in axes] == limits
    # gamma 0.2 piles z~ into a few bins, taller than the axis: the panel says so
    r = set_controls(bn, gamma=0.2)
    assert r["heights"]["z_tilde"].max() > axes[2].get_ylim()[1]
    assert f"tallest bar {r['heights']['z_tilde'].max():.0f}%" in bn._cut["z_tilde"].get_text()
    set_controls(bn, gamma=1.0)
    assert bn._cut["z_tilde"].get_text() == ""


def test_readout_keeps_its_height_and_never_shows_a_negative_zero(bn):
    height = bn.readout.layout.height
    for name, value in [("beta", 0.1), ("beta", 0.0), ("beta", -0.1), ("beta", -0.0),
                        ("activation", "relu"), ("activation", "tanh"), ("gamma", 5.0)]:
        bn.sliders[name].value = value
        assert bn.readout.value.count("<div") == 3 and bn.readout.layout.height == height
        assert not re.search(r"-0\.0+(?![0-9]*[1-9])", bn.readout.value), bn.readout.value


def test_small_moves_reuse_the_cached_axes(bn):
    set_controls(bn, gamma=1.0)
    key = bn._background_key
    set_controls(bn, gamma=1.05)
    set_controls(bn, beta=0.1)
    assert bn._background_key == key  # only the histograms were redrawn


def test_batchnorm_compute_is_pure_and_checks_its_input(bn, z):
    params = {"gamma": 2.0, "beta": 1.0, "eps": 1e-3, "activation": "tanh"}
    first = bn.compute(params)
    np.testing.assert_array_equal(first["z_tilde"], bn.compute(dict(params))["z_tilde"])
    assert bn.sliders["gamma"].value == 1.0  # computing does not touch the controls
    with pytest.raises(ValueError, match="activation must be one of"):
        bn.compute({**params, "activation": "elu"})
    assert_compute_needs_no_figure(bn, params)
    with pytest.raises(TypeError, match="floating-point"):
        BatchNormExplorer(z.astype(int))
    with pytest.raises(ValueError, match="z must have 2 dimension"):
        BatchNormExplorer(z[:, 0])


@pytest.fixture
def blend(z):
    return IdentityBlendExplorer(z, eps=1e-5)


def test_blend_shows_the_experiment_and_redraws_in_place(blend, z):
    assert_is_a_displayable_box(blend)
    images = [bytes(blend.image.value)]
    for t in (0.25, 0.5, 1.0):
        r = set_controls(blend, blend=t)
        expected = experiments.identity_blend(z, t, 1e-5)
        np.testing.assert_array_equal(r["z_tilde"], expected.z_tilde)
        assert r["max_abs_diff"] == expected.max_abs_diff
        images.append(bytes(blend.image.value))
    assert all(a != b for a, b in itertools.pairwise(images))
    points = blend.dynamic_artists()[1]
    np.testing.assert_allclose(points.get_xdata(), blend.result["unit_mean"])
    assert len(blend.redraw_ms) == 4 and "max |z~ - z|" in blend.readout.value
    assert blend.result["max_abs_diff"] < 1e-12  # t = 1: the identity


def test_blend_rejects_values_outside_0_1_and_needs_no_figure(blend):
    with pytest.raises(ValueError, match=r"blend must be in \[0, 1\]"):
        blend.compute({"blend": 1.5})
    assert_compute_needs_no_figure(blend, {"blend": 0.4})


# ============================================================================= notebook 04
@pytest.fixture(scope="module")
def histories():
    """Made-up training histories: 6 epochs, with and without BN, for two optimizers."""
    rng = np.random.default_rng(0)
    out = {}
    for name in ("gd", "adam"):
        for bn in (True, False):
            loss = np.sort(rng.uniform(0.1, 2.0, 6))[::-1]
            val = np.sort(rng.uniform(0.5, 0.97, 6))
            out[name, bn] = {"loss": loss, "train_acc": val + 0.02, "val_acc": val}
    return out


def test_optimizer_explorer_looks_up_the_chosen_run(histories):
    explorer = OptimizerExplorer(histories, target_acc=0.8)
    assert_is_a_displayable_box(explorer)
    assert explorer.sliders["optimizer"].value == "adam"  # the last optimizer, with BN
    before = explorer.image.value
    r = set_controls(explorer, optimizer="gd", bn="without BN")
    h, other = histories["gd", False], histories["gd", True]
    assert (r["optimizer"], r["bn"]) == ("gd", False)
    np.testing.assert_array_equal(r["loss"], h["loss"])
    assert r["final_val_acc"] == h["val_acc"][-1] and r["final_loss"] == h["loss"][-1]
    assert r["other"]["final_val_acc"] == other["val_acc"][-1]
    assert r["epochs_to_target"] == experiments.epochs_to_target(h["val_acc"], 0.8)
    assert "gd without BN" in explorer.readout.value
    assert explorer.image.value != before and len(explorer.redraw_ms) == 3
    assert_compute_needs_no_figure(explorer, {"optimizer": "adam", "bn": "with BN"})


def test_optimizer_explorer_rejects_incomplete_histories(histories):
    with pytest.raises(ValueError, match="with and one without BN"):
        OptimizerExplorer({("gd", True): histories["gd", True]})
    with pytest.raises(ValueError, match="val_acc"):
        OptimizerExplorer({("gd", True): {"loss": [1.0]}, ("gd", False): {"loss": [1.0]}})
    with pytest.raises(ValueError, match="keys must be"):
        OptimizerExplorer({"gd": histories["gd", True]})
    with pytest.raises(ValueError, match="optimizer must be one of"):
        OptimizerExplorer(histories).compute({"optimizer": "sgd", "bn": "with BN"})


# ============================================================================= notebook 05
@pytest.fixture(scope="module")
def noise():
    population = np.random.default_rng(3).gamma(2.0, 1.5, size=400)
    return experiments.minibatch_noise(population, index=7, batch_sizes=(2, 8, 32, 128),
                                       draws=500, seed=1)


def test_noise_explorer_shows_the_split(noise):
    explorer = MiniBatchNoiseExplorer(noise)
    assert_is_a_displayable_box(explorer)
    assert tuple(explorer.sliders["m"].options) == (2, 8, 32, 128)
    assert explorer.result["m"] == 32  # starts at 32 when offered
    before = explorer.image.value
    r = set_controls(explorer, m=128)
    assert r["m"] == 128 and explorer.image.value != before
    for part in experiments.NOISE_PARTS:
        assert r[f"spread_{part}"] == noise.spreads[part][3]
        assert r[f"mean_{part}"] == pytest.approx(noise.values[128][part].mean())
        assert r["heights"][part].sum() == pytest.approx(100.0)
    c = noise.spreads["total"][2] * np.sqrt(32)  # anchored at the middle size
    assert r["guide"] == pytest.approx(c / np.sqrt(128))
    assert r["exact"] == noise.exact and r["slopes"] == noise.slopes
    assert f"{r['spread_total']:.3f}" in explorer.readout.value
    with pytest.raises(ValueError, match="m must be one of"):
        explorer.compute({"m": 3})
    with pytest.raises(TypeError, match="NoiseSplit"):
        MiniBatchNoiseExplorer(noise.values)
    assert_compute_needs_no_figure(explorer, {"m": 8})


def test_running_average_explorer_shows_the_experiment(stream):
    explorer = RunningAverageExplorer(*stream, unit=1)
    assert_is_a_displayable_box(explorer)
    assert explorer.result["momentum"] == 0.9
    before = explorer.image.value
    r = set_controls(explorer, momentum=0.99)
    expected = experiments.running_average_errors(*stream, momentum=0.99)
    np.testing.assert_array_equal(r["running_var"], expected.running_var)
    assert r["steps_to_tol"] == expected.steps_to_tol
    assert r["final_var_error"] == expected.final_var_error
    assert explorer.image.value != before and "momentum 0.99" in explorer.readout.value
    line = explorer.dynamic_artists()[1]
    np.testing.assert_array_equal(line.get_ydata(), expected.running_var[:, 1])  # the unit drawn
    assert_compute_needs_no_figure(explorer, {"momentum": 0.5})
    with pytest.raises(ValueError, match=r"shape \(T, n\)"):
        RunningAverageExplorer(stream[0], stream[1][:-1], stream[2], stream[3])


# ============================================================================= notebook 06
class Constant:
    """A stand-in network that always predicts one class (a covariate_shift needs only
    `norm` and `accuracy`)."""

    norm = "none"

    def __init__(self, label):
        self.label = label

    def accuracy(self, params, state, X, y):
        return float(np.mean(y == self.label))


@pytest.fixture(scope="module")
def shift():
    digits = data.load_digits()
    models = {"always 0": (Constant(0), None, None), "always 1": (Constant(1), None, None)}
    return experiments.covariate_shift(models, digits.X[:50], digits.X[:60], digits.y[:60]), \
        digits.X[:3]


def test_covariate_shift_explorer_looks_the_accuracies_up(shift):
    result, images = shift
    explorer = CovariateShiftExplorer(result, images)
    assert_is_a_displayable_box(explorer)
    slider = explorer.sliders["strength"]
    assert isinstance(slider, widgets.FloatSlider) and slider.step == pytest.approx(0.1)
    assert explorer.labels == ["always 0", "always 1"]
    first_png = explorer.image.value
    for s in (0.7, 0.3, 1.0):
        r = set_controls(explorer, strength=s)
        i = int(np.argmin(np.abs(result.strengths - s)))
        assert r["accuracy"]["always 1"] == result.accuracy["always 1"][i]
        assert r["saturated"] == result.saturated[i]
        np.testing.assert_allclose(r["images"],
                                   (data.exposure_shift(images, s) / 16).reshape(3, 8, 8))
        assert f"{result.accuracy['always 0'][i]:.1%}" in explorer.readout.value
    assert explorer.image.value != first_png and len(explorer.redraw_ms) == 4
    with pytest.raises(ValueError, match="strength"):
        explorer.compute({"strength": 0.55})
    with pytest.raises(TypeError, match="ShiftAccuracy"):
        CovariateShiftExplorer(result.accuracy, images)
    assert_compute_needs_no_figure(explorer, {"strength": 0.2})


def test_covariate_shift_markers_are_whole_at_both_ends(shift):
    result, images = shift
    explorer = CovariateShiftExplorer(result, images)
    right = explorer.figure.axes[1]
    low, high = right.get_xlim()
    assert low < 0.0 and high > 1.0  # room for the markers at s = 0 and s = 1
    assert all(not marker.get_clip_on() for marker in explorer._markers.values())


def test_covariate_shift_explorer_on_uneven_strengths(shift):
    _, images = shift
    digits = data.load_digits()
    uneven = experiments.covariate_shift({"always 0": (Constant(0), None, None)}, digits.X[:5],
                                         digits.X[:9], digits.y[:9], strengths=(0.0, 0.2, 1.0))
    explorer = CovariateShiftExplorer(uneven, images)
    assert isinstance(explorer.sliders["strength"], widgets.SelectionSlider)
    assert set_controls(explorer, strength=1.0)["strength"] == 1.0


# ============================================================================= notebook 08
@pytest.fixture(scope="module")
def companions():
    rng = np.random.default_rng(0)
    z_layer = data.load_digits().X[:400] / 16.0 @ rng.normal(0.0, np.sqrt(2 / 64), (64, 16))
    return experiments.normalization_companions(z_layer, index=3, batch_sizes=(2, 4, 16, 64),
                                                draws=120, groups=4)


def test_companions_explorer_controls_and_view(companions):
    explorer = NormalizationCompanionsExplorer(companions, units=8, shown=10)
    assert_is_a_displayable_box(explorer)
    slider = explorer.sliders["m"]
    assert tuple(slider.options) == (2, 4, 16, 64) and slider.value == 4
    before = explorer.image.value
    r = set_controls(explorer, m=16)
    assert r["m"] == 16 and "m = 16" in explorer.readout.value
    assert explorer.image.value != before and len(explorer.redraw_ms) == 2
    assert r["spread"]["batch"] == companions.spreads["batch"][2]
    assert r["max_change"]["group"] == companions.max_change["group"][2]
    assert r["outputs"] is companions.outputs[16]
    assert f"{r['spread']['batch']:.3f}" in explorer.readout.value
    segments = explorer.dynamic_artists()[0].get_segments()
    assert len(segments) == 10 and len(segments[0]) == 8  # shown draws, units
    np.testing.assert_allclose(segments[0][:, 1], companions.outputs[16]["batch"][0, :8])
    with pytest.raises(ValueError, match="m must be one of"):
        explorer.compute({"m": 3})
    with pytest.raises(TypeError, match="Companions"):
        NormalizationCompanionsExplorer(companions.outputs)
    for ax in explorer.figure.axes:  # unit indices: whole numbers, none at the panel's edge
        ticks = ax.get_xticks()
        assert np.all(ticks == np.round(ticks)) and ticks.max() < 8 - 1
        assert all("." not in label.get_text() for label in ax.get_xticklabels())
    assert_compute_needs_no_figure(explorer, {"m": 2})


# ============================================================================= stored outputs
def explorer_outputs():
    """(notebook, cell id, output) for every stored output of a cell that displays an explorer."""
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                if WIDGET_VIEW in output.get("data", {}):
                    found.append((path.name, cell.get("id"), output))
    return found


def test_every_stored_explorer_output_carries_a_picture():
    """An unrun or untrusted notebook (and GitHub, nbviewer) shows the picture beside the widget."""
    outputs = explorer_outputs()
    assert len(outputs) >= 8, f"expected the 8 explorers of notebooks 01-08, found {len(outputs)}"
    for name, cell, output in outputs:
        data = output["data"]
        assert "image/png" in data, (
            f"{name} cell {cell}: the explorer's output has no picture; re-execute the notebook")
        picture = decode_png(base64.b64decode(data["image/png"]))
        width = output["metadata"]["image/png"]["width"]
        assert picture.shape[1] == 2 * width, f"{name} cell {cell}: not drawn at 2x its width"
        assert "run the notebook" in "".join(data["text/plain"])


def test_html_export_shows_each_explorer_as_its_picture():
    """`jupyter nbconvert --to html` picks the widget view only when the notebook stores the
    widget state; without it, the picture. (Execute notebooks with
    `--ExecutePreprocessor.store_widget_state=False`.)"""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    for path in sorted({NOTEBOOKS / name for name, _, _ in explorer_outputs()}):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        assert "widgets" not in notebook["metadata"], (
            f"{path.name} stores widget state, so an HTML export, nbviewer and GitHub show a "
            f"blank widget instead of the picture; re-execute it with "
            f"--ExecutePreprocessor.store_widget_state=False")
        html, _ = exporter.from_filename(str(path))
        for _, _, output in (o for o in explorer_outputs() if o[0] == path.name):
            png = "".join(output["data"]["image/png"]).replace("\n", "")
            assert f"data:image/png;base64,{png[:200]}" in html, (
                f"{path.name}: an explorer's picture is missing from the HTML export")


def test_warm_up_draws_every_activation_s_axes_without_changing_the_figure(z):
    explorer = BatchNormExplorer(z)
    assert set(explorer._backgrounds) == set(BatchNormExplorer.ACTIVATIONS)
    shown = bytes(explorer.image.value)
    explorer._pictures.clear()  # so that redraw draws, rather than look the picture up
    explorer.redraw()  # the figure drawn again at the same setting: the same pixels
    assert bytes(explorer.image.value) == shown
    explorer.sliders["activation"].value = "relu"
    assert set(explorer._backgrounds) == set(BatchNormExplorer.ACTIVATIONS)  # no new draw
