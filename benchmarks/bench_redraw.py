"""How long does an explorer take to redraw after a control moves, kernel side?

A report, not a test: it prints a table and the target, and always exits with code 0.

    .venv/bin/python benchmarks/bench_redraw.py [--moves 30] [--profile N] [ExplorerName ...]

Every explorer of helpers.explorers is built on data of the size its notebook uses (the Wine
pair of notebook 01, a 128 x 32 batch for 02 and 03, the digits for 05, 06 and 08; notebook
04's training histories are made up, since a redraw only looks them up). Then every control is
moved `--moves` times, in the order shown and as bench_slider_latency.py moves it in the page:
a slider one step at a time from its default (back from its maximum), toggle buttons through
their options, a checkbox on and off; each control starts from where the others left the
explorer. Nothing is warmed up beyond what the explorer does itself, so first visits (a new
feature scale, a new activation) are timed as a student meets them. The time is the explorer's
own `redraw_ms`: compute + update the artists + PNG encode; the table gives its median, 95th
percentile and maximum per control. The rest of what a person waits for (transport, the
browser) is measured by bench_slider_latency.py. `--profile N` prints, instead of times, the N
functions with the most cumulative time per control (cProfile), to see where a redraw goes.

Target: median under 100 ms per control, the latency at which a response feels instant (the
kernel's share alone must fit in it; bench_slider_latency.py holds the whole path to it). The
verdict reads the wall-clock median, what a person waits for; on a busy machine the CPU column
is the steadier number to compare two versions by.
"""

import argparse
import os
import statistics
import sys
import time

from helpers.notebook import setup

setup()  # as every notebook's first cell: one BLAS thread, the course's figure style

import numpy as np  # noqa: E402 (after setup, which must come before NumPy's first import)

from helpers.explorers.base import Checkbox, Choice  # noqa: E402

TARGET_MEDIAN = 100.0  # ms


def explorers():
    """{name: make}: how to build each explorer on data of its notebook's size."""
    from helpers import data, experiments
    from helpers import explorers as ex
    from helpers.network import MLP, train
    from helpers.optimizers import Adam

    wine = data.load_wine()
    X_tr, _, y_tr, _ = data.train_test_split(wine.X, wine.y, test_fraction=0.25, seed=0)
    pair = [wine.feature_names.index("proline"), wine.feature_names.index("hue")]
    X2, t = X_tr[:, pair] / [1000.0, 1.0], (y_tr == 0).astype(float)

    digits = data.load_digits()
    rng = np.random.default_rng(0)
    x = digits.X[rng.choice(len(digits.X), size=128, replace=False)] / 16.0
    z = x @ rng.normal(0, np.sqrt(2 / 64), (64, 32)) + rng.normal(0, 0.5, 32)

    histories = {}
    for name in ("gd", "momentum", "rmsprop", "adam"):
        for bn in (True, False):
            histories[name, bn] = {"loss": np.sort(rng.uniform(0.05, 2, 10))[::-1],
                                   "train_acc": np.sort(rng.uniform(0.5, 1, 10)),
                                   "val_acc": np.sort(rng.uniform(0.5, 1, 10))}

    X_train, X_test, y_train, y_test = data.train_test_split(digits.X, digits.y, 0.25, seed=0)
    W1 = rng.normal(0, np.sqrt(2 / 64), (64, 32))
    z_layer = X_train / 16 @ W1
    stream = [z_layer[i : i + 64] for i in range(0, 1280, 64)] * 11  # 220 steps, as notebook 05
    means, variances = np.array([s.mean(0) for s in stream]), np.array([s.var(0) for s in stream])

    def shift_explorer():
        models = {}
        for label, norm in (("no BN", "none"), ("BN", "batch")):
            net = MLP((64, 32, 32, 10), activation="relu", norm=norm)
            params, state = net.init(seed=0)
            params, state, _ = train(net, params, state, X_train / 16, y_train, Adam(0.01),
                                     epochs=4, batch_size=64, seed=0, drop_last=True)
            models[label] = (net, params, state)
        shift = experiments.covariate_shift(models, X_train, X_test, y_test, scale=1 / 16)
        return ex.CovariateShiftExplorer(shift, X_test[:3])

    return {
        "InputScaleExplorer": lambda: ex.InputScaleExplorer(
            X2, t, feature_names=("proline (g/L)", "hue")),
        "BatchNormExplorer": lambda: ex.BatchNormExplorer(z),
        "IdentityBlendExplorer": lambda: ex.IdentityBlendExplorer(z),
        "OptimizerExplorer": lambda: ex.OptimizerExplorer(histories),
        "MiniBatchNoiseExplorer": lambda: ex.MiniBatchNoiseExplorer(
            experiments.minibatch_noise(z_layer[:, 0], 5)),
        "RunningAverageExplorer": lambda: ex.RunningAverageExplorer(
            means, variances, z_layer.mean(0), z_layer.var(0)),
        "CovariateShiftExplorer": shift_explorer,
        "NormalizationCompanionsExplorer": lambda: ex.NormalizationCompanionsExplorer(
            experiments.normalization_companions(z_layer, index=0, groups=4)),
    }


