"""Slider explorers: drag a slider, see the figure and the key numbers change.

Each explorer is split in two, so tests can drive it without a browser:
- `compute(params) -> dict`: the numbers, from the slider values only (no widgets, no drawing);
- a view: ONE matplotlib figure made once with `matplotlib.figure.Figure` (not pyplot, so
  Jupyter never shows it a second time), whose artists are updated in place on every change and
  rendered to PNG bytes in an `ipywidgets.Image`, plus an `ipywidgets.HTML` readout.

Every explorer exposes `sliders` (its controls by name), `result` (the last compute), `image`,
`readout`, `redraw_ms` (how long each redraw took, kernel side) and `widget` (the whole box);
it displays itself when it is the last expression of a cell.
"""

import io
import time
from typing import ClassVar

import ipywidgets as widgets
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import batchnorm, layers, plots, regression
from helpers.data import normalize_inputs

__all__ = ["BatchNormExplorer", "Explorer", "IdentityBlendExplorer", "InputScaleExplorer",
           "MiniBatchNoiseExplorer", "OptimizerExplorer", "RunningAverageExplorer",
           "running_averages", "CovariateShiftExplorer",
           "NormalizationCompanionsExplorer"]


class Explorer:
    """Base class: controls + compute + one figure updated in place + readout.

    Subclasses implement `compute(params)`, `setup_figure(figure)` (create the artists once),
    `draw(result)` (update them) and `readout_html(result)`.
    """

    def __init__(self, sliders, figsize=(9.0, 4.0), dpi=80):
        if not isinstance(sliders, dict) or not sliders:
            raise TypeError(f"sliders must be a non-empty dict name -> widget, got {sliders!r}")
        self.sliders = dict(sliders)
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="none")
        FigureCanvasAgg(self.figure)  # draw off-screen, never through pyplot
        self.image = widgets.Image(format="png")
        self.readout = widgets.HTML()
        self.redraw_ms = []
        self.result = None
        self.setup_figure(self.figure)
        for artist in self.dynamic_artists():
            artist.set_animated(True)
        self._backgrounds = {}  # static_key -> rendered background (axes, ticks, labels)
        self._background_key = object()  # the key of the background shown last; none yet
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([*self.sliders.values(), self.image, self.readout])
        self.redraw()

    def params(self):
        """The current control values, {name: value}."""
        return {name: control.value for name, control in self.sliders.items()}

    def redraw(self):
        """Recompute from the controls, update the artists, re-render the PNG and the readout."""
        start = time.perf_counter()
        self.result = self.compute(self.params())
        self.draw(self.result)
        self.image.value = self._render_png(self.static_key(self.result))
        self.readout.value = self.readout_html(self.result)
        self.redraw_ms.append(1000.0 * (time.perf_counter() - start))

    def _render_png(self, key):
        """The figure as PNG bytes, redrawing only what changes ("blitting").

        Axes, ticks and labels are most of the drawing time and rarely change, so they are drawn
        once into a cached background (redrawn only when `static_key` changes); each update
        restores that background and draws just the dynamic artists on top.
        """
        canvas = self.figure.canvas
        if key not in self._backgrounds:
            canvas.draw()  # dynamic artists are marked animated, so this skips them
            # Keep one background per key: toggling back (e.g. to an activation seen before)
            # then costs a restore, not a full draw (measured ~400 -> ~50 ms).
            if len(self._backgrounds) >= 16:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            self._backgrounds[key] = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._backgrounds[key])
        self._background_key = key
        for artist in self.dynamic_artists():
            self.figure.draw_artist(artist)
        # The figure is opaque, so RGB loses nothing; zlib level 1 halves the encoding time of
        # the default level at about the same size (measured: 6.5 vs 11.7 ms, 71 kB both).
        buffer = io.BytesIO()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        PIL.Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _on_change(self, change):
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # To be provided by each explorer.
    def compute(self, params):
        raise NotImplementedError

    def setup_figure(self, figure):
        raise NotImplementedError

    def draw(self, result):
        raise NotImplementedError

    def readout_html(self, result):
        raise NotImplementedError

    def dynamic_artists(self):
        """The artists `draw` changes, drawn on top of the cached background in this order."""
        raise NotImplementedError

    def static_key(self, result):
        """Anything hashable; the background (axes, labels) is redrawn when it changes."""
        return ()


# ----------------------------------------------------------------------------- notebook 01
# Contour levels of loss - optimal loss, fixed so that the same ellipse means the same loss
# whatever the sliders say.
_GAP_LEVELS = tuple(10.0 ** np.arange(-3.0, 0.6, 0.5))


