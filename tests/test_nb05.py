"""Notebook 05's figure helper: a capped axis that marks its outliers (helpers.plots.cap_y_axis)."""

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed
import matplotlib.pyplot as plt

from helpers import plots


def test_cap_y_axis_marks_only_the_points_above_the_cap():
    fig, ax = plt.subplots()
    ax.plot([2, 4, 8], [20.2, 0.9, 0.4], color="tab:green")
    ax.plot([2, 4, 8], [0.5, 0.4, 0.3], color="tab:blue")
    assert plots.cap_y_axis(ax, top=2.0) == 1
    assert ax.get_ylim()[1] == 2.0
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["20.2, off scale"]
    marker = ax.get_lines()[-1]
    assert list(marker.get_xdata()) == [2] and list(marker.get_ydata()) == [2.0]
    assert marker.get_color() == "tab:green"      # the colour of the curve it belongs to
    assert plots.cap_y_axis(ax, top=30.0, lines=ax.get_lines()[:2]) == 0
    plt.close(fig)