def browser_values(spec, moves):
    """The values `moves` moves of one control take, as bench_slider_latency.py moves it in the
    page: a slider one step at a time from its default (ArrowRight, ArrowLeft from its maximum
    on), toggle buttons and choices through their options, a checkbox on and off."""
    if isinstance(spec, Checkbox):
        return [not spec.value if i % 2 == 0 else spec.value for i in range(moves)]
    if isinstance(spec, Choice) and spec.buttons:
        options = list(spec.options)
        position, values = options.index(spec.value), []
        for i in range(moves):
            choice = i % len(options)
            if choice == position:  # the page clicks the next button when this one is active
                choice = (choice + 1) % len(options)
            position = choice
            values.append(options[choice])
        return values
    if isinstance(spec, Choice):  # a selection slider: one option per arrow key
        steps = stepped(spec.options.index(spec.value), len(spec.options) - 1, moves)
        return [spec.options[i] for i in steps]
    # Sliders count in steps from `low` (in powers of ten for a log slider).
    low, high = (np.log10(spec.low), np.log10(spec.high)) if spec.log else (spec.low, spec.high)
    start = np.log10(spec.value) if spec.log else spec.value
    steps = stepped(round((start - low) / spec.step), round((high - low) / spec.step), moves)
    values = [round(low + k * spec.step, 10) for k in steps]
    return [round(10.0**v, 10) for v in values] if spec.log else values


def stepped(position, top, moves):
    """Positions 0..top after each of `moves` arrow-key presses from `position`: right until
    the top, then left until 0, and so on."""
    positions, direction = [], 1
    for _ in range(moves):
        direction = -1 if position >= top else 1 if position <= 0 else direction
        position += direction
        positions.append(position)
    return positions


def measure(explorer, spec, moves):
    """(wall, cpu): the redraw times (ms) of `moves` browser-like moves of one control of
    `explorer` (a third as many, at least 6, for buttons and checkboxes, as
    bench_slider_latency.py), as wall-clock time (the explorer's own redraw_ms) and as this
    process's CPU time, which other programs on a busy machine inflate far less."""
    if isinstance(spec, Checkbox) or (isinstance(spec, Choice) and spec.buttons):
        moves = max(6, moves // 3)
    before, cpu = len(explorer.redraw_ms), []
    control = explorer.sliders[spec.name]
    for value in browser_values(spec, moves):
        start = time.process_time()
        control.value = value
        cpu.append(1000.0 * (time.process_time() - start))
    return explorer.redraw_ms[before:], cpu


def profile(explorer, spec, moves, top):
    """Print the `top` functions by cumulative time over `moves` moves of one control."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(measure, explorer, spec, moves)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def percentile(values, q):
    """The q-quantile (0..1) of `values`, linear between the closest ranks (as
    bench_slider_latency.py)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=30,
                        help="moves per control (default 30, as bench_slider_latency.py)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="instead of timing, print the N most expensive functions per "
                             "control (cProfile, cumulative time)")
    parser.add_argument("names", nargs="*", help="explorer class names (default: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    table = explorers()
    print(f"{'':<50}{'wall-clock ms':^24}{'CPU ms':^16}")
    print(f"{'explorer':<34}{'control':<12}{'n':>4}{'median':>8}{'p95':>8}{'max':>8}"
          f"{'median':>8}{'p95':>8}  target")
    misses = 0
    for name, make in table.items():
        if args.names and name not in args.names:
            continue
        explorer = make()  # controls moved in the order shown, each from where the last left it
        for spec in explorer.controls():
            if args.profile:
                print(f"--- {name}, {spec.name}")
                profile(explorer, spec, args.moves, args.profile)
                continue
            times, cpu = measure(explorer, spec, args.moves)
            median, p95 = statistics.median(times), percentile(times, 0.95)
            ok = median < TARGET_MEDIAN
            misses += not ok
            print(f"{name:<34}{spec.name:<12}{len(times):>4}{median:>8.1f}{p95:>8.1f}"
                  f"{max(times):>8.1f}{statistics.median(cpu):>8.1f}{percentile(cpu, 0.95):>8.1f}"
                  f"  {'ok' if ok else 'FAIL'}")
    print(f"\nKernel-side redraw (compute + draw + PNG) in ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{time.perf_counter() - start:.0f} s.")
    print("All within the target." if not misses else f"{misses} control(s) miss the target.")


if __name__ == "__main__":
    sys.exit(main())