class InputScaleExplorer(Explorer):
    """Notebook 01: how one feature's scale shapes the loss bowl and slows gradient descent.

    X: (m, 2) the two raw input features; t: (m,) targets.
    Controls:
      "scale": multiplies feature 1 by s (1x to 1000x, log slider), as if it were measured in a
               unit s times smaller; its spread (and its mean) grow s-fold.
      "lr": the learning rate as a fraction of the largest stable rate 2 / lambda_max
            (above 1 gradient descent diverges).
      "normalize": normalize both features (mean 0, variance 1) before fitting.
    Gradient descent starts at w = (0, 0) with b at its optimum, so the path begins in the plane
    the contours are drawn in (the loss over (w1, w2) with b = b*).
    """

    def __init__(self, X, t, feature_names=("feature 1", "feature 2"), max_steps=1000, tol=1e-6,
                 grid_points=120):
        X = np.asarray(X, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"X must have shape (m, 2), two features, got shape {X.shape}")
        if t.shape != (X.shape[0],):
            raise ValueError(f"t must have shape ({X.shape[0]},), one target per row, got {t.shape}")
        if len(feature_names) != 2:
            raise ValueError(f"feature_names must hold 2 names, got {feature_names!r}")
        self.X, self.t = X, t
        self.feature_names = tuple(feature_names)
        self.max_steps, self.tol = max_steps, tol
        self.extent = self._fixed_extent()
        self.w1_grid = np.linspace(self.extent[0], self.extent[1], grid_points)
        self.w2_grid = np.linspace(self.extent[2], self.extent[3], grid_points)
        style = {"description_width": "11em"}
        layout = widgets.Layout(width="34em")
        sliders = {
            "scale": widgets.FloatLogSlider(
                value=1.0, base=10, min=0, max=3, step=0.05, readout_format=".3g",
                description=f"{self.feature_names[0]} x", style=style, layout=layout),
            "lr": widgets.FloatSlider(
                value=0.9, min=0.05, max=1.1, step=0.01, readout_format=".2f",
                description="lr / (2 / lambda_max)", style=style, layout=layout),
            "normalize": widgets.Checkbox(value=False, description="normalize inputs",
                                          style=style, layout=layout),
        }
        super().__init__(sliders, figsize=(9.0, 4.0), dpi=80)

    def _features(self, scale, normalize):
        X = self.X * np.array([scale, 1.0])
        return normalize_inputs(X)[0] if normalize else X

    def _fixed_extent(self):
        """One square window that holds the start and every minimum the sliders can produce."""
        points = [np.zeros(2)]
        for scale, normalize in ((1.0, False), (1000.0, False), (1.0, True)):
            points.append(regression.optimum(self._features(scale, normalize), self.t)[0][:2])
        return plots.square_window(points)

    def compute(self, params):
        """The numbers for one setting of the controls; no widgets, no drawing.

        params: {"scale": s >= 1, "lr": fraction of 2 / lambda_max, "normalize": bool}.
        Returns a dict with eigenvalues (3,), condition_number, stable_lr (= 2 / lambda_max),
        lr, theta_star (3,), loss_star, path (k + 1, 3), gaps (k + 1,) = loss - loss_star,
        steps_to_tol (int or None), diverged, predicted_steps (int or None), ellipses (list of
        (200, 2)), background (q, p) loss - loss_star on the window, status (text).
        """
        scale, fraction, normalize = params["scale"], params["lr"], bool(params["normalize"])
        X = self._features(scale, normalize)
        H = regression.hessian(X)
        eigenvalues = np.linalg.eigvalsh(H)
        stable_lr = 2.0 / eigenvalues[-1]
        lr = fraction * stable_lr
        theta_star, loss_star = regression.optimum(X, self.t)
        theta0 = np.array([0.0, 0.0, theta_star[2]])
        run = regression.gradient_descent(X, self.t, lr, theta0, self.max_steps, self.tol)
        predicted = regression.predicted_steps(X, self.t, lr, theta0, self.tol)
        ellipses = [regression.level_set(H[:2, :2], theta_star[:2], gap) for gap in _GAP_LEVELS]
        background = regression.loss_grid(X, self.t, self.w1_grid, self.w2_grid,
                                          float(theta_star[2])) - loss_star
        if run.diverged:
            status = "diverges"
        elif run.steps_to_tol is not None:
            status = f"converged in {run.steps_to_tol:,} steps"
        elif predicted is None:
            status = f"not converged in {self.max_steps:,} steps (lr at or above the limit)"
        else:
            status = f"not converged in {self.max_steps:,} steps (theory: {predicted:,} steps)"
        return {
            "scale": scale, "lr_fraction": fraction, "normalize": normalize,
            "eigenvalues": eigenvalues, "condition_number": eigenvalues[-1] / eigenvalues[0],
            "stable_lr": stable_lr, "lr": lr, "theta_star": theta_star, "loss_star": loss_star,
            "path": run.thetas, "gaps": run.losses - loss_star, "steps_to_tol": run.steps_to_tol,
            "diverged": run.diverged, "predicted_steps": predicted, "ellipses": ellipses,
            "background": background, "status": status,
        }

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.9, wspace=0.3)
        self._contour = plots.contour_panel(left, self.extent, len(_GAP_LEVELS),
                                            "Loss contours (b at its optimum)", "w1", "w2")
        self._loss = plots.loss_panel(right, self.max_steps, title="Loss minus its minimum")
        self._axes = (left, right)

    def dynamic_artists(self):
        contour = self._contour
        legends = [ax.get_legend() for ax in self._axes]
        return [contour.background, *contour.levels, contour.path, contour.start, contour.end,
                contour.optimum, *self._loss, *legends]

    def static_key(self, result):
        return result["normalize"]  # the axis labels name the units, which normalizing changes

    def draw(self, result):
        plots.set_contour_panel(self._contour, result["background"], result["ellipses"],
                                result["path"][:, :2], result["theta_star"][:2])
        plots.set_loss_panel(self._loss, result["gaps"], self.tol)
        inputs = "normalized input" if result["normalize"] else "raw input"
        self._axes[0].set_xlabel(f"w1, weight of {self.feature_names[0]} ({inputs})")
        self._axes[0].set_ylabel(f"w2, weight of {self.feature_names[1]} ({inputs})")

    def readout_html(self, result):
        return (
            f"<b>condition number</b> lambda_max / lambda_min = {result['condition_number']:.3g}"
            f" &nbsp;|&nbsp; <b>largest stable lr</b> 2 / lambda_max = {result['stable_lr']:.3g}"
            f" &nbsp;|&nbsp; lr = {result['lr']:.3g}"
            f" &nbsp;|&nbsp; <b>{result['status']}</b>"
        )


# ----------------------------------------------------------------------------- notebooks 02, 03
SATURATION = 2.5  # |input| beyond which sigmoid and tanh are called saturated (slope < 30% of max)


def _activation_slope(name, x):
    """g'(x) divided by its largest value (relu: 1 where x > 0): 1 = as steep as g gets."""
    if name == "sigmoid":
        s = layers.sigmoid_forward(x)[0]
        return s * (1 - s) / 0.25
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    return (x > 0).astype(x.dtype)


def _check_batch(z, name="z"):
    """z as a float64 (m, n) batch with m >= 2 and finite entries, else a clear error."""
    arr = np.asarray(z)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array of shape (m, n); got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (m, n) with m >= 2 examples; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; every entry must be a finite number")
    return arr.astype(np.float64)


