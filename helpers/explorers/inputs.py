"""Notebook 01: how one feature's scale shapes the loss bowl and slows gradient descent."""

import numpy as np

from helpers import experiments, plots, regression, validation
from helpers.explorers.base import Checkbox, Explorer, Slider, join, number, remember

__all__ = ["InputScaleExplorer"]


class InputScaleExplorer(Explorer):
    """Notebook 01: the loss contours and gradient descent path, for a feature scale you choose.

    X: (m, 2) the two raw input features; t: (m,) targets.
    Controls:
      "scale": multiplies feature 1 by s (1x to 1000x, log slider), as if it were measured in a
               unit s times smaller; its spread (and its mean) grow s-fold.
      "lr": the learning rate as a fraction of the largest stable rate 2 / lambda_max
            (above 1 gradient descent diverges).
      "normalize": normalize both features (mean 0, variance 1) before fitting.
    The numbers are helpers.experiments.input_scale and loss_landscape: gradient descent starts
    at w = (0, 0) with b at its optimum, so the path begins in the plane the contours are drawn
    in (the loss over (w1, w2) with b = b*).
    """

    FIGSIZE = (9.0, 4.3)
    LABEL_WIDTH, CONTROL_WIDTH = "11em", "34em"

    def __init__(self, X, t, feature_names=("feature 1", "feature 2"), max_steps=1000, tol=1e-6,
                 grid_points=120):
        X = validation.float_array(X, "X", ndim=2).astype(np.float64)
        t = np.asarray(t, dtype=np.float64)
        if X.shape[1] != 2:
            raise ValueError(f"X must have shape (m, 2), two features, got shape {X.shape}")
        if t.shape != (X.shape[0],):
            raise ValueError(f"t must have shape ({X.shape[0]},), one target per row, "
                             f"got {t.shape}")
        if len(feature_names) != 2:
            raise ValueError(f"feature_names must hold 2 names, got {feature_names!r}")
        self.X, self.t = X, t
        self.feature_names = tuple(feature_names)
        self.max_steps, self.tol = max_steps, tol
        self.extent = self._fixed_extent()
        self.w1_grid = np.linspace(self.extent[0], self.extent[1], grid_points)
        self.w2_grid = np.linspace(self.extent[2], self.extent[3], grid_points)
        self._landscapes = {}  # (scale, normalize) -> LossLandscape: the lr slider reuses it
        super().__init__()
        self.warm_up([{"normalize": True}])  # the axes of normalized inputs, drawn once now

    def _fixed_extent(self):
        """One square window that holds the start and every minimum the sliders can produce."""
        points = [np.zeros(2)]
        for scale, normalize in ((1.0, False), (1000.0, False), (1.0, True)):
            X = experiments.scaled_features(self.X, scale, normalize)
            points.append(regression.optimum(X, self.t)[0][:2])
        return plots.square_window(points)

    def controls(self):
        return [
            Slider("scale", f"{self.feature_names[0]} x", 1.0, 1.0, 1000.0, 0.05, log=True,
                   readout_format=".3g"),
            Slider("lr", "lr / (2 / lambda_max)", 0.9, 0.05, 1.1, 0.01, readout_format=".2f"),
            Checkbox("normalize", "normalize inputs"),
        ]

    def compute(self, params):
        """params: {"scale": s >= 1, "lr": fraction of 2 / lambda_max, "normalize": bool}.

        Returns a dict with eigenvalues (3,), condition_number, stable_lr (= 2 / lambda_max),
        lr, theta_star (3,), loss_star, path (k + 1, 3), gaps (k + 1,) = loss - loss_star,
        steps_to_tol (int or None), diverged, predicted_steps (int or None), status (text),
        and for the picture ellipses (list of (200, 2)) and background (q, p) loss - loss_star
        on the window.
        """
        scale, fraction, normalize = params["scale"], params["lr"], bool(params["normalize"])
        X = experiments.scaled_features(self.X, scale, normalize)
        run = experiments.descent(X, self.t, fraction, self.max_steps, self.tol)
        landscape = self._landscapes.get((scale, normalize))
        if landscape is None:  # the loss surface does not depend on lr
            landscape = experiments.loss_landscape(X, self.t, self.w1_grid, self.w2_grid,
                                                   optimum=(run.theta_star, run.loss_star))
            remember(self._landscapes, (scale, normalize), landscape, self.MAX_BACKGROUNDS)
        return {
            "scale": scale, "lr_fraction": fraction, "normalize": normalize,
            "eigenvalues": run.eigenvalues, "condition_number": run.condition_number,
            "stable_lr": run.stable_lr, "lr": run.lr, "theta_star": run.theta_star,
            "loss_star": run.loss_star, "path": run.run.thetas, "gaps": run.gaps,
            "steps_to_tol": run.run.steps_to_tol, "diverged": run.run.diverged,
            "predicted_steps": run.predicted_steps, "status": run.status,
            "ellipses": landscape.ellipses, "background": landscape.background,
        }

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.25, top=0.92, wspace=0.3)
        self._contour = plots.contour_panel(left, self.extent, len(experiments.GAP_LEVELS),
                                            "Loss contours (b at its optimum)", "w1", "w2")
        self._loss = plots.loss_panel(right, self.max_steps, title="Loss minus its minimum")
        # Nearest-pixel shading: half the drawing time of bilinear, and it is only a backdrop.
        self._contour.background.set_interpolation("nearest")
        # Legends below the panels, drawn once with the axes: inside, they would have to be
        # redrawn over the path on every move (text is slow to draw).
        for ax, columns in ((left, 2), (right, 1)):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=columns, fontsize=8)
        self._axes = (left, right)

    def layer_artists(self):
        # The shaded loss and its contours change with the feature scale, not with lr.
        return [self._contour.background, *self._contour.levels]

    def layer_key(self, result):
        return (result["scale"], result["normalize"])

    def dynamic_artists(self):
        contour = self._contour
        return [contour.path, contour.start, contour.end, contour.optimum, *self._loss]

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
        return join([
            f"<b>condition number</b> lambda_max / lambda_min = "
            f"{number(result['condition_number'], '.3g')} &nbsp;|&nbsp; <b>largest stable lr</b>"
            f" 2 / lambda_max = {number(result['stable_lr'], '.3g')}",
            f"lr = {number(result['lr'], '.3g')} &nbsp;|&nbsp; <b>{result['status']}</b>",
        ])
