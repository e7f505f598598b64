"""Notebook 09: per-replica vs synchronized batch statistics in data-parallel training."""

import numpy as np

from helpers import plots
from helpers.bn_practice import random_orders, statistics_of_batches
from helpers.explorers.base import Choice, Explorer, join

__all__ = ["ReplicaStatisticsExplorer"]


class ReplicaStatisticsExplorer(Explorer):
    """Notebook 09: how far the batch mean BN normalizes with strays from the population's.

    z (M, n): a layer's pre-activations over the training set. Controls: "per_replica" (examples
    per device) and "replicas" (devices). Each setting draws `draws` global batches of
    replicas x per_replica examples (helpers.bn_practice.replica_statistics). Left: histogram of
    unit `unit`'s batch mean, in population standard deviations from the population mean, for
    per-replica BN (each device its own examples) and synchronized BN (the global batch). Right:
    the spread of the batch mean (mean over units) against the examples per device.
    """

    EDGES = np.linspace(-2.0, 2.0, 41)
    FIGSIZE = (9.6, 3.8)
    LABEL_WIDTH = "11em"

    def __init__(self, z, per_replica=(2, 4, 8, 16, 32), replicas=(1, 2, 4, 8), draws=200,
                 unit=0, seed=0):
        self.sizes, self.replica_counts = tuple(per_replica), tuple(replicas)
        self.unit = int(unit)
        z = np.asarray(z, dtype=np.float64)
        largest = max(self.sizes) * max(self.replica_counts)
        if z.ndim != 2 or len(z) < largest:
            raise ValueError(f"z must have shape (M, n) with M >= {largest} (the largest global "
                             f"batch); got shape {z.shape}")
        orders = random_orders(len(z), draws, seed)   # one set of draws for every setting
        self.stats = {(m, k): statistics_of_batches(z, m, k, orders)
                      for m in self.sizes for k in self.replica_counts}
        self.spreads = {key: {sync: s.spread(sync) for sync in (False, True)}
                        for key, s in self.stats.items()}
        super().__init__()

    def controls(self):
        return [Choice("per_replica", "examples per device", self.sizes,
                       4 if 4 in self.sizes else self.sizes[0]),
                Choice("replicas", "devices", self.replica_counts,
                       4 if 4 in self.replica_counts else self.replica_counts[-1], buttons=True)]

    def _standardized(self, stats, synchronized):
        means = stats.sync_means if synchronized else stats.replica_means.reshape(
            -1, stats.replica_means.shape[-1])
        u = self.unit
        return (means[:, u] - stats.population_mean[u]) / stats.population_std[u]

    def compute(self, params):
        """params: {"per_replica": m, "replicas": k}. Returns m, k, the global batch m * k,
        spread {"per-replica", "synchronized"} (std of the batch mean over draws, in population
        stds, mean over units), heights {same keys: histogram in % of unit `unit`'s standardized
        batch mean}, and curves {same keys: spread for every per-replica size at this k}."""
        m, k = int(params["per_replica"]), int(params["replicas"])
        if (m, k) not in self.stats:
            raise ValueError(f"per_replica must be one of {self.sizes} and replicas one of "
                             f"{self.replica_counts}; got {m!r}, {k!r}")
        stats = self.stats[m, k]
        labels = {"per-replica": False, "synchronized": True}
        return {"per_replica": m, "replicas": k, "global_batch": m * k,
                "spread": {label: self.spreads[m, k][sync] for label, sync in labels.items()},
                "heights": {label: plots.histogram_percent(self._standardized(stats, sync),
                                                           self.EDGES)
                            for label, sync in labels.items()},
                "curves": {label: np.array([self.spreads[size, k][sync] for size in self.sizes])
                           for label, sync in labels.items()}}

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.84, wspace=0.28)
        colours = {"per-replica": plots.PALETTE["orange"], "synchronized": plots.PALETTE["blue"]}
        self._hists = {label: left.stairs(np.zeros(len(self.EDGES) - 1), self.EDGES,
                                          fill=label == "synchronized", alpha=0.6, lw=1.6,
                                          color=colour, label=f"{label} BN")
                       for label, colour in colours.items()}
        peak = max(plots.histogram_percent(self._standardized(s, sync), self.EDGES).max()
                   for s in self.stats.values() for sync in (False, True))
        left.set_xlim(self.EDGES[0], self.EDGES[-1])
        left.set_ylim(0, min(plots.nice_limit(peak), 100.0))
        left.set_xlabel(f"unit {self.unit}'s batch mean - population mean (population stds)")
        left.set_ylabel("batches (%)")
        left.legend(loc="upper left", fontsize=8)
        x = np.array(self.sizes)
        self._curves = {label: right.plot(x, np.ones(len(x)), "o-", color=colour,
                                          label=f"{label} BN")[0]
                        for label, colour in colours.items()}
        self._marker = right.axvline(x[0], color=plots.PALETTE["black"], ls="--", lw=1)
        everything = [v for s in self.spreads.values() for v in s.values()]
        right.set_xscale("log", base=2)
        right.set_xticks(x, [str(v) for v in x])
        right.minorticks_off()
        right.set_ylim(0, 1.1 * max(everything))
        right.set_xlabel("examples per device")
        right.set_ylabel("std of the batch mean (population stds)")
        right.legend(loc="upper right", fontsize=8)
        self._title = figure.suptitle("", fontsize=10)

    def dynamic_artists(self):
        return [*self._hists.values(), *self._curves.values(), self._marker, self._title]

    def draw(self, result):
        for label, hist in self._hists.items():
            hist.set_data(result["heights"][label])
        for label, line in self._curves.items():
            line.set_ydata(result["curves"][label])
        self._marker.set_xdata([result["per_replica"]] * 2)
        self._title.set_text(f"{result['replicas']} device(s) x {result['per_replica']} examples "
                             f"= global batch of {result['global_batch']}")

    def readout_html(self, result):
        spread = result["spread"]
        return join([f"<b>{result['replicas']} x {result['per_replica']}</b>",
                     f"per-replica BN: batch mean off by {spread['per-replica']:.3f} std",
                     f"synchronized BN: {spread['synchronized']:.3f} std",
                     f"ratio {spread['per-replica'] / spread['synchronized']:.2f}"])