class BatchNormExplorer(Explorer):
    """Notebook 02: what gamma, beta and eps do to z~, and what the activation g then sees.

    z: (m, n) pre-activations of one layer for one mini-batch (examples along axis 0).
    Controls:
      "gamma": the scale given to every unit (0.1 .. 5);
      "beta":  the shift given to every unit (-5 .. 5);
      "eps":   added to the variance before the square root (1e-8 .. 100, log slider);
      "activation": "sigmoid", "tanh" or "relu", the g applied to z~.
    Four histograms (all units pooled): z, z_norm, z~ (saturated region shaded) and g(z~).
    """

    ACTIVATIONS = ("sigmoid", "tanh", "relu")
    NORM_EDGES = np.linspace(-4.0, 4.0, 81)
    TILDE_EDGES = np.linspace(-10.0, 10.0, 101)
    OUTPUT_EDGES: ClassVar[dict] = {"sigmoid": np.linspace(0.0, 1.0, 51),
                                    "tanh": np.linspace(-1.0, 1.0, 51),
                                    "relu": np.linspace(0.0, 10.0, 51)}

    def __init__(self, z):
        self.z = _check_batch(z)
        low, high = np.percentile(self.z, [0.5, 99.5])
        pad = 0.05 * (high - low) + 1e-12
        self.z_edges = np.linspace(low - pad, high + pad, 61)
        style = {"description_width": "4em"}
        layout = widgets.Layout(width="30em")
        sliders = {
            "gamma": widgets.FloatSlider(value=1.0, min=0.1, max=5.0, step=0.05,
                                         description="gamma", style=style, layout=layout),
            "beta": widgets.FloatSlider(value=0.0, min=-5.0, max=5.0, step=0.1,
                                        description="beta", style=style, layout=layout),
            "eps": widgets.FloatLogSlider(value=1e-5, base=10, min=-8, max=2, step=0.5,
                                          readout_format=".0e", description="eps",
                                          style=style, layout=layout),
            "activation": widgets.ToggleButtons(options=self.ACTIVATIONS, value="sigmoid",
                                                description="g", style=style),
        }
        super().__init__(sliders, figsize=(9.0, 5.6), dpi=80)

    def compute(self, params):
        """The numbers for one setting of the controls; no widgets, no drawing.

        params: {"gamma": float, "beta": float, "eps": float > 0, "activation": name}.
        Returns a dict with the arrays z_norm, z_tilde, a = g(z~) (each (m, n)); the per-unit
        var (n,); pooled over all m * n values: z_tilde_mean, z_tilde_std, z_norm_std;
        slope_ratio = mean g'(z~) / max g'; saturated (share of |z~| > SATURATION, sigmoid and
        tanh; else None); dead (share of relu outputs equal to 0; else None); dead_units (units
        whose relu output is 0 for the whole batch; None for sigmoid/tanh) and heights (the four
        histograms in %, keys "z", "z_norm", "z_tilde", "a").
        """
        gamma, beta, eps = float(params["gamma"]), float(params["beta"]), float(params["eps"])
        name = params["activation"]
        if name not in self.ACTIVATIONS:
            raise ValueError(f"activation must be one of {self.ACTIVATIONS}, got {name!r}")
        n = self.z.shape[1]
        z_tilde, cache = batchnorm.batchnorm_forward(self.z, np.full(n, gamma), np.full(n, beta),
                                                     eps=eps)
        z_norm = cache["z_norm"]
        a = layers.ACTIVATIONS[name][0](z_tilde)[0]
        if name == "relu":
            saturated, dead = None, float(np.mean(a == 0))
            dead_units = int(np.sum(np.all(a == 0, axis=0)))
        else:
            saturated, dead, dead_units = float(np.mean(np.abs(z_tilde) > SATURATION)), None, None
        heights = {
            "z": plots.histogram_percent(self.z, self.z_edges),
            "z_norm": plots.histogram_percent(z_norm, self.NORM_EDGES),
            "z_tilde": plots.histogram_percent(z_tilde, self.TILDE_EDGES),
            "a": plots.histogram_percent(a, self.OUTPUT_EDGES[name]),
        }
        return {
            "gamma": gamma, "beta": beta, "eps": eps, "activation": name,
            "z_norm": z_norm, "z_tilde": z_tilde, "a": a, "var": cache["var"],
            "z_tilde_mean": float(z_tilde.mean()), "z_tilde_std": float(z_tilde.std()),
            "z_norm_std": float(z_norm.std()),
            "slope_ratio": float(_activation_slope(name, z_tilde).mean()),
            "saturated": saturated, "dead": dead, "dead_units": dead_units,
            "heights": heights,
        }

    def setup_figure(self, figure):
        axes = figure.subplots(2, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.09, top=0.94, hspace=0.5,
                               wspace=0.25)
        (ax_z, ax_norm), (ax_tilde, ax_a) = axes
        self._axes = {"z": ax_z, "z_norm": ax_norm, "z_tilde": ax_tilde, "a": ax_a}
        self._ylims = {}
        self._steps = {
            "z": plots.histogram_panel(ax_z, self.z_edges,
                                       "1. z: each unit its own mean and spread",
                                       "z (pre-activation, all units pooled)",
                                       plots.PALETTE["black"]),
            "z_norm": plots.histogram_panel(ax_norm, self.NORM_EDGES,
                                            "2. z_norm = (z - mu) / sqrt(var + eps)", "z_norm"),
            "z_tilde": plots.histogram_panel(ax_tilde, self.TILDE_EDGES,
                                             "3. z~ = gamma * z_norm + beta", "z~ (input of g)",
                                             plots.PALETTE["bluish_green"]),
            "a": plots.histogram_panel(ax_a, self.OUTPUT_EDGES["sigmoid"], "4. a = g(z~)",
                                       "a (output of g)", plots.PALETTE["vermillion"]),
        }
        # The region where g is flat (saturated) or zero (relu), shaded on the z~ axis.
        self._flat = [ax_tilde.axvspan(-10, -SATURATION, color=plots.PALETTE["orange"], alpha=0.2,
                                       lw=0, label="g saturated"),
                      ax_tilde.axvspan(SATURATION, 10, color=plots.PALETTE["orange"], alpha=0.2,
                                       lw=0)]
        ax_tilde.legend(loc="upper left", fontsize=8)

    def dynamic_artists(self):
        return [self._steps["z_norm"], self._steps["z_tilde"], self._steps["a"]]

    def static_key(self, result):
        # Axis limits and the shaded region change only with the activation or a new y step.
        return (result["activation"], tuple(sorted(self._ylims.items())))

    def _update_ylim(self, key, peak):
        """Keep a panel's y limit while the tallest bar fits and fills at least 1/8 of it.

        Changing a limit redraws the axes (slow), so it changes in steps (1, 2, 5 x 10^k) and
        only when needed, not on every small move of a slider.
        """
        current = self._ylims.get(key)
        if current is None or peak > current / 1.05 or peak < current / 8:
            self._ylims[key] = min(plots.nice_limit(peak), 100.0)  # no bar exceeds 100 %
        self._axes[key].set_ylim(0, self._ylims[key])

    def draw(self, result):
        name = result["activation"]
        self._steps["z"].set_data(result["heights"]["z"], self.z_edges)
        self._steps["z_norm"].set_data(result["heights"]["z_norm"], self.NORM_EDGES)
        self._steps["z_tilde"].set_data(result["heights"]["z_tilde"], self.TILDE_EDGES)
        self._steps["a"].set_data(result["heights"]["a"], self.OUTPUT_EDGES[name])
        for key, heights in result["heights"].items():
            self._update_ylim(key, heights.max())
        self._axes["a"].set_xlim(self.OUTPUT_EDGES[name][0], self.OUTPUT_EDGES[name][-1])
        self._axes["a"].set_title(f"4. a = {name}(z~)")
        left, right = self._flat
        if name == "relu":  # relu is flat (zero) for every negative input
            left.set_x(-10), left.set_width(10), right.set_visible(False)
            left.set_label("relu output 0")
        else:
            left.set_x(-10), left.set_width(10 - SATURATION), right.set_visible(True)
            left.set_label(f"{name} saturated (|z~| > {SATURATION:g})")
        self._axes["z_tilde"].legend(loc="upper left", fontsize=8)

    def readout_html(self, result):
        parts = [f"<b>z~</b>: mean {result['z_tilde_mean']:.2f}, std {result['z_tilde_std']:.2f}",
                 f"<b>z_norm</b> std {result['z_norm_std']:.3f}"]
        name = result["activation"]
        if name == "relu":
            parts.append(f"<b>dead outputs</b> (relu = 0): {result['dead']:.1%}, "
                         f"{result['dead_units']} of {self.z.shape[1]} units dead for the "
                         f"whole batch")
        else:
            parts.append(f"<b>saturated</b> (|z~| &gt; {SATURATION:g}): {result['saturated']:.1%}")
        parts.append(f"<b>mean slope</b> of {name}: {result['slope_ratio']:.0%} of its maximum")
        return " &nbsp;|&nbsp; ".join(parts)


