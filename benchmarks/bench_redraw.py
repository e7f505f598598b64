"""How long does an explorer take to redraw after a control moves, kernel side?

A report, not a test: it prints a table and the target, and always exits with code 0.

    .venv/bin/python benchmarks/bench_redraw.py [--moves 20] [ExplorerName ...]

Every explorer of helpers.explorers is built on data of the size its notebook uses (the Wine
pair of notebook 01, a 128 x 32 batch for 02 and 03, the digits for 05, 06 and 08; notebook
04's training histories are made up, since a redraw only looks them up). One control is then
moved through `--moves` values twice: the first pass fills the cached backgrounds, the second is
timed. The time is the explorer's own `redraw_ms`: compute + update the artists + PNG encode.
The rest of what a person waits for (transport, the browser) is measured by
bench_slider_latency.py.

Target: median under 100 ms per explorer, the latency at which a response feels instant (the
kernel's share alone must fit in it; bench_slider_latency.py holds the whole path to it).
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the notebooks: tiny matrices

import numpy as np

TARGET_MEDIAN = 100.0  # ms


def explorers():
    """{name: (make, control, values)}: how to build each explorer and which control to move."""
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
        "InputScaleExplorer": (
            lambda: ex.InputScaleExplorer(X2, t, feature_names=("proline (g/L)", "hue")),
            "lr", np.linspace(0.5, 1.0, 20)),
        "BatchNormExplorer": (lambda: ex.BatchNormExplorer(z), "gamma", np.linspace(0.5, 3, 20)),
        "IdentityBlendExplorer": (lambda: ex.IdentityBlendExplorer(z), "blend",
                                  np.linspace(0.05, 1.0, 20)),
        "OptimizerExplorer": (lambda: ex.OptimizerExplorer(histories), "optimizer",
                              ["gd", "momentum", "rmsprop", "adam"]),
        "MiniBatchNoiseExplorer": (
            lambda: ex.MiniBatchNoiseExplorer(experiments.minibatch_noise(z_layer[:, 0], 5)),
            "m", [2, 4, 8, 16, 64, 128, 256, 32]),
        "RunningAverageExplorer": (
            lambda: ex.RunningAverageExplorer(means, variances, z_layer.mean(0), z_layer.var(0)),
            "momentum", [0.5, 0.8, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9]),
        "CovariateShiftExplorer": (shift_explorer, "strength",
                                   [round(0.1 * i, 1) for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0)]),
        "NormalizationCompanionsExplorer": (
            lambda: ex.NormalizationCompanionsExplorer(
                experiments.normalization_companions(z_layer, index=0, groups=4)),
            "m", [2, 8, 16, 32, 64, 128, 4]),
    }


def measure(make, control, values, moves):
    """Median and count of the redraw times of the second pass over `moves` control values."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    values = (values * (moves // len(values) + 1))[:moves]
    explorer = make()
    for value in values:  # first pass: every static background drawn once
        explorer.sliders[control].value = value
    before = len(explorer.redraw_ms)
    for value in values[1:] + values[:1]:
        explorer.sliders[control].value = value
    times = explorer.redraw_ms[before:]
    return statistics.median(times), max(times), len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=20, help="timed moves per explorer")
    parser.add_argument("names", nargs="*", help="explorer class names (default: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    table = explorers()
    print(f"{'explorer':<34}{'control':<11}{'n':>4}{'median':>9}{'max':>8}  target")
    misses = 0
    for name, (make, control, values) in table.items():
        if args.names and name not in args.names:
            continue
        median, worst, n = measure(make, control, values, args.moves)
        ok = median < TARGET_MEDIAN
        misses += not ok
        verdict = "ok" if ok else "FAIL"
        print(f"{name:<34}{control:<11}{n:>4}{median:>8.1f} {worst:>7.1f}  {verdict}")
    print(f"\nKernel-side redraw (compute + draw + PNG) in ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{time.perf_counter() - start:.0f} s.")
    print("All within the target." if not misses else f"{misses} explorer(s) miss the target.")


if __name__ == "__main__":
    sys.exit(main())
