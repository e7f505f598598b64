"""Notebook 08: batch, layer and group norm, and how one example depends on its companions."""

from typing import ClassVar

import numpy as np

from helpers import experiments, plots
from helpers.experiments import COMPANION_METHODS
from helpers.explorers.base import Choice, Explorer, join, number

__all__ = ["NormalizationCompanionsExplorer"]


class NormalizationCompanionsExplorer(Explorer):
    """Notebook 08: one example's normalized output under BN, LN and GN, in random batches.

    companions: a helpers.experiments.Companions (`normalization_companions(z, index, ...)`):
    the example's output under each method in `draws` random batches of every size.
    Control "m": the batch size. Three panels (BN, LN, GN): the example's output per unit (the
    first `units` units), one line per batch (the first `shown` draws), with a dashed
    reference: for BN the example normalized with the whole population's statistics (what
    inference with exact running averages gives), for LN and GN the example normalized alone
    (a batch of one).
    """

    METHODS = COMPANION_METHODS
    NAMES: ClassVar[dict] = {"batch": "Batch norm", "layer": "Layer norm", "group": "Group norm"}
    FIGSIZE = (9.6, 3.4)
    LABEL_WIDTH = "7em"

    def __init__(self, companions, units=16, shown=25):
        if not isinstance(companions, experiments.Companions):
            raise TypeError(f"companions must be the Companions of "
                            f"helpers.experiments.normalization_companions; "
                            f"got {type(companions).__name__}")
        self.companions = companions
        self.sizes, self.groups = companions.sizes, companions.groups
        self.reference, self.spreads = companions.reference, companions.spreads
        draws, n = companions.outputs[self.sizes[0]]["batch"].shape
        self.units, self.shown = min(int(units), n), min(int(shown), draws)
        shown_values = np.concatenate([companions.outputs[m][k][: self.shown, : self.units].ravel()
                                       for m in self.sizes for k in self.METHODS])
        low, high = np.percentile(shown_values, [0.5, 99.5])
        pad = 0.1 * (high - low)
        self.ylim = (float(low - pad), float(high + pad))
        super().__init__()

    def controls(self):
        sizes = self.sizes
        return [Choice("m", "batch size m", sizes, 4 if 4 in sizes else sizes[0])]

    def compute(self, params):
        """params: {"m": one of the batch sizes}. Returns m, outputs {method: (draws, n)} (the
        example's output in each batch), spread {method: mean over units of the std over
        batches}, max_change {method: largest |output - reference| over batches and units},
        reference {method: (n,)} and spreads {method: (len(sizes),)} for every m."""
        m, c = int(params["m"]), self.companions
        if m not in c.outputs:
            raise ValueError(f"m must be one of {self.sizes}; got {m!r}")
        i = self.sizes.index(m)
        return {"m": m, "outputs": c.outputs[m], "reference": c.reference, "spreads": c.spreads,
                "spread": {k: float(c.spreads[k][i]) for k in self.METHODS},
                "max_change": {k: float(c.max_change[k][i]) for k in self.METHODS}}

    def setup_figure(self, figure):
        from matplotlib.collections import LineCollection

        axes = figure.subplots(1, 3, sharey=True)
        figure.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.78, wspace=0.1)
        x = np.arange(self.units)
        self._lines = {}
        for ax, method in zip(axes, self.METHODS):
            self._lines[method] = ax.add_collection(LineCollection(
                [], colors=plots.PALETTE["blue"], linewidths=1.0, alpha=0.35))
            ax.plot(x, self.reference[method][: self.units], "--", color=plots.PALETTE["black"],
                    lw=1.3)
            ax.set_xlim(-0.5, self.units - 0.5)
            ax.set_ylim(*self.ylim)
            # A unit index is a whole number; ticks stop short of the last unit so that its
            # label cannot run into the next panel's first.
            ax.set_xticks(np.arange(0, self.units - 1, max(1, self.units // 4)))
            ax.set_xlabel("unit of the layer (index)")
            name = self.NAMES[method] + (f" (G = {self.groups})" if method == "group" else "")
            dashed = ("whole set's statistics" if method == "batch"
                      else "the example alone (m = 1)")
            ax.set_title(f"{name}\ndashed: {dashed}", fontsize=9)
        axes[0].set_ylabel("the example's normalized output")
        figure.suptitle(f"One example's output in {self.shown} random batches (one blue line "
                        f"per batch)", fontsize=10)
        self._x = x

    def dynamic_artists(self):
        return list(self._lines.values())

    def draw(self, result):
        for method, collection in self._lines.items():
            values = result["outputs"][method][: self.shown, : self.units]
            collection.set_segments([np.column_stack([self._x, row]) for row in values])

    def readout_html(self, result):
        spreads = " &nbsp;|&nbsp; ".join(
            f"<b>{self.NAMES[k]}</b> {number(result['spread'][k], '.3f')}" for k in self.METHODS)
        return join([f"<b>m = {result['m']}</b>: how far the example's output moves with its "
                     f"companions (std over batches, mean over units)", spreads])