class IdentityBlendExplorer(Explorer):
    """Notebook 03: slide gamma and beta from "normalized" (1, 0) to "identity" (sqrt(var+eps), mu).

    z: (m, n) pre-activations; eps as in batch norm.
    Control "blend" t in [0, 1]: gamma = (1 - t) * 1 + t * sqrt(var + eps),
    beta = (1 - t) * 0 + t * mu, per unit. At t = 1, z~ equals z up to round-off.
    Left: histogram of z~ (all units pooled) over the outline of z. Right: each unit's mean and
    std, for z~ (filled) and z (hollow targets).
    """

    def __init__(self, z, eps=1e-5):
        self.z = _check_batch(z)
        self.eps = float(eps)
        self.mu, self.var = batchnorm.batch_moments(self.z)
        low, high = min(np.percentile(self.z, 0.5), -3.0), max(np.percentile(self.z, 99.5), 3.0)
        self.edges = np.linspace(low, high, 71)
        # The y axis always has room for the histogram of z, the target at t = 1.
        self._z_heights = plots.histogram_percent(self.z, self.edges)
        self._z_ylim = plots.nice_limit(self._z_heights.max())
        sliders = {"blend": widgets.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.05, description="normalized -> identity",
            style={"description_width": "12em"}, layout=widgets.Layout(width="36em"))}
        super().__init__(sliders, figsize=(9.0, 3.6), dpi=80)

    def compute(self, params):
        """params: {"blend": t in [0, 1]}. Returns gamma, beta (n,), z_tilde (m, n), unit_mean
        and unit_std of z~ (n,), max_abs_diff = max |z~ - z|, heights (%) and ylim."""
        t = float(params["blend"])
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"blend must be in [0, 1], got {t!r}")
        gamma = (1 - t) * 1.0 + t * np.sqrt(self.var + self.eps)
        beta = (1 - t) * 0.0 + t * self.mu
        z_tilde, _ = batchnorm.batchnorm_forward(self.z, gamma, beta, eps=self.eps)
        heights = plots.histogram_percent(z_tilde, self.edges)
        return {
            "blend": t, "gamma": gamma, "beta": beta, "z_tilde": z_tilde,
            "unit_mean": z_tilde.mean(axis=0), "unit_std": z_tilde.std(axis=0),
            "max_abs_diff": float(np.max(np.abs(z_tilde - self.z))),
            "heights": heights,
            "ylim": max(plots.nice_limit(heights.max()), self._z_ylim),
        }

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.28)
        left.stairs(self._z_heights, self.edges, color=plots.PALETTE["black"], lw=1.5, label="z")
        self._hist = plots.histogram_panel(left, self.edges, "z~ (filled) vs z (outline)",
                                           "value (all units pooled)",
                                           plots.PALETTE["bluish_green"], label="z~")
        left.legend(loc="upper right", fontsize=8)
        std = np.sqrt(self.var)
        right.plot(self.mu, std, "o", mfc="none", mec=plots.PALETTE["black"], ms=8,
                   label="z (target)")
        self._points = right.plot([], [], "o", color=plots.PALETTE["bluish_green"], ms=5,
                                  label="z~")[0]
        xs, ys = np.r_[self.mu, 0.0], np.r_[std, 1.0]
        xpad, ypad = 0.08 * np.ptp(xs) + 0.1, 0.08 * np.ptp(ys) + 0.1
        right.set_xlim(xs.min() - xpad, xs.max() + xpad)
        right.set_ylim(max(0.0, ys.min() - ypad), ys.max() + ypad)
        right.set_title("Each unit's mean and std")
        right.set_xlabel("mean over the batch")
        right.set_ylabel("std over the batch")
        right.legend(loc="upper left", fontsize=8)
        self._left = left

    def dynamic_artists(self):
        return [self._hist, self._points]

    def static_key(self, result):
        return result["ylim"]

    def draw(self, result):
        self._hist.set_data(result["heights"], self.edges)
        self._points.set_data(result["unit_mean"], result["unit_std"])
        self._left.set_ylim(0, result["ylim"])

    def readout_html(self, result):
        return (f"<b>blend</b> t = {result['blend']:.2f} &nbsp;|&nbsp; "
                f"gamma = (1 - t) + t sqrt(var + eps), "
                f"beta = t mu &nbsp;|&nbsp; <b>max |z~ - z|</b> = {result['max_abs_diff']:.3g}")


# ============================================================================= notebooks 04, 05
# Self-contained section: the optimizer explorer of notebook 04, the mini-batch noise and
# running-average explorers of notebook 05.
class OptimizerExplorer(Explorer):
    """Notebook 04: pick an optimizer and BN on/off, see that run's training curves.

    histories: {(optimizer_name, bn): history} with bn in (True, False), each history from
    helpers.network.train with a validation set (keys "loss", "train_acc", "val_acc", one entry
    per epoch). All runs are trained once, before the explorer is made: a redraw only looks up
    and draws curves. target_acc: the validation accuracy whose first epoch is reported.
    Left: training loss per epoch (log scale); right: validation accuracy. Every run is drawn
    faintly; the chosen one is bold, the same optimizer with the other BN setting dashed.
    """

    BN_CHOICES = ("with BN", "without BN")

    def __init__(self, histories, target_acc=0.9):
        if not isinstance(histories, dict) or not histories:
            raise TypeError("histories must be a non-empty dict {(optimizer, bn): history}")
        for key, h in histories.items():
            if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], bool)):
                raise ValueError(f"keys must be (optimizer name, bn True/False); got {key!r}")
            if not {"loss", "train_acc", "val_acc"} <= set(h):
                raise ValueError(f"history {key!r} needs 'loss', 'train_acc' and 'val_acc' "
                                 f"(train with X_val and y_val)")
        self.histories = histories
        self.names = tuple(dict.fromkeys(name for name, _ in histories))
        for name in self.names:
            if (name, True) not in histories or (name, False) not in histories:
                raise ValueError(f"optimizer {name!r} needs a run with and one without BN")
        self.target_acc = float(target_acc)
        style = {"description_width": "6em"}
        sliders = {
            "optimizer": widgets.ToggleButtons(options=self.names, value=self.names[-1],
                                               description="optimizer", style=style),
            "bn": widgets.ToggleButtons(options=self.BN_CHOICES, value="with BN",
                                        description="batch norm", style=style),
        }
        super().__init__(sliders, figsize=(9.0, 3.6), dpi=80)

    def _epochs_to_target(self, val_acc):
        reached = np.flatnonzero(np.asarray(val_acc) >= self.target_acc)
        return int(reached[0]) + 1 if reached.size else None

    def _summary(self, name, bn):
        h = self.histories[name, bn]
        return {"loss": np.asarray(h["loss"]), "val_acc": np.asarray(h["val_acc"]),
                "final_loss": float(h["loss"][-1]), "final_train_acc": float(h["train_acc"][-1]),
                "final_val_acc": float(h["val_acc"][-1]),
                "epochs_to_target": self._epochs_to_target(h["val_acc"])}

    def compute(self, params):
        """params: {"optimizer": name, "bn": "with BN" / "without BN"}. Returns the chosen run's
        loss and val_acc curves, final_loss, final_train_acc, final_val_acc, epochs_to_target
        (first epoch with val_acc >= target_acc, or None) and "other": the same for the same
        optimizer with the other BN setting."""
        name, choice = params["optimizer"], params["bn"]
        if name not in self.names or choice not in self.BN_CHOICES:
            raise ValueError(f"optimizer must be one of {self.names} and bn one of "
                             f"{self.BN_CHOICES}; got {name!r}, {choice!r}")
        bn = choice == "with BN"
        return {"optimizer": name, "bn": bn, **self._summary(name, bn),
                "other": self._summary(name, not bn)}

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.88, wspace=0.25)
        grey = plots.PALETTE["black"]
        for h in self.histories.values():
            epochs = np.arange(1, len(h["loss"]) + 1)
            left.plot(epochs, h["loss"], color=grey, alpha=0.15, lw=1)
            right.plot(epochs, h["val_acc"], color=grey, alpha=0.15, lw=1)
        losses = np.concatenate([np.asarray(h["loss"]) for h in self.histories.values()])
        accs = np.concatenate([np.asarray(h["val_acc"]) for h in self.histories.values()])
        epochs = max(len(h["loss"]) for h in self.histories.values())
        self._lines = {}
        for ax, key in ((left, "loss"), (right, "val_acc")):
            self._lines[key] = (
                ax.plot([], [], "-", lw=2.2, color=plots.PALETTE["blue"], label="chosen run")[0],
                ax.plot([], [], "--", lw=1.6, color=plots.PALETTE["vermillion"],
                        label="same optimizer, other BN setting")[0])
            ax.set_xlim(1, epochs)
            ax.set_xlabel("epoch")
        left.set_yscale("log")
        left.set_ylim(0.8 * losses.min(), 1.2 * losses.max())
        right.set_ylim(max(0.0, accs.min() - 0.05), 1.0)
        right.axhline(self.target_acc, ls=":", color=grey, lw=1)
        left.set_ylabel("training loss (mean over the epoch, log)")
        right.set_ylabel("validation accuracy")
        left.set_title("Training loss")
        right.set_title("Validation accuracy")
        right.legend(loc="lower right", fontsize=8)
        self._title = figure.suptitle("", fontsize=11, fontweight="bold")

    def dynamic_artists(self):
        return [*self._lines["loss"], *self._lines["val_acc"], self._title]

    def draw(self, result):
        for key in ("loss", "val_acc"):
            chosen, other = self._lines[key]
            chosen.set_data(np.arange(1, len(result[key]) + 1), result[key])
            other.set_data(np.arange(1, len(result["other"][key]) + 1), result["other"][key])
        self._title.set_text(f"{result['optimizer']}, {'with' if result['bn'] else 'without'} BN")

    def readout_html(self, result):
        def describe(r):
            reach = (f"val acc {self.target_acc:.0%} at epoch {r['epochs_to_target']}"
                     if r["epochs_to_target"] else f"never reaches {self.target_acc:.0%}")
            return (f"loss {r['final_loss']:.3f}, train acc {r['final_train_acc']:.1%}, "
                    f"val acc {r['final_val_acc']:.1%}; {reach}")

        bn = "with BN" if result["bn"] else "without BN"
        other = "without BN" if result["bn"] else "with BN"
        return (f"<b>{result['optimizer']} {bn}</b>: {describe(result)} &nbsp;|&nbsp; "
                f"<b>{other}</b>: {describe(result['other'])}")


