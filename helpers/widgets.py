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
from matplotlib import image as mpl_image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import batchnorm, layers, plots, regression
from helpers.data import normalize_inputs

__all__ = ["BatchNormExplorer", "Explorer", "IdentityBlendExplorer", "InputScaleExplorer"]


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
        self._background, self._background_key = None, object()  # no background drawn yet
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
        if key != self._background_key:
            canvas.draw()  # dynamic artists are marked animated, so this skips them
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        for artist in self.dynamic_artists():
            self.figure.draw_artist(artist)
        buffer = io.BytesIO()
        mpl_image.imsave(buffer, np.asarray(canvas.buffer_rgba()), format="png")
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
