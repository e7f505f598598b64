"""Notebooks 02 and 03: the batch-norm forward pass, gamma, beta and eps, seen as histograms."""

from typing import ClassVar

import numpy as np

from helpers import batchnorm, experiments, plots
from helpers.experiments import ACTIVATION_NAMES, SATURATION, SATURATION_SLOPE
from helpers.explorers.base import Choice, Explorer, Slider, join, number

__all__ = ["BatchNormExplorer", "IdentityBlendExplorer"]


class BatchNormExplorer(Explorer):
    """Notebook 02: what gamma, beta and eps do to z~, and what the activation g then sees.

    z: (m, n) pre-activations of one layer for one mini-batch (examples along axis 0).
    Controls:
      "gamma": the scale given to every unit (0.1 .. 5);
      "beta":  the shift given to every unit (-5 .. 5);
      "eps":   added to the variance before the square root (1e-8 .. 100, log slider);
      "activation": "sigmoid", "tanh" or "relu", the g applied to z~.
    Four histograms (all units pooled): z, z_norm, z~ (saturated region shaded: where g's slope
    is below 30% of its maximum, |z~| > 2.42 for sigmoid, > 1.21 for tanh) and g(z~).
    The y axes stay fixed while the sliders move (set from the default setting, with room to
    grow), so bar heights compare across settings; a bar taller than its axis is cut at the top
    and the panel says how tall the tallest bar is.
    The numbers are helpers.experiments.bn_activation.
    """

    ACTIVATIONS = ACTIVATION_NAMES
    NORM_EDGES = np.linspace(-4.0, 4.0, 81)
    TILDE_EDGES = np.linspace(-10.0, 10.0, 101)
    OUTPUT_EDGES: ClassVar[dict] = {"sigmoid": np.linspace(0.0, 1.0, 51),
                                    "tanh": np.linspace(-1.0, 1.0, 51),
                                    "relu": np.linspace(0.0, 10.0, 51)}
    FIGSIZE = (9.6, 4.6)
    LABEL_WIDTH, CONTROL_WIDTH = "4em", "30em"
    DEFAULTS: ClassVar[dict] = {"gamma": 1.0, "beta": 0.0, "eps": 1e-5}
    HEADROOM = 1.6  # fixed y limits: the default setting's tallest bar times this, rounded up

    def __init__(self, z):
        self.z = experiments.dense_batch(z)
        low, high = np.percentile(self.z, [0.5, 99.5])
        pad = 0.05 * (high - low) + 1e-12
        self.z_edges = np.linspace(low - pad, high + pad, 61)
        self._z_heights = plots.histogram_percent(self.z, self.z_edges)  # z never changes
        self._ylims = self._fixed_ylims()
        super().__init__()
        self.warm_up([{"activation": name} for name in self.ACTIVATIONS])

    def _fixed_ylims(self):
        """{panel: y limit}, "a" per activation: the default setting's tallest bar x HEADROOM."""
        limits = {"z": plots.nice_limit(self._z_heights.max())}
        for name in self.ACTIVATIONS:
            heights = self.compute({**self.DEFAULTS, "activation": name})["heights"]
            limits["z_norm"] = plots.nice_limit(self.HEADROOM * heights["z_norm"].max())
            limits["z_tilde"] = plots.nice_limit(self.HEADROOM * heights["z_tilde"].max())
            limits["a", name] = min(plots.nice_limit(self.HEADROOM * heights["a"].max()), 100.0)
        return limits

    def controls(self):
        return [
            Slider("gamma", "gamma", 1.0, 0.1, 5.0, 0.05),
            Slider("beta", "beta", 0.0, -5.0, 5.0, 0.1),
            Slider("eps", "eps", 1e-5, 1e-8, 1e2, 0.5, log=True, readout_format=".0e"),
            Choice("activation", "g", self.ACTIVATIONS, "sigmoid", buttons=True),
        ]

    def compute(self, params):
        """params: {"gamma": float, "beta": float, "eps": float > 0, "activation": name}.

        Returns the fields of helpers.experiments.BNActivation as a dict (z_norm, z_tilde, a,
        var, z_tilde_mean, z_tilde_std, z_norm_std, slope_ratio, saturated, dead, dead_units),
        the parameters, and heights: the four histograms in %, keys "z", "z_norm", "z_tilde", "a".
        """
        name = params["activation"]
        r = experiments.bn_activation(self.z, params["gamma"], params["beta"], params["eps"], name)
        heights = {
            "z": self._z_heights,
            "z_norm": plots.histogram_percent(r.z_norm, self.NORM_EDGES),
            "z_tilde": plots.histogram_percent(r.z_tilde, self.TILDE_EDGES),
            "a": plots.histogram_percent(r.a, self.OUTPUT_EDGES[name]),
        }
        return {"gamma": float(params["gamma"]), "beta": float(params["beta"]),
                "eps": float(params["eps"]), "activation": name, **r._asdict(),
                "heights": heights}

    def setup_figure(self, figure):
        axes = figure.subplots(2, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.11, top=0.94, hspace=0.62,
                               wspace=0.22)
        (ax_z, ax_norm), (ax_tilde, ax_a) = axes
        self._axes = {"z": ax_z, "z_norm": ax_norm, "z_tilde": ax_tilde, "a": ax_a}
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
        # Each activation has its own threshold (helpers.experiments.SATURATION); draw() moves it.
        edge = SATURATION["sigmoid"]
        self._flat = [ax_tilde.axvspan(-10, -edge, color=plots.PALETTE["orange"], alpha=0.2,
                                       lw=0, label="g saturated"),
                      ax_tilde.axvspan(edge, 10, color=plots.PALETTE["orange"], alpha=0.2,
                                       lw=0)]
        ax_tilde.legend(loc="upper left", fontsize=8)
        self._drawn_for = None  # the activation panels 3 and 4 are set up for; draw() sets it
        ax_z.set_ylim(0, self._ylims["z"])
        ax_norm.set_ylim(0, self._ylims["z_norm"])
        ax_tilde.set_ylim(0, self._ylims["z_tilde"])
        # "tallest bar 43% (cut)": shown only when a bar is taller than its fixed axis.
        self._cut = {key: self._axes[key].text(
            0.98, 0.95, "", transform=self._axes[key].transAxes, ha="right", va="top",
            fontsize=8, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
            for key in ("z_norm", "z_tilde", "a")}

    def dynamic_artists(self):
        return [self._steps["z_norm"], self._steps["z_tilde"], self._steps["a"],
                *self._cut.values()]

    def static_key(self, result):
        # Axis limits are fixed; the output axis and the shaded region change with g only.
        return result["activation"]

    def draw(self, result):
        name = result["activation"]
        self._steps["z"].set_data(result["heights"]["z"], self.z_edges)
        self._steps["z_norm"].set_data(result["heights"]["z_norm"], self.NORM_EDGES)
        self._steps["z_tilde"].set_data(result["heights"]["z_tilde"], self.TILDE_EDGES)
        self._steps["a"].set_data(result["heights"]["a"], self.OUTPUT_EDGES[name])
        if name != self._drawn_for:  # the axes of panel 4 and the shading change with g only
            self._show_activation(name)
        for key, text in self._cut.items():
            peak, top = result["heights"][key].max(), self._axes[key].get_ylim()[1]
            text.set_text(f"tallest bar {peak:.0f}% (cut)" if peak > top else "")

    def _show_activation(self, name):
        """Panel 4's axes and title, and the shaded flat region of panel 3, for g = `name`."""
        self._axes["a"].set_ylim(0, self._ylims["a", name])
        self._axes["a"].set_xlim(self.OUTPUT_EDGES[name][0], self.OUTPUT_EDGES[name][-1])
        self._axes["a"].set_title(f"4. a = {name}(z~)")
        left, right = self._flat
        if name == "relu":  # relu is flat (zero) for every negative input
            left.set_x(-10), left.set_width(10), right.set_visible(False)
            left.set_label("relu output 0")
        else:
            edge = SATURATION[name]
            left.set_x(-10), left.set_width(10 - edge)
            right.set_x(edge), right.set_width(10 - edge), right.set_visible(True)
            left.set_label(f"saturated: |z~| > {edge:.2f}")  # the readout says why
        self._axes["z_tilde"].legend(loc="upper left", fontsize=8)  # the new label; slow to make
        self._drawn_for = name

    def readout_html(self, result):
        parts = [f"<b>z~</b>: mean {number(result['z_tilde_mean'], '.2f')}, std "
                 f"{result['z_tilde_std']:.2f} &nbsp;|&nbsp; <b>z_norm</b>: std "
                 f"{result['z_norm_std']:.3f}"]
        name = result["activation"]
        if name == "relu":
            parts.append(f"<b>dead outputs</b> (relu = 0): {result['dead']:.1%}, "
                         f"{result['dead_units']} of {self.z.shape[1]} units dead for the "
                         f"whole batch")
        else:
            parts.append(f"<b>saturated</b> (|z~| &gt; {SATURATION[name]:.2f}, where the slope "
                         f"of {name} is below {SATURATION_SLOPE:.0%} of its maximum): "
                         f"{result['saturated']:.1%}")
        parts.append(f"<b>mean slope</b> of {name}: {result['slope_ratio']:.0%} of its maximum")
        return join(parts)


class IdentityBlendExplorer(Explorer):
    """Notebook 03: slide gamma and beta from "normalized" (1, 0) to "identity" (sqrt(var+eps), mu).

    z: (m, n) pre-activations; eps as in batch norm.
    Control "blend" t in [0, 1]: gamma = (1 - t) * 1 + t * sqrt(var + eps),
    beta = (1 - t) * 0 + t * mu, per unit (helpers.experiments.identity_blend). At t = 1, z~
    equals z up to round-off. Left: histogram of z~ (all units pooled) over the outline of z.
    Right: each unit's mean and std, for z~ (filled) and z (hollow targets).
    """

    FIGSIZE = (9.0, 3.6)
    LABEL_WIDTH, CONTROL_WIDTH = "12em", "36em"

    def __init__(self, z, eps=1e-5):
        self.z = experiments.dense_batch(z)
        self.eps = float(eps)
        self.mu, self.var = batchnorm.batch_moments(self.z)
        low, high = min(np.percentile(self.z, 0.5), -3.0), max(np.percentile(self.z, 99.5), 3.0)
        self.edges = np.linspace(low, high, 71)
        # The y axis always has room for the histogram of z, the target at t = 1.
        self._z_heights = plots.histogram_percent(self.z, self.edges)
        self._z_ylim = plots.nice_limit(self._z_heights.max())
        super().__init__()

    def controls(self):
        return [Slider("blend", "normalized -> identity", 0.0, 0.0, 1.0, 0.05)]

    def compute(self, params):
        """params: {"blend": t in [0, 1]}. Returns blend, the fields of
        helpers.experiments.Blend (gamma, beta (n,), z_tilde (m, n), unit_mean and unit_std of
        z~ (n,), max_abs_diff = max |z~ - z|), heights (%) and ylim."""
        r = experiments.identity_blend(self.z, params["blend"], self.eps)
        heights = plots.histogram_percent(r.z_tilde, self.edges)
        return {"blend": float(params["blend"]), **r._asdict(), "heights": heights,
                "ylim": max(plots.nice_limit(heights.max()), self._z_ylim)}

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
        return join([f"<b>blend</b> t = {result['blend']:.2f}: gamma = (1 - t) + t sqrt(var + eps),"
                     f" beta = t mu",
                     f"<b>max |z~ - z|</b> = {result['max_abs_diff']:.3g}"])
