"""helpers.seeds: the spread of a metric over seeds, computed independently here."""

import numpy as np
import pytest

from helpers.seeds import SEEDS, over_seeds, spread_of


def test_over_seeds_calls_every_seed_and_reports_mean_std_range():
    calls = []

    def run(seed):
        calls.append(seed)
        return 0.9 + 0.01 * seed

    spread = over_seeds(run, percent=True)
    assert calls == list(SEEDS)
    values = [0.9 + 0.01 * s for s in SEEDS]
    assert spread.mean == pytest.approx(np.mean(values))
    assert spread.std == pytest.approx(np.std(values, ddof=1))
    assert (spread.low, spread.high) == (pytest.approx(0.9), pytest.approx(0.94))
    assert str(spread) == "92.0% ± 1.6 (90.0 to 94.0, 5 seeds)"


def test_dict_results_give_one_spread_per_metric():
    spreads = over_seeds(lambda s: {"train": float(s), "test": 2.0 * s}, seeds=(1, 2, 3))
    assert set(spreads) == {"train", "test"}
    assert spreads["test"].mean == pytest.approx(4.0)
    assert spreads["train"].seeds == (1, 2, 3)


@pytest.mark.parametrize("call, error, word", [
    (lambda: over_seeds(lambda s: 1.0, seeds=()), ValueError, "seeds is empty"),
    (lambda: spread_of([]), ValueError, "values is empty"),
    (lambda: spread_of([1.0, np.nan]), ValueError, "NaN"),
    (lambda: spread_of([1.0, 2.0], seeds=(0,)), ValueError, "one seed per value"),
])
def test_bad_input(call, error, word):
    with pytest.raises(error, match=word):
        call()
