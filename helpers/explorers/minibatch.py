"""Notebook 05: mini-batch noise against the batch size, and the running averages of inference."""

import numpy as np

from helpers import experiments, plots
from helpers.experiments import NOISE_PARTS
from helpers.explorers.base import Choice, Explorer, join, number

__all__ = ["MiniBatchNoiseExplorer", "RunningAverageExplorer"]


class MiniBatchNoiseExplorer(Explorer):
    """Notebook 05: one fixed example in many random mini-batches; how much its z_norm moves.

    noise: a helpers.experiments.NoiseSplit (`minibatch_noise(z, index, batch_sizes, ...)`):
    the example's z_norm in every random batch of every size, split into the total noise
    (batch mean and std, what BN does), its additive part (only the batch mean) and its
    multiplicative part (only the batch std). z~ = gamma z_norm + beta scales the spread by
    |gamma|, so z_norm is shown. Control "m": the batch size. Left: histograms over the draws;
    right: spread against m.
    """

    PARTS = NOISE_PARTS
    EDGES = np.linspace(-4.0, 4.0, 81)
    FIGSIZE = (9.0, 4.4)
    LABEL_WIDTH = "7em"

    def __init__(self, noise):
        if not isinstance(noise, experiments.NoiseSplit):
            raise TypeError(f"noise must be the NoiseSplit of helpers.experiments.minibatch_noise;"
                            f" got {type(noise).__name__}")
        self.noise = noise
        self.sizes = noise.sizes
        self.heights = {m: {part: plots.histogram_percent(v, self.EDGES)
                            for part, v in noise.values[m].items()} for m in self.sizes}
        super().__init__()

    def controls(self):
        sizes = self.sizes
        return [Choice("m", "batch size m", sizes,
                       32 if 32 in sizes else sizes[len(sizes) // 2])]

    def compute(self, params):
        """params: {"m": one of the batch sizes}. Returns m, exact (the population z_norm), the
        three spreads (std over the draws) and means of z_norm, guide = the total spread
        predicted by c / sqrt(m) from the middle batch size, heights (%) of the three histograms
        and the fitted log-log slopes (m >= 8)."""
        m, noise = int(params["m"]), self.noise
        if m not in noise.values:
            raise ValueError(f"m must be one of {self.sizes}; got {m!r}")
        i = self.sizes.index(m)
        mid = len(self.sizes) // 2
        c = noise.spreads["total"][mid] * np.sqrt(self.sizes[mid])
        return {
            "m": m, "exact": noise.exact,
            **{f"spread_{p}": float(noise.spreads[p][i]) for p in self.PARTS},
            **{f"mean_{p}": float(noise.values[m][p].mean()) for p in self.PARTS},
            "guide": float(c / np.sqrt(m)), "heights": self.heights[m], "slopes": noise.slopes,
        }

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.3, top=0.92, wspace=0.3)
        colours = {"total": plots.PALETTE["blue"], "additive": plots.PALETTE["orange"],
                   "multiplicative": plots.PALETTE["bluish_green"]}
        labels = {"total": "batch mean and std (what BN does)",
                  "additive": "only the batch mean (shift)",
                  "multiplicative": "only the batch std (scale)"}
        self._hists = {}
        for part in self.PARTS:
            self._hists[part] = left.stairs(
                np.zeros(len(self.EDGES) - 1), self.EDGES, fill=part == "total",
                alpha=0.5 if part == "total" else 1.0, lw=1.5, color=colours[part],
                label=labels[part])
        left.axvline(self.noise.exact, color=plots.PALETTE["black"], ls="--", lw=1.2,
                     label="with the whole training set")
        peak = max(h.max() for per_m in self.heights.values() for h in per_m.values())
        left.set_ylim(0, min(plots.nice_limit(peak), 100.0))
        left.set_xlim(self.EDGES[0], self.EDGES[-1])
        left.set_xlabel("z_norm of the example (z~ = gamma z_norm + beta)")
        left.set_ylabel("share of random batches (%)")
        left.set_title("One example in random mini-batches")
        # Below the panels: inside, the legend would cover some batch size's peaks.
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7)
        spreads = self.noise.spreads
        plots.spread_vs_batch_size(right, self.sizes, dict(spreads), guide_at="total")
        # With m = 2 the batch std can be ~0 and the multiplicative spread explodes (tens):
        # cap the axis (a spread of 2 standard deviations is already enormous) and mark what
        # lies above.
        plots.cap_y_axis(right, max(2.0, 2 * float(np.max(spreads["total"]))))
        self._marker = right.plot([], [], "o", ms=11, mfc="none", mec=plots.PALETTE["vermillion"],
                                  mew=2)[0]

    def dynamic_artists(self):
        return [*self._hists.values(), self._marker]

    def draw(self, result):
        for part in self.PARTS:
            self._hists[part].set_data(result["heights"][part], self.EDGES)
        self._marker.set_data([result["m"]], [result["spread_total"]])

    def readout_html(self, result):
        return join([
            f"<b>m = {result['m']}</b>: spread of z_norm {result['spread_total']:.3f} "
            f"(guide c/sqrt(m): {result['guide']:.3f})",
            f"additive part {result['spread_additive']:.3f}, multiplicative part "
            f"{result['spread_multiplicative']:.3f}",
            f"whole-set value {number(result['exact'], '.2f')}, mean over batches "
            f"{number(result['mean_total'], '.2f')}",
        ])


class RunningAverageExplorer(Explorer):
    """Notebook 05: how the running averages of mu and var approach the population's.

    batch_means, batch_vars: (T, n) the batch statistics of n units at each of T training steps
    (weights frozen, so the population statistics stay fixed); population_mean,
    population_var: (n,) over the whole training set; unit: the unit drawn. The averages start
    at mean 0 and variance 1 (Keras' and helpers' initial values).
    Control "momentum". The numbers are helpers.experiments.running_average_errors: errors are
    averaged over the n units, |mean error| / population std and |var error| / population var.
    """

    MOMENTA = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
    FIGSIZE = (9.0, 3.6)
    LABEL_WIDTH = "6em"

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
        super().__init__()

    def controls(self):
        return [Choice("momentum", "momentum", self.MOMENTA, 0.9)]

    def compute(self, params):
        """params: {"momentum": in [0, 1)}. Returns momentum and the fields of
        helpers.experiments.RunningAverages: running_mean, running_var (T + 1, n), mean_error,
        var_error (T + 1,) averaged over units, their final values, steps_to_tol (first step
        after which both errors stay below tol, or None) and start_weight = momentum ** T."""
        r = experiments.running_average_errors(self.batch_means, self.batch_vars, self.pop_mean,
                                               self.pop_var, params["momentum"], self.tol)
        return {"momentum": float(params["momentum"]), **r._asdict()}

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
        return join([f"<b>momentum {result['momentum']:g}</b> (averages about "
                     f"{1 / (1 - result['momentum']):.0f} batches): final error of the mean "
                     f"{result['final_mean_error']:.1%} of a std, of the variance "
                     f"{result['final_var_error']:.1%}", reach,
                     f"weight left on the initial 0 / 1: {result['start_weight']:.2g}"])
