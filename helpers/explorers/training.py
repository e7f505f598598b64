"""Notebook 04: the training curves of every optimizer, with and without batch norm."""

import numpy as np

from helpers import experiments, plots
from helpers.explorers.base import Choice, Explorer, join

__all__ = ["OptimizerExplorer"]


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
    FIGSIZE = (9.0, 3.6)
    LABEL_WIDTH = "6em"

    def __init__(self, histories, target_acc=0.9):
        if not isinstance(histories, dict) or not histories:
            raise TypeError("histories must be a non-empty dict {(optimizer, bn): history}")
        for key in histories:
            if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], bool)):
                raise ValueError(f"keys must be (optimizer name, bn True/False); got {key!r}")
        self.target_acc = float(target_acc)
        self.summaries = {key: experiments.run_summary(h, self.target_acc)
                          for key, h in histories.items()}
        self.histories = histories
        self.names = tuple(dict.fromkeys(name for name, _ in histories))
        for name in self.names:
            if (name, True) not in histories or (name, False) not in histories:
                raise ValueError(f"optimizer {name!r} needs a run with and one without BN")
        super().__init__()
        # A handful of settings (optimizer x BN): draw every picture now, so that each click
        # only looks one up.
        self.warm_up([{"optimizer": name, "bn": choice}
                      for name in self.names for choice in self.BN_CHOICES])

    def controls(self):
        return [Choice("optimizer", "optimizer", self.names, self.names[-1], buttons=True),
                Choice("bn", "batch norm", self.BN_CHOICES, "with BN", buttons=True)]

    def compute(self, params):
        """params: {"optimizer": name, "bn": "with BN" / "without BN"}. Returns the chosen run's
        helpers.experiments.RunSummary as a dict (loss and val_acc curves, final_loss,
        final_train_acc, final_val_acc, epochs_to_target: the first epoch with
        val_acc >= target_acc, or None) and "other": the same for the same optimizer with the
        other BN setting."""
        name, choice = params["optimizer"], params["bn"]
        if name not in self.names or choice not in self.BN_CHOICES:
            raise ValueError(f"optimizer must be one of {self.names} and bn one of "
                             f"{self.BN_CHOICES}; got {name!r}, {choice!r}")
        bn = choice == "with BN"
        return {"optimizer": name, "bn": bn, **self.summaries[name, bn]._asdict(),
                "other": self.summaries[name, not bn]._asdict()}

    def setup_figure(self, figure):
        left, right = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.88, wspace=0.25)
        grey = plots.PALETTE["black"]
        runs = self.summaries.values()
        for r in runs:
            epochs = np.arange(1, len(r.loss) + 1)
            left.plot(epochs, r.loss, color=grey, alpha=0.15, lw=1)
            right.plot(epochs, r.val_acc, color=grey, alpha=0.15, lw=1)
        losses = np.concatenate([r.loss for r in runs])
        accs = np.concatenate([r.val_acc for r in runs])
        epochs = max(len(r.loss) for r in runs)
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
        return join([f"<b>{result['optimizer']} {bn}</b>: {describe(result)}",
                     f"<b>{other}</b>: {describe(result['other'])}"])