class MiniBatchNoiseExplorer(Explorer):
    """Notebook 05: one fixed example in many random mini-batches; how much its z_norm moves.

    z: (M,) one unit's pre-activation for every training example (the population); index: the
    example followed. For each batch size m in batch_sizes, `draws` mini-batches are made of the
    example plus m - 1 others drawn without replacement (as a shuffled epoch does). In each one:
      total          (z0 - mu_B) / sqrt(var_B + eps)   what batch norm computes
      additive       (z0 - mu_B) / sqrt(var  + eps)    only the batch mean is noisy (a shift)
      multiplicative (z0 - mu)   / sqrt(var_B + eps)   only the batch std is noisy (a scale)
    with mu, var the population's statistics. z~ = gamma z_norm + beta scales the spread by
    |gamma|, so z_norm is shown. Everything is computed once, in the constructor.
    Control "m": the batch size. Left: histograms over the draws; right: spread against m.
    """

    PARTS = ("total", "additive", "multiplicative")
    EDGES = np.linspace(-4.0, 4.0, 81)

    def __init__(self, z, index=0, batch_sizes=(2, 4, 8, 16, 32, 64, 128, 256), draws=2000,
                 eps=1e-5, seed=0):
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 1 or z.size < 3 or not np.all(np.isfinite(z)):
            raise ValueError(f"z must be a 1-D array of at least 3 finite values; got {z.shape}")
        sizes = tuple(int(m) for m in batch_sizes)
        if not sizes or min(sizes) < 2 or max(sizes) > z.size:
            raise ValueError(f"batch sizes must be in 2..{z.size}; got {batch_sizes!r}")
        self.z, self.index, self.sizes, self.eps = z, int(index), sizes, float(eps)
        self.z0 = float(z[self.index])
        self.mu, self.var = float(z.mean()), float(z.var())
        self.exact = (self.z0 - self.mu) / np.sqrt(self.var + self.eps)
        others = np.delete(z, self.index)
        rng = np.random.default_rng(seed)
        # Each draw: a random order of the other examples; a batch of m takes the first m - 1.
        order = rng.permuted(np.tile(np.arange(others.size), (draws, 1)), axis=1)
        order = order[:, : max(sizes) - 1]
        self.values, self.spreads = {}, {part: [] for part in self.PARTS}
        for m in sizes:
            batch = np.column_stack([np.full(draws, self.z0), others[order[:, : m - 1]]])
            mu_b = batch.mean(axis=1)
            var_b = batch.var(axis=1)
            values = {
                "total": (self.z0 - mu_b) / np.sqrt(var_b + self.eps),
                "additive": (self.z0 - mu_b) / np.sqrt(self.var + self.eps),
                "multiplicative": (self.z0 - self.mu) / np.sqrt(var_b + self.eps),
            }
            self.values[m] = values
            for part in self.PARTS:
                self.spreads[part].append(float(values[part].std()))
        self.spreads = {part: np.asarray(v) for part, v in self.spreads.items()}
        fit = np.asarray(sizes) >= 8
        if fit.sum() < 2:
            fit = np.ones(len(sizes), bool)
        log_m = np.log(np.asarray(sizes, dtype=np.float64)[fit])
        self.slopes = {part: float(np.polyfit(log_m, np.log(self.spreads[part][fit]), 1)[0])
                       for part in self.PARTS}
        self.heights = {m: {part: plots.histogram_percent(v, self.EDGES)
                            for part, v in self.values[m].items()} for m in sizes}
        sliders = {"m": widgets.SelectionSlider(
            options=sizes, value=32 if 32 in sizes else sizes[len(sizes) // 2],
            description="batch size m", style={"description_width": "7em"},
            layout=widgets.Layout(width="32em"))}
        super().__init__(sliders, figsize=(9.0, 3.8), dpi=80)

    def compute(self, params):
        """params: {"m": one of batch_sizes}. Returns m, exact (the population z_norm), the three
        spreads (std over the draws) and means of z_norm, guide = the total spread predicted by
        c / sqrt(m) from the middle batch size, heights (%) of the three histograms and the
        fitted log-log slopes (m >= 8)."""
        m = int(params["m"])
        if m not in self.values:
            raise ValueError(f"m must be one of {self.sizes}; got {m!r}")
        i = self.sizes.index(m)
        mid = len(self.sizes) // 2
        c = self.spreads["total"][mid] * np.sqrt(self.sizes[mid])
        return {
            "m": m, "exact": self.exact,
            **{f"spread_{p}": float(self.spreads[p][i]) for p in self.PARTS},
            **{f"mean_{p}": float(self.values[m][p].mean()) for p in self.PARTS},
            "guide": float(c / np.sqrt(m)), "heights": self.heights[m], "slopes": self.slopes,
        }

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        colours = {"total": plots.PALETTE["blue"], "additive": plots.PALETTE["orange"],
                   "multiplicative": plots.PALETTE["bluish_green"]}
        self._hists = {}
        for part in self.PARTS:
            self._hists[part] = left.stairs(
                np.zeros(len(self.EDGES) - 1), self.EDGES, fill=part == "total",
                alpha=0.5 if part == "total" else 1.0, lw=1.5, color=colours[part],
                label={"total": "batch mean and std (what BN does)",
                       "additive": "only the batch mean (shift)",
                       "multiplicative": "only the batch std (scale)"}[part])
        left.axvline(self.exact, color=plots.PALETTE["black"], ls="--", lw=1.2,
                     label="with the whole training set")
        peak = max(h.max() for per_m in self.heights.values() for h in per_m.values())
        left.set_ylim(0, min(plots.nice_limit(peak), 100.0))
        left.set_xlim(self.EDGES[0], self.EDGES[-1])
        left.set_xlabel("z_norm of the example (z~ = gamma z_norm + beta)")
        left.set_ylabel("share of random batches (%)")
        left.set_title("One example in random mini-batches")
        left.legend(loc="upper left", fontsize=7)
        plots.spread_vs_batch_size(right, self.sizes, {
            "total": self.spreads["total"], "additive": self.spreads["additive"],
            "multiplicative": self.spreads["multiplicative"]}, guide_at="total")
        self._marker = right.plot([], [], "o", ms=11, mfc="none", mec=plots.PALETTE["vermillion"],
                                  mew=2)[0]

    def dynamic_artists(self):
        return [*self._hists.values(), self._marker]

    def draw(self, result):
        for part in self.PARTS:
            self._hists[part].set_data(result["heights"][part], self.EDGES)
        self._marker.set_data([result["m"]], [result["spread_total"]])

    def readout_html(self, result):
        return (f"<b>m = {result['m']}</b>: spread of z_norm {result['spread_total']:.3f} "
                f"(guide c/sqrt(m): {result['guide']:.3f}) &nbsp;|&nbsp; additive part "
                f"{result['spread_additive']:.3f}, multiplicative part "
                f"{result['spread_multiplicative']:.3f} &nbsp;|&nbsp; whole-set value "
                f"{result['exact']:.2f}, mean over batches {result['mean_total']:.2f}")


def running_averages(batch_values, momentum, start):
    """Exponentially weighted averages: a[0] = start, a[t] = momentum a[t-1] + (1 - momentum) b[t].

    batch_values: (T, n) one statistic per step and unit; start: (n,) or a number.
    Returns (T + 1, n), the starting value first. The same update as
    helpers.batchnorm.update_running_stats, for a whole sequence of steps at once.
    """
    batch_values = np.asarray(batch_values, dtype=np.float64)
    out = np.empty((batch_values.shape[0] + 1, *batch_values.shape[1:]))
    out[0] = start
    for t, value in enumerate(batch_values, start=1):
        out[t] = momentum * out[t - 1] + (1 - momentum) * value
    return out


class RunningAverageExplorer(Explorer):
    """Notebook 05: how the running averages of mu and var approach the population's.

    batch_means, batch_vars: (T, n) the batch statistics of n units at each of T training steps
    (weights frozen, so the population statistics stay fixed); population_mean,
    population_var: (n,) over the whole training set; unit: the unit drawn. The averages start
    at mean 0 and variance 1 (Keras' and helpers' initial values).
    Control "momentum". Errors are averaged over the n units: |mean error| / population std and
    |var error| / population var.
    """

    MOMENTA = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)

    def __init__(self, batch_means, batch_vars, population_mean, population_var, unit=0,
                 tol=0.05):
        self.batch_means = np.asarray(batch_means, dtype=np.float64)
        self.batch_vars = np.asarray(batch_vars, dtype=np.float64)
        if self.batch_means.ndim != 2 or self.batch_vars.shape != self.batch_means.shape:
            raise ValueError("batch_means and batch_vars must both have shape (T, n); got "
                             f"{self.batch_means.shape} and {self.batch_vars.shape}")
        n = self.batch_means.shape[1]
        self.pop_mean = np.asarray(population_mean, dtype=np.float64).reshape(n)
        self.pop_var = np.asarray(population_var, dtype=np.float64).reshape(n)
        self.unit, self.tol = int(unit), float(tol)
        sliders = {"momentum": widgets.SelectionSlider(
            options=self.MOMENTA, value=0.9, description="momentum",
            style={"description_width": "6em"}, layout=widgets.Layout(width="32em"))}
        super().__init__(sliders, figsize=(9.0, 3.6), dpi=80)

    def compute(self, params):
        """params: {"momentum": in [0, 1)}. Returns running_mean, running_var (T + 1, n),
        mean_error, var_error (T + 1,) averaged over units, their final values, steps_to_tol
        (first step after which both errors stay below tol, or None) and start_weight =
        momentum ** T, the weight the initial 0 / 1 still has at the end."""
        momentum = float(params["momentum"])
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        rm = running_averages(self.batch_means, momentum, 0.0)
        rv = running_averages(self.batch_vars, momentum, 1.0)
        mean_error = np.mean(np.abs(rm - self.pop_mean) / np.sqrt(self.pop_var), axis=1)
        var_error = np.mean(np.abs(rv - self.pop_var) / self.pop_var, axis=1)
        bad = np.flatnonzero((mean_error >= self.tol) | (var_error >= self.tol))
        if bad.size == 0:
            steps = 0
        elif bad[-1] == len(mean_error) - 1:
            steps = None
        else:
            steps = int(bad[-1]) + 1
        return {"momentum": momentum, "running_mean": rm, "running_var": rv,
                "mean_error": mean_error, "var_error": var_error,
                "final_mean_error": float(mean_error[-1]), "final_var_error": float(var_error[-1]),
                "steps_to_tol": steps,
                "start_weight": float(momentum ** self.batch_means.shape[0])}

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.28)
        u = self.unit
        self._mean_line = plots.running_average_panel(
            left, self.batch_means[:, u], self.pop_mean[u], {"running average": [0.0]},
            f"Running mean of unit {u}", "mean of z")["running average"]
        self._var_line = plots.running_average_panel(
            right, self.batch_vars[:, u], self.pop_var[u], {"running average": [1.0]},
            f"Running variance of unit {u}", "variance of z")["running average"]
        for ax, values, start in ((left, self.batch_means[:, u], 0.0),
                                  (right, self.batch_vars[:, u], 1.0)):
            low, high = min(values.min(), start), max(values.max(), start)
            pad = 0.08 * (high - low) + 1e-9
            ax.set_ylim(low - pad, high + pad)
            ax.set_xlim(0, len(values))
        left.legend(loc="best", fontsize=8)

    def dynamic_artists(self):
        return [self._mean_line, self._var_line]

    def draw(self, result):
        steps = np.arange(len(result["mean_error"]))
        self._mean_line.set_data(steps, result["running_mean"][:, self.unit])
        self._var_line.set_data(steps, result["running_var"][:, self.unit])

    def readout_html(self, result):
        steps = result["steps_to_tol"]
        reach = (f"within {self.tol:.0%} from step {steps} on" if steps is not None
                 else f"not within {self.tol:.0%} by the last step")
        return (f"<b>momentum {result['momentum']:g}</b> (averages about "
                f"{1 / (1 - result['momentum']):.0f} batches): final error of the mean "
                f"{result['final_mean_error']:.1%} of a std, of the variance "
                f"{result['final_var_error']:.1%} &nbsp;|&nbsp; {reach} &nbsp;|&nbsp; weight "
                f"left on the initial 0 / 1: {result['start_weight']:.2g}")


