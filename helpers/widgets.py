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

import ipywidgets as widgets
import numpy as np
from matplotlib import image as mpl_image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import plots, regression
from helpers.data import normalize_inputs

__all__ = ["Explorer", "InputScaleExplorer"]


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
