"""Notebook 06: test images from a "different camera", and what re-estimated BN statistics fix."""

import matplotlib
import numpy as np

from helpers import experiments, plots, validation
from helpers.data import exposure_shift
from helpers.explorers.base import Choice, Explorer, Slider, join

__all__ = ["CovariateShiftExplorer"]


class CovariateShiftExplorer(Explorer):
    """Notebook 06: slide the strength of a camera shift, see the digits and the test accuracy.

    shift: a helpers.experiments.ShiftAccuracy (`covariate_shift(models, X_adapt, X_test,
    y_test, strengths, scale, offset, reestimate_inputs)`), or one with seed-averaged
    accuracies: the test accuracy of every network, and of every network with re-estimated
    statistics (BN's, or the input's without BN), at each strength.
    images: (k, 64) raw test images (0..16) to show, e.g. X_test[:3].
    Control "strength" s: one of shift.strengths (a slider with their step when they are evenly
    spaced). Left: the images after data.exposure_shift(images, s), then (x - offset) * scale,
    as the network sees them, drawn in grey levels with white = the brightest. Right: test
    accuracy against s for every curve, with the current s marked. A redraw only looks the
    accuracies up.
    """

    FIGSIZE = (9.0, 3.4)

    def __init__(self, shift, images):
        if not isinstance(shift, experiments.ShiftAccuracy):
            raise TypeError(f"shift must be the ShiftAccuracy of "
                            f"helpers.experiments.covariate_shift; got {type(shift).__name__}")
        self.shift = shift
        self.grid = np.asarray(shift.strengths, dtype=np.float64)
        self.curves = shift.accuracy
        self.labels = list(shift.accuracy)
        self.scale, self.offset = shift.scale, shift.offset
        self.images = validation.number_array(images, "images", ndim=2).astype(np.float64)
        if self.images.shape[1] != 64:
            raise ValueError(f"images must have shape (k, 64), 8x8 images; got "
                             f"{self.images.shape}")
        super().__init__()

    def controls(self):
        grid = self.grid
        steps = np.diff(grid)
        if len(grid) > 1 and np.allclose(steps, steps[0]) and steps[0] > 0:
            return [Slider("strength", "shift strength", float(grid[0]), float(grid[0]),
                           float(grid[-1]), float(steps[0]))]
        return [Choice("strength", "shift strength", tuple(float(s) for s in grid),
                       float(grid[0]))]

    def compute(self, params):
        """params: {"strength": s, one of shift.strengths}. Returns strength, accuracy
        {label: test accuracy}, saturated (share of shifted test pixels at white) and images
        (k, 8, 8) as the network sees them."""
        s = float(params["strength"])
        i = int(np.argmin(np.abs(self.grid - s)))
        if not abs(self.grid[i] - s) <= 1e-9:
            raise ValueError(f"strength must be one of the strengths computed, "
                             f"{np.round(self.grid, 3).tolist()}; got {s!r}")
        return {"strength": s,
                "accuracy": {label: float(acc[i]) for label, acc in self.curves.items()},
                "saturated": float(self.shift.saturated[i]),
                "images": ((exposure_shift(self.images, s) - self.offset)
                           * self.scale).reshape(-1, 8, 8)}

    def _strip(self, images):
        """The example images side by side, separated by a one-pixel gap (NaN, drawn in colour)."""
        gap = np.full((8, 1), np.nan)
        return np.hstack([part for img in images for part in (img, gap)][:-1])

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        figure.subplots_adjust(left=0.03, right=0.98, bottom=0.15, top=0.88, wspace=0.2)
        strip = self._strip(np.zeros((len(self.images), 8, 8)))
        # "gray" draws large values white: a brighter camera looks brighter. The gaps between
        # the images (NaN) are drawn in a colour no pixel has.
        cmap = matplotlib.colormaps["gray"].with_extremes(bad=plots.PALETTE["vermillion"])
        self._image = left.imshow(strip, cmap=cmap, vmin=(0 - self.offset) * self.scale,
                                  vmax=(16 - self.offset) * self.scale, interpolation="nearest")
        left.set_title("Test digits as the network sees them")
        left.set_xticks([]), left.set_yticks([])
        left.set_xlabel("(8x8 pixels each; white = brightest)")
        colors = list(plots.PALETTE.values())
        self._markers = {}
        for i, label in enumerate(self.labels):
            right.plot(self.grid, 100 * self.curves[label], color=colors[i % len(colors)],
                       lw=1.6, label=label)
            # clip_on=False: the markers at s = 0 and s = 1 sit on the axes' edges, whole.
            self._markers[label] = right.plot([], [], "o", color=colors[i % len(colors)],
                                              ms=7, mec="k", clip_on=False, zorder=3)[0]
        self._vline = right.axvline(0.0, color=plots.PALETTE["black"], lw=1, ls="--")
        right.set_xlim(-0.03, 1.03)
        right.set_ylim(0, 100)
        right.set_title("Test accuracy under the shift")
        right.set_xlabel("shift strength s (over-exposure)")
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
        accuracies = " &nbsp;|&nbsp; ".join(f"<b>{label}</b> {acc:.1%}"
                                            for label, acc in result["accuracy"].items())
        return join([f"<b>s</b> = {result['strength']:.2f}: pixels saturated at white "
                     f"{result['saturated']:.0%}; test accuracy:", accuracies])