# ----------------------------------------------------------------------------- notebook 06
class CovariateShiftExplorer(Explorer):
    """Notebook 06: test images from a "different camera", and what re-estimating BN fixes.

    models: {label: (net, params, state)}, trained on clean images scaled by `scale`; every
        network with batch norm also gets a curve "<label>, stats re-estimated", whose running
        statistics are re-estimated (network.reestimate_bn_stats) on the shifted X_adapt.
    X_adapt: (m, 64) raw unlabelled images (0..16) the statistics are re-estimated on;
    X_test: (k, 64) raw test images, y_test: (k,) their labels.
    Control "strength" s in [0, 1]: both sets go through data.exposure_shift(X, s) (brighter,
    higher contrast, saturating at white), then are multiplied by `scale`, as in training.
    Left: three test digits as the network sees them. Right: test accuracy against s for every
    curve (computed once, on `grid`, which holds the slider's positions, so a redraw only looks
    the accuracies up) with the current s marked.
    """

    def __init__(self, models, X_adapt, X_test, y_test, scale=1 / 16, grid=None, examples=(0, 1, 2)):
        # floor 1-2 modules, imported where they are used
        from helpers import data, network

        self._shift, self._reestimate = data.exposure_shift, network.reestimate_bn_stats
        if not isinstance(models, dict) or not models:
            raise TypeError(f"models must be a non-empty dict label -> (net, params, state); "
                            f"got {type(models).__name__}")
        self.models = dict(models)
        self.X_adapt = np.asarray(X_adapt, dtype=np.float64)
        self.X_test = np.asarray(X_test, dtype=np.float64)
        self.y_test = np.asarray(y_test)
        if self.X_test.ndim != 2 or self.X_test.shape[1] != 64 or self.X_adapt.ndim != 2 \
                or self.X_adapt.shape[1] != 64:
            raise ValueError(f"X_adapt and X_test must have shape (m, 64), 8x8 images; got "
                             f"{self.X_adapt.shape} and {self.X_test.shape}")
        if self.y_test.shape != (len(self.X_test),):
            raise ValueError(f"y_test must have shape ({len(self.X_test)},); got {self.y_test.shape}")
        self.scale = float(scale)
        self.examples = list(examples)
        self.labels = []
        for label, (net, _, _) in self.models.items():
            self.labels.append(label)
            if net.bn is not None:
                self.labels.append(f"{label}, stats re-estimated")
        self.grid = np.linspace(0.0, 1.0, 11) if grid is None else np.asarray(grid, dtype=float)
        self._cache = {}  # strength -> accuracies: computed once per slider position
        self.curves = {label: [] for label in self.labels}
        for s in self.grid:
            for label, acc in self._accuracies(s)[0].items():
                self.curves[label].append(acc)
        self.curves = {label: np.asarray(a) for label, a in self.curves.items()}
        sliders = {"strength": widgets.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.1, description="shift strength",
            style={"description_width": "8em"}, layout=widgets.Layout(width="32em"))}
        super().__init__(sliders, figsize=(9.0, 3.4), dpi=80)

    def _accuracies(self, strength):
        X_test = self._shift(self.X_test, strength) * self.scale
        key = round(strength, 9)
        if key in self._cache:  # every slider position on the grid was computed at start-up
            return self._cache[key], X_test
        X_adapt = self._shift(self.X_adapt, strength) * self.scale
        acc = self._cache[key] = {}
        for label, (net, params, state) in self.models.items():
            acc[label] = net.accuracy(params, state, X_test, self.y_test)
            if net.bn is not None:
                adapted = self._reestimate(net, params, state, X_adapt)
                acc[f"{label}, stats re-estimated"] = net.accuracy(params, adapted, X_test,
                                                                  self.y_test)
        return acc, X_test

    def compute(self, params):
        """params: {"strength": s in [0, 1]}. Returns strength, accuracy {label: test accuracy},
        saturated (share of shifted test pixels at white) and images (len(examples), 8, 8)."""
        s = float(params["strength"])
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {s!r}")
        accuracy, X_test = self._accuracies(s)
        return {"strength": s, "accuracy": dict(accuracy),
                "saturated": float(np.mean(X_test >= 16 * self.scale)),
                "images": X_test[self.examples].reshape(-1, 8, 8)}

    def _strip(self, images):
        """The example images side by side, separated by a one-pixel white gap."""
        gap = np.full((8, 1), np.nan)
        return np.hstack([part for img in images for part in (img, gap)][:-1])

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        figure.subplots_adjust(left=0.03, right=0.98, bottom=0.15, top=0.88, wspace=0.2)
        strip = self._strip(np.zeros((len(self.examples), 8, 8)))
        self._image = left.imshow(strip, cmap="Greys", vmin=0, vmax=16 * self.scale,
                                  interpolation="nearest")
        left.set_title("Test digits as the network sees them")
        left.set_xticks([]), left.set_yticks([])
        left.set_xlabel("(8x8 pixels each; black = brightest)")
        colors = list(plots.PALETTE.values())
        self._markers = {}
        for i, label in enumerate(self.labels):
            right.plot(self.grid, 100 * self.curves[label], color=colors[i % len(colors)],
                       lw=1.6, label=label)
            self._markers[label] = right.plot([], [], "o", color=colors[i % len(colors)],
                                              ms=7, mec="k")[0]
        self._vline = right.axvline(0.0, color=plots.PALETTE["black"], lw=1, ls="--")
        right.set_xlim(0, 1)
        right.set_ylim(0, 100)
        right.set_title("Test accuracy under the shift")
        right.set_xlabel("shift strength s (brightness + contrast)")
        right.set_ylabel("test accuracy (%)")
        right.legend(loc="lower left", fontsize=8)

    def dynamic_artists(self):
        return [self._image, self._vline, *self._markers.values()]

    def draw(self, result):
        self._image.set_data(self._strip(result["images"]))
        s = result["strength"]
        self._vline.set_xdata([s, s])
        for label, marker in self._markers.items():
            marker.set_data([s], [100 * result["accuracy"][label]])

    def readout_html(self, result):
        parts = [f"<b>s</b> = {result['strength']:.2f}",
                 f"pixels saturated at white: {result['saturated']:.0%}"]
        parts += [f"<b>{label}</b>: {acc:.1%}" for label, acc in result["accuracy"].items()]
        return " &nbsp;|&nbsp; ".join(parts)


