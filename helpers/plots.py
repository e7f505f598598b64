"""The course's figures: one style, one colour-blind-safe palette, titles and labelled axes.

Style core, for every notebook: `apply_style()` and `PALETTE` (the Okabe-Ito colours, which stay
distinguishable for the common forms of colour blindness and in greyscale print).

Figure functions take plain arrays (this module imports nothing from `helpers`), draw on a
matplotlib Axes and return what they drew, so a slider explorer can create the artists once and
update them on each change instead of redrawing the whole figure. Notebook 01 uses
`feature_scales`, `contour_panel` / `set_contour_panel`, `descent_comparison`, `loss_panel` /
`set_loss_panel` and `loss_curves`; notebooks 02 and 03 use `histogram_panel` / `set_histogram`
(with `histogram_percent` and `nice_limit`).
"""

from typing import NamedTuple

import matplotlib as mpl
import numpy as np

__all__ = [
    "PALETTE",
    "ContourArtists",
    "running_average_panel",
    "spread_vs_batch_size",
    "training_curves",
    "LossArtists",
    "apply_style",
    "contour_panel",
    "descent_comparison",
    "feature_scales",
    "histogram_panel",
    "histogram_percent",
    "loss_curves",
    "loss_panel",
    "nice_limit",
    "normalization_cube",
    "set_contour_panel",
    "set_histogram",
    "set_loss_panel",
    "square_window",
]

# Okabe & Ito (2008), "Color Universal Design". Order = the colour cycle of every figure.
PALETTE = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "reddish_purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

_STYLE = {
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.dpi": 90,
    "figure.constrained_layout.use": True,
    "image.cmap": "Greys",
}


def apply_style():
    """Set the course's matplotlib style (palette, font sizes, light grid) for later figures."""
    mpl.rcParams.update(_STYLE)


def _check_ax(ax):
    if not hasattr(ax, "plot") or not hasattr(ax, "set_title"):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")


# ----------------------------------------------------------------------------- feature scales
def feature_scales(ax, feature_names, X):
    """Horizontal bars of each feature's standard deviation on a log axis, largest at the top.

    ax: a matplotlib Axes; feature_names: n names; X: (m, n) raw features.
    Each feature keeps its own unit, so the bars compare spreads, the thing gradient descent feels.
    Returns the stds, shape (n,).
    """
    _check_ax(ax)
    X = np.asarray(X, dtype=np.float64)
    names = list(feature_names)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(
            f"X must have shape (m, {len(names)}), one column per feature name, got {X.shape}"
        )
    std = X.std(axis=0)
    order = np.argsort(std)  # barh draws bottom-up: largest last, so at the top
    ax.barh(np.arange(len(names)), std[order], color=PALETTE["blue"])
    ax.set_yticks(np.arange(len(names)), [names[i] for i in order])
    ax.set_xscale("log")
    ax.set_xlabel("standard deviation (each feature in its own unit; log scale)")
    ax.set_title(f"Spread of the {len(names)} Wine features")
    ax.grid(axis="y", visible=False)
    return std


