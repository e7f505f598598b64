"""Run an experiment over several seeds and report the spread: the course's one way to do it.

One run of a small network is one sample: a different seed (initial weights, batch order) moves
a test accuracy by a point or more. A conclusion in a notebook rests on several seeds, shown as
mean, standard deviation and range, and claims only a difference larger than that spread.

    spread = over_seeds(lambda seed: train_and_score(seed), seeds=SEEDS)
    print(spread)                    # 95.3% ± 0.4 (94.8 to 95.9, 5 seeds)
    spread.mean, spread.values       # the numbers, for plots and tests

`run(seed)` may return one number or a dict of numbers (several metrics from one training run);
a dict gives a dict of Spreads with the same keys.
"""

from typing import NamedTuple

import numpy as np

from helpers import validation

__all__ = ["SEEDS", "Spread", "over_seeds", "spread_of"]

SEEDS = (0, 1, 2, 3, 4)  # five seeds: the course's default for every comparison


class Spread(NamedTuple):
    """One metric over seeds. values: one per seed, in the order of `seeds`."""

    values: np.ndarray
    seeds: tuple
    percent: bool = False

    @property
    def mean(self):
        return float(np.mean(self.values))

    @property
    def std(self):
        """Sample standard deviation (ddof=1): the seeds are a sample of all possible seeds."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def low(self):
        return float(np.min(self.values))

    @property
    def high(self):
        return float(np.max(self.values))

    def __str__(self):
        if self.percent:
            v = 100 * np.asarray([self.mean, self.std, self.low, self.high])
            return (f"{v[0]:.1f}% ± {v[1]:.1f} ({v[2]:.1f} to {v[3]:.1f}, "
                    f"{len(self.values)} seeds)")
        return (f"{self.mean:.3g} ± {self.std:.2g} ({self.low:.3g} to {self.high:.3g}, "
                f"{len(self.values)} seeds)")


def spread_of(values, seeds=None, percent=False):
    """A Spread from numbers already computed, one per seed."""
    values = validation.finite(np.asarray(values, dtype=np.float64).reshape(-1), "values")
    if values.size == 0:
        raise ValueError("values is empty; a spread needs at least one run.")
    seeds = tuple(range(values.size)) if seeds is None else tuple(seeds)
    if len(seeds) != values.size:
        raise ValueError(f"seeds has {len(seeds)} entries but values has {values.size}; "
                         "give one seed per value.")
    return Spread(values, seeds, percent)


def over_seeds(run, seeds=SEEDS, percent=False):
    """Call run(seed) for every seed; a Spread (or a dict of Spreads if run returns a dict)."""
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. helpers.seeds.SEEDS.")
    results = [run(seed) for seed in seeds]
    if isinstance(results[0], dict):
        return {key: spread_of([r[key] for r in results], seeds, percent) for key in results[0]}
    return spread_of(results, seeds, percent)