# ----------------------------------------------------------------------------- notebook 08
class NormalizationCompanionsExplorer(Explorer):
    """Notebook 08: one example's normalized output under BN, LN and GN, in random batches.

    z: (M, n) one layer's pre-activations for a population of M examples; index: the example
    followed. For each batch size m in batch_sizes, `draws` batches are made of the example plus
    m - 1 companions drawn without replacement; each batch goes through
    helpers.batchnorm.batchnorm_forward, helpers.normalization.layernorm_forward and
    groupnorm_forward (gamma = 1, beta = 0) and the example's row is kept. Everything is
    computed once, in the constructor. Control "m": the batch size.
    Three panels (BN, LN, GN): the example's output per unit (the first `units` units), one line
    per batch (the first `shown` draws), with a dashed reference: for BN the example normalized
    with the whole population's statistics (what inference with exact running averages gives),
    for LN and GN the example normalized alone (a batch of one).
    """

    METHODS = ("batch", "layer", "group")
    NAMES: ClassVar[dict] = {"batch": "Batch norm", "layer": "Layer norm", "group": "Group norm"}

    def __init__(self, z, index=0, batch_sizes=(2, 4, 8, 16, 32, 64, 128), draws=200, groups=4,
                 units=16, shown=25, eps=1e-5, seed=0):
        # floor 2, imported here so that `import helpers.widgets` stays fast
        from helpers import normalization

        z = _check_batch(z)
        sizes = tuple(int(m) for m in batch_sizes)
        if not sizes or min(sizes) < 2 or max(sizes) > len(z):
            raise ValueError(f"batch sizes must be in 2..{len(z)}; got {batch_sizes!r}")
        if not 0 <= int(index) < len(z):
            raise ValueError(f"index must be in 0..{len(z) - 1}; got {index!r}")
        n = z.shape[1]
        self.z, self.index, self.sizes, self.groups = z, int(index), sizes, int(groups)
        self.units, self.shown = min(int(units), n), min(int(shown), int(draws))
        ones, zeros = np.ones(n), np.zeros(n)
        example = z[self.index : self.index + 1]
        mu, var = z.mean(axis=0), z.var(axis=0)
        self.reference = {
            "batch": (example[0] - mu) / np.sqrt(var + eps),
            "layer": normalization.layernorm_forward(example, ones, zeros, eps)[0][0],
            "group": normalization.groupnorm_forward(example, ones, zeros, self.groups, eps)[0][0],
        }
        others = np.delete(z, self.index, axis=0)
        rng = np.random.default_rng(seed)
        self.outputs = {}
        for m in sizes:
            # batches[i, d] = example i of batch d; example 0 of every batch is the one followed.
            rows = np.array([rng.choice(len(others), size=m - 1, replace=False)
                             for _ in range(draws)])
            batches = np.concatenate([np.broadcast_to(example, (1, draws, n)),
                                      others[rows].transpose(1, 0, 2)])
            # BN of all draws in one call: statistics over axis 0, the m examples of each batch.
            bn = batchnorm.batchnorm_forward(batches, np.ones((draws, n)), np.zeros((draws, n)),
                                             eps, axes=(0,))[0]
            # LN and GN normalize each example on its own, so all batches can go in one call.
            flat = batches.reshape(m * draws, n)
            ln = normalization.layernorm_forward(flat, ones, zeros, eps)[0].reshape(m, draws, n)
            gn = normalization.groupnorm_forward(flat, ones, zeros, self.groups, eps)[0]
            self.outputs[m] = {"batch": bn[0], "layer": ln[0],
                               "group": gn.reshape(m, draws, n)[0]}
        self.spreads = {method: np.array([self._spread(self.outputs[m][method]) for m in sizes])
                        for method in self.METHODS}
        shown_values = np.concatenate([self.outputs[m][k][: self.shown, : self.units].ravel()
                                       for m in sizes for k in self.METHODS])
        low, high = np.percentile(shown_values, [0.5, 99.5])
        pad = 0.1 * (high - low)
        self.ylim = (float(low - pad), float(high + pad))
        sliders = {"m": widgets.SelectionSlider(
            options=sizes, value=4 if 4 in sizes else sizes[0], description="batch size m",
            style={"description_width": "7em"}, layout=widgets.Layout(width="32em"))}
        super().__init__(sliders, figsize=(9.6, 3.4), dpi=80)

    @staticmethod
    def _spread(values):
        """Mean over units of the std over batches of the example's output."""
        return float(values.std(axis=0).mean())

    def compute(self, params):
        """params: {"m": one of batch_sizes}. Returns m, outputs {method: (draws, n)} (the
        example's output in each batch), spread {method: mean over units of the std over
        batches}, max_change {method: largest |output - reference| over batches and units},
        reference {method: (n,)} and spreads {method: (len(batch_sizes),)} for every m."""
        m = int(params["m"])
        if m not in self.outputs:
            raise ValueError(f"m must be one of {self.sizes}; got {m!r}")
        outputs = self.outputs[m]
        return {
            "m": m, "outputs": outputs, "reference": self.reference, "spreads": self.spreads,
            "spread": {k: self._spread(v) for k, v in outputs.items()},
            "max_change": {k: float(np.max(np.abs(v - self.reference[k])))
                           for k, v in outputs.items()},
        }

    def setup_figure(self, figure):
        from matplotlib.collections import LineCollection

        axes = figure.subplots(1, 3, sharey=True)
        figure.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.78, wspace=0.08)
        x = np.arange(self.units)
        self._lines = {}
        for ax, method in zip(axes, self.METHODS):
            self._lines[method] = ax.add_collection(LineCollection(
                [], colors=plots.PALETTE["blue"], linewidths=1.0, alpha=0.35))
            ax.plot(x, self.reference[method][: self.units], "--", color=plots.PALETTE["black"],
                    lw=1.3)
            ax.set_xlim(-0.5, self.units - 0.5)
            ax.set_ylim(*self.ylim)
            ax.set_xlabel("unit of the layer")
            name = self.NAMES[method] + (f" (G = {self.groups})" if method == "group" else "")
            dashed = ("whole set's statistics" if method == "batch"
                      else "the example alone (m = 1)")
            ax.set_title(f"{name}\ndashed: {dashed}", fontsize=9)
        axes[0].set_ylabel("the example's normalized output")
        self._title = figure.suptitle("", fontsize=10)
        self._x = x

    def dynamic_artists(self):
        return [*self._lines.values(), self._title]

    def draw(self, result):
        for method, collection in self._lines.items():
            values = result["outputs"][method][: self.shown, : self.units]
            collection.set_segments([np.column_stack([self._x, row]) for row in values])
        self._title.set_text(f"One example's output in {self.shown} random batches of m = "
                             f"{result['m']} (one blue line per batch)")

    def readout_html(self, result):
        parts = [f"<b>m = {result['m']}</b>"]
        parts += [f"{self.NAMES[k]}: the example's output moves by {result['spread'][k]:.3f} "
                  f"(std over batches)" for k in self.METHODS]
        return " &nbsp;|&nbsp; ".join(parts)