# ----------------------------------------------------------------------------- contours + path
def square_window(points, pad=0.65):
    """A square (w1_min, w1_max, w2_min, w2_max) around points (k, 2), for equal-aspect panels.

    The half-width is pad times the points' largest spread (plus 0.1 x their size, so a single
    point still gets a window), so start and minimum sit well inside.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must have shape (k, 2), got {points.shape}")
    center = (points.min(axis=0) + points.max(axis=0)) / 2
    spread = np.ptp(points, axis=0).max()
    half = pad * spread + 0.1 * max(spread, 1e-12)
    return (center[0] - half, center[0] + half, center[1] - half, center[1] + half)


class ContourArtists(NamedTuple):
    """The artists of one contour panel, kept so they can be updated in place."""

    background: object  # AxesImage of log10(loss - loss*)
    levels: list  # Line2D per contour ellipse
    path: object  # Line2D of the descent path
    start: object  # Line2D marker at the start
    end: object  # Line2D marker at the last point
    optimum: object  # Line2D marker at the minimum


def contour_panel(ax, extent, n_levels, title="", xlabel="w1", ylabel="w2"):
    """Create an empty contour panel with fixed limits; fill it with `set_contour_panel`.

    extent: (w1_min, w1_max, w2_min, w2_max), fixed so the axes never jump.
    Equal aspect: one unit of w1 is as long as one unit of w2, so a narrow valley looks narrow.
    """
    _check_ax(ax)
    if len(extent) != 4 or not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise ValueError(f"extent must be (w1_min, w1_max, w2_min, w2_max), got {extent!r}")
    background = ax.imshow(
        np.zeros((2, 2)), extent=extent, origin="lower", aspect="equal",
        cmap="Greys", vmin=-4, vmax=2, alpha=0.35, interpolation="bilinear",
    )
    levels = [ax.plot([], [], color=PALETTE["blue"], lw=0.9, alpha=0.8)[0] for _ in range(n_levels)]
    path = ax.plot([], [], "-o", color=PALETTE["vermillion"], lw=1.2, ms=2.5,
                   label="descent path")[0]
    start = ax.plot([], [], "o", color=PALETTE["black"], ms=6, label="start")[0]
    end = ax.plot([], [], "s", color=PALETTE["vermillion"], ms=6, label="last step")[0]
    optimum = ax.plot([], [], "*", color=PALETTE["orange"], ms=14, mec="k", mew=0.6,
                      label="minimum")[0]
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right", fontsize=8)
    return ContourArtists(background, levels, path, start, end, optimum)


def set_contour_panel(artists, background, ellipses, path, optimum, max_path_points=400):
    """Update a contour panel in place.

    background: (q, p) loss - loss* over the panel's extent (drawn as log10, clipped);
    ellipses: list of (k, 2) contour lines (at most as many as the panel has);
    path: (steps + 1, 2) the (w1, w2) visited; optimum: (2,).
    Long paths are thinned to max_path_points (the first points, where the action is, are kept).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        artists.background.set_data(np.log10(np.maximum(background, 1e-12)))
    for line, points in zip(artists.levels, list(ellipses) + [None] * len(artists.levels)):
        line.set_data(([], []) if points is None else (points[:, 0], points[:, 1]))
    path = np.asarray(path, dtype=np.float64)
    shown = path[:max_path_points] if len(path) <= 2 * max_path_points else np.vstack(
        [path[:max_path_points], path[max_path_points :: len(path) // max_path_points]]
    )
    # Far-away points of a diverging path would only add overflow warnings: clip them.
    shown = np.clip(shown, -1e6, 1e6)
    artists.path.set_data(shown[:, 0], shown[:, 1])
    artists.start.set_data(path[:1, 0], path[:1, 1])
    artists.end.set_data(np.clip(path[-1:, 0], -1e6, 1e6), np.clip(path[-1:, 1], -1e6, 1e6))
    artists.optimum.set_data([optimum[0]], [optimum[1]])


def descent_comparison(fig, panels):
    """Contour + descent-path panels side by side, e.g. unnormalized vs normalized.

    fig: a matplotlib Figure; panels: list of dicts with keys
    extent, background, ellipses, path, optimum, title, xlabel, ylabel (see `contour_panel`).
    Returns the list of Axes.
    """
    axes = fig.subplots(1, len(panels))
    axes = np.atleast_1d(axes)
    for ax, panel in zip(axes, panels):
        artists = contour_panel(ax, panel["extent"], len(panel["ellipses"]), panel["title"],
                                panel["xlabel"], panel["ylabel"])
        set_contour_panel(artists, panel["background"], panel["ellipses"], panel["path"],
                          panel["optimum"])
    return list(axes)


# ----------------------------------------------------------------------------- loss vs step
class LossArtists(NamedTuple):
    curve: object  # Line2D of loss - loss* per step
    tol: object  # Line2D of the tolerance


def loss_panel(ax, max_steps, y_range=(1e-8, 1e2), title="Distance to the minimum"):
    """Create an empty loss-vs-step panel (log y) with fixed limits; fill with `set_loss_panel`."""
    _check_ax(ax)
    curve = ax.plot([], [], color=PALETTE["vermillion"], lw=1.5, label="loss - optimal loss")[0]
    tol = ax.plot([0, max_steps], [np.nan, np.nan], "--", color=PALETTE["black"], lw=1,
                  label="tolerance")[0]
    ax.set_yscale("log")
    ax.set_xlim(0, max_steps)
    ax.set_ylim(*y_range)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss - optimal loss (log scale)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return LossArtists(curve, tol)


def set_loss_panel(artists, gaps, tol):
    """Update a loss panel: gaps (steps + 1,) = loss - optimal loss per step; tol a number."""
    gaps = np.asarray(gaps, dtype=np.float64)
    # Zero or overflowing gaps cannot be drawn on a log axis: clip into a drawable range.
    shown = np.clip(np.nan_to_num(gaps, nan=1e300, posinf=1e300), 1e-16, 1e300)
    artists.curve.set_data(np.arange(len(gaps)), shown)
    artists.tol.set_ydata([tol, tol])


def loss_curves(ax, curves, tol):
    """Several loss - optimal loss curves on log-log axes, one per label.

    curves: dict label -> (steps + 1,) gaps. Step 0 cannot sit on a log axis, so the curve is
    drawn against step + 1. tol: the tolerance, drawn as a dashed line.
    """
    _check_ax(ax)
    for label, gaps in curves.items():
        gaps = np.clip(np.asarray(gaps, dtype=np.float64), 1e-16, None)
        ax.plot(np.arange(1, len(gaps) + 1), gaps, lw=1.8, label=label)
    ax.axhline(tol, ls="--", color=PALETTE["black"], lw=1, label=f"tolerance {tol:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step + 1 (log scale)")
    ax.set_ylabel("loss - optimal loss (log scale)")
    ax.set_title("How fast gradient descent closes the gap")
    ax.legend()


# ----------------------------------------------------------------------------- histograms
# Notebooks 02 and 03: distributions of z, z_norm, z~ and g(z~), drawn as filled step outlines
# (one artist per histogram, so an explorer updates a single object per panel).
def histogram_percent(values, edges):
    """Share of `values` in each bin, in percent of all values.

    values: any shape (flattened); edges: (k + 1,) increasing bin edges.
    Values beyond the outer edges are counted in the first or last bin, so nothing silently
    disappears from view (the outer bins are then "this value or further out").
    Returns heights, shape (k,), summing to 100.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(
            f"edges must be a 1-D increasing array of at least 2 bin edges, got {edges!r}")
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("values is empty; a histogram needs at least one value")
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return 100.0 * counts / values.size


def nice_limit(peak):
    """The smallest 1, 2 or 5 x 10^k that is >= 1.05 * peak: a y limit that changes in steps."""
    if not np.isfinite(peak) or peak <= 0:
        return 1.0
    target = 1.05 * float(peak)
    power = 10.0 ** np.floor(np.log10(target))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= target:
            return float(step * power)
    return float(10.0 * power)  # pragma: no cover (the loop always returns)


def histogram_panel(ax, edges, title, xlabel, color=None, label=None):
    """An empty histogram with fixed bins and a labelled % axis; fill it with `set_histogram`.

    ax: a matplotlib Axes; edges: (k + 1,) bin edges (fixed, so the x axis never jumps).
    Returns the StepPatch (a filled outline), whose heights `set_histogram` replaces.
    """
    _check_ax(ax)
    edges = np.asarray(edges, dtype=np.float64)
    step = ax.stairs(np.zeros(len(edges) - 1), edges, fill=True, alpha=0.75,
                     color=color or PALETTE["blue"], label=label)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of values per bin (%)")
    return step


def set_histogram(step, values, edges=None):
    """Update a histogram panel in place with new values (and optionally new bin edges).

    Returns the heights in percent, shape (k,), e.g. to choose the y limit with `nice_limit`.
    """
    edges = step.get_data().edges if edges is None else np.asarray(edges, dtype=np.float64)
    heights = histogram_percent(values, edges)
    step.set_data(heights, edges)
    return heights


# ============================================================================= notebooks 04, 05
# Training curves of several runs (04), the spread of one example's z~ against the batch size and
# running averages against the population statistic (05).
def training_curves(ax, curves, ylabel, title, log=False):
    """One line per run: curves is {label: (epochs,) values}, drawn against epoch 1, 2, ...

    Runs whose label contains "no BN" are dashed, the others solid, so the two settings of the
    same optimizer share a colour and differ in line style. Returns {label: Line2D}.
    """
    _check_ax(ax)
    lines = {}
    colours = list(PALETTE.values())
    for i, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=np.float64)
        style = "--" if "no BN" in label else "-"
        lines[label] = ax.plot(np.arange(1, len(values) + 1), values, style, lw=1.6,
                               color=colours[(i // 2) % len(colours)], label=label)[0]
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return lines


def spread_vs_batch_size(ax, sizes, spreads, guide_at=None):
    """Log-log spread of one example's normalized value against the batch size m.

    sizes: (k,) batch sizes; spreads: {label: (k,) standard deviations over random batches};
    guide_at: the label whose value at the middle size anchors the dashed c / sqrt(m) guide line.
    Returns the guide's constant c.
    """
    _check_ax(ax)
    sizes = np.asarray(sizes, dtype=np.float64)
    for label, values in spreads.items():
        ax.plot(sizes, values, "o-", lw=1.5, ms=4, label=label)
    label = guide_at or next(iter(spreads))
    mid = len(sizes) // 2
    c = float(np.asarray(spreads[label])[mid] * np.sqrt(sizes[mid]))
    ax.plot(sizes, c / np.sqrt(sizes), ":", color=PALETTE["black"], lw=1.2,
            label="guide: c / sqrt(m)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size m (log scale)")
    ax.set_ylabel("std of z_norm over random batches (log)")
    ax.set_title("The noise shrinks like 1 / sqrt(m)")
    ax.legend(fontsize=8)
    return c


def running_average_panel(ax, batch_values, population, runs, title, ylabel):
    """Batch statistics as dots, the population value as a dashed line, one line per run.

    batch_values: (T,) the statistic of each mini-batch; population: a number;
    runs: {label: (T + 1,) running average, starting value first}. Returns {label: Line2D}.
    """
    _check_ax(ax)
    batch_values = np.asarray(batch_values, dtype=np.float64)
    ax.plot(np.arange(1, len(batch_values) + 1), batch_values, ".", ms=2.5,
            color=PALETTE["sky_blue"], alpha=0.6, label="this mini-batch")
    ax.axhline(population, ls="--", color=PALETTE["black"], lw=1.2,
               label="whole training set")
    lines = {}
    for label, values in runs.items():
        lines[label] = ax.plot(np.arange(len(values)), values, lw=1.6, label=label)[0]
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return lines


# ============================================================================= notebook 08
# Which values share one mean and variance, for batch, layer and group norm: the classic
# "three cubes" picture (Wu & He 2018, Fig. 2) of an NHWC activation tensor.
def normalization_cube(ax, method, channels=6, examples=4, groups=3, title=None):
    """Draw an NHWC tensor as a cube and shade the values that share ONE mean and variance.

    ax: a matplotlib Axes; method: "batch", "layer" or "group"; channels C, examples N and
    groups G (G must divide C) set the grid. The cube's edges are its axes: C (channels) along
    the front, H, W (positions, flattened) upwards, N (examples) into the depth. Shaded:
    batch norm one channel over every example and position; layer norm one example over every
    channel and position; group norm one example over the C / G channels of one group.
    Returns the number of (channel, example) columns shaded (each column = all H x W positions).
    """
    _check_ax(ax)
    if method not in ("batch", "layer", "group"):
        raise ValueError(f"method must be 'batch', 'layer' or 'group'; got {method!r}")
    for name, value in (("channels", channels), ("examples", examples), ("groups", groups)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if channels % groups:
        raise ValueError(f"groups must divide channels ({channels}); got {groups}")
    from matplotlib.patches import Polygon

    per_group = channels // groups
    shaded = {
        "batch": lambda c, n: c == 0,
        "layer": lambda c, n: n == 0,
        "group": lambda c, n: n == 0 and c < per_group,
    }[method]
    height, depth = 3.5, 0.9  # the front face's height; one example's step into the depth
    dx, dy = depth * np.cos(np.pi / 4), depth * np.sin(np.pi / 4)
    fill = {True: PALETTE["sky_blue"], False: "white"}

    def quad(points, on):
        ax.add_patch(Polygon(points, closed=True, facecolor=fill[on], edgecolor=PALETTE["black"],
                             lw=0.7, alpha=0.95 if on else 1.0))

    for c in range(channels):  # front face: example 0, one column per channel
        quad([(c, 0), (c + 1, 0), (c + 1, height), (c, height)], shaded(c, 0))
    for n in range(examples):  # top face: one cell per (channel, example)
        for c in range(channels):
            x0, y0 = c + n * dx, height + n * dy
            quad([(x0, y0), (x0 + 1, y0), (x0 + 1 + dx, y0 + dy), (x0 + dx, y0 + dy)],
                 shaded(c, n))
    for n in range(examples):  # right face: the last channel of each example
        x0, y0 = channels + n * dx, n * dy
        quad([(x0, y0), (x0 + dx, y0 + dy), (x0 + dx, y0 + dy + height), (x0, y0 + height)],
             shaded(channels - 1, n))
    for y in np.linspace(0, height, 5)[1:-1]:  # a few position rows on the front face
        ax.plot([0, channels], [y, y], color=PALETTE["black"], lw=0.3, alpha=0.5)

    label = {"fontsize": 9, "color": PALETTE["black"]}
    ax.text(channels / 2, -0.35, "C (channels)", ha="center", va="top", **label)
    ax.text(-0.3, height / 2, "H, W\n(positions)", ha="right", va="center", **label)
    ax.text(channels + examples * dx / 2 + 0.2, examples * dy / 2 - 0.1, "N (examples)",
            ha="left", va="top", rotation=45, **label)
    ax.set_xlim(-2.2, channels + examples * dx + 2.2)
    ax.set_ylim(-1.1, height + examples * dy + 0.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    names = {"batch": "Batch norm", "layer": "Layer norm", "group": f"Group norm (G = {groups})"}
    ax.set_title(title or names[method])
    return sum(bool(shaded(c, n)) for c in range(channels) for n in range(examples))


# ============================================================================= notebook 05
def cap_y_axis(ax, top, lines=None, fmt="{:.1f}"):
    """Cap the y-axis at `top` and mark every point above it, so one outlier cannot stretch it.

    lines: the Line2D curves to check (default: every line of ax). A point with y > top is
    drawn as a triangle on the top edge, in its curve's colour, labelled "<value>, off scale".
    Returns how many points were marked.
    """
    _check_ax(ax)
    ax.set_ylim(top=top)
    marked = 0
    for line in ax.get_lines() if lines is None else lines:
        x = np.asarray(line.get_xdata(), dtype=np.float64)
        y = np.asarray(line.get_ydata(), dtype=np.float64)
        for i in np.flatnonzero(y > top):
            ax.plot([x[i]], [top], "^", ms=8, color=line.get_color(), clip_on=False, zorder=5)
            ax.annotate(f"{fmt.format(y[i])}, off scale", (x[i], top), xytext=(8, -12),
                        textcoords="offset points", fontsize=8, color=line.get_color())
            marked += 1
    return marked
