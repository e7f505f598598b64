"""helpers.plots: the numbers behind the pictures (histogram heights, axis limits)."""

import numpy as np
import pytest

from helpers import plots


def test_histogram_percent_counts_every_value():
    values = np.array([-5.0, 0.1, 0.2, 0.9, 7.0])
    heights = plots.histogram_percent(values, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(heights, [60.0, 40.0])  # -5 joins the first bin, 7 the last
    with pytest.raises(ValueError, match="increasing"):
        plots.histogram_percent(values, [1.0, 0.0])
    with pytest.raises(ValueError, match="empty"):
        plots.histogram_percent([], [0.0, 1.0])


@pytest.mark.parametrize("peak, limit", [(0.9, 1.0), (1.0, 2.0), (3.0, 5.0), (4.9, 10.0),
                                         (12.0, 20.0), (0.0, 1.0)])
def test_nice_limit_steps(peak, limit):
    assert plots.nice_limit(peak) == pytest.approx(limit)
