"""Notebook 05: batch norm's regularization side effect against the batch size, over seeds.

Batch norm normalizes each example with its mini-batch's statistics, so every step sees a
slightly noisy version of each example (notebook 05, section 2). If that noise regularizes, a
network with BN should fit the training set a little less exactly than the same network
without BN, and by more at small batch sizes (more noise). The measurement is the
generalization gap, train accuracy - validation accuracy, both in inference mode:

    sweep = gap_vs_batch_size(X_train, y_train, X_val, y_val, epochs={32: 10, 256: 40})
    print(sweep.gap[32, "batch"])        # 3.2% ± 0.5 (2.5 to 3.6, 5 seeds), a helpers.seeds.Spread
    print(sweep.gap_difference[32])      # BN's gap - no BN's gap, paired by seed

Each batch size gets its own number of epochs, chosen so that every network fits the training
set: with the same number of epochs, a batch of 256 makes 8 times fewer steps than a batch of
32 and stops undertrained, and an undertrained network has a small gap for a reason that has
nothing to do with regularization (train_acc shows whether a run fits). Within one batch size
both arms get the same epochs, and both arms of a seed start from the same weights W
(MLP.init draws only W at random) and see the same batches.
"""

from typing import NamedTuple

import numpy as np

from helpers import validation
from helpers.network import MLP, train
from helpers.optimizers import Adam
from helpers.seeds import SEEDS, spread_of

__all__ = ["GapSweep", "gap_vs_batch_size", "train_each_seed"]


class GapSweep(NamedTuple):
    """Train and validation accuracy at several batch sizes, with and without batch norm."""

    batch_sizes: tuple  # the batch sizes m
    norms: tuple  # the normalizers compared, e.g. ("batch", "none")
    seeds: tuple
    epochs: dict  # {m: epochs trained}
    steps: dict  # {m: optimizer steps of each run}, epochs * (M // m)
    train_acc: dict  # {(m, norm): Spread over seeds}, inference mode, after training
    val_acc: dict  # {(m, norm): Spread}
    gap: dict  # {(m, norm): Spread of train_acc - val_acc}
    gap_difference: dict  # {m: Spread of gap[batch] - gap[none], paired by seed}
    val_difference: dict  # {m: Spread of val_acc[batch] - val_acc[none], paired by seed}
    trained: dict  # {(m, norm, seed): (net, params, state)} the trained networks, for reuse


def train_each_seed(net, X, y, learning_rate, epochs, batch_size, seeds):
    """One helpers.network.train run per seed, Adam(learning_rate): [(params, state), ...]."""
    runs = []
    for seed in seeds:
        params, state = net.init(seed=seed)
        params, state, _ = train(net, params, state, X, y, Adam(learning_rate), epochs=epochs,
                                 batch_size=batch_size, seed=seed)
        runs.append((params, state))
    return runs


def gap_vs_batch_size(X, y, X_val, y_val, epochs, norms=("batch", "none"), seeds=SEEDS,
                      hidden=(32, 32), learning_rate=0.003, train_seeds=train_each_seed):
    """Train one ReLU MLP per (batch size, normalizer, seed) and measure its accuracies.

    X (M, n_x), y (M,): training set; X_val, y_val: validation set. epochs: {batch size m:
    epochs}, e.g. {32: 10, 256: 40}. hidden: the hidden layer sizes. norms: values of MLP's
    norm; the paired differences need "batch" and "none" among them.
    Each run: MLP((n_x, *hidden, classes), "relu", norm).init(seed), then
    helpers.network.train(..., Adam(learning_rate), epochs=epochs[m], batch_size=m,
    seed=seed), the short last batch dropped. Returns a GapSweep (accuracies as fractions,
    Spreads with percent=True). train_seeds(net, X, y, learning_rate, epochs, batch_size, seeds)
    trains one arm's seeds; helpers.stacked_gap passes one that trains them side by side.
    """
    X = validation.float_array(np.asarray(X, dtype=np.float64), "X", ndim=2)
    X_val = validation.float_array(np.asarray(X_val, dtype=np.float64), "X_val", ndim=2)
    y = validation.labels(y, X.shape[0])
    y_val = validation.labels(y_val, X_val.shape[0])
    if not isinstance(epochs, dict) or not epochs:
        raise TypeError(f"epochs must be a non-empty dict {{batch size: epochs}} such as "
                        f"{{32: 10, 256: 40}}; got {epochs!r}.")
    epochs = {validation.integer(m, "batch size (a key of epochs)", low=2, high=X.shape[0]):
              validation.integer(e, f"epochs[{m}]") for m, e in epochs.items()}
    sizes = tuple(sorted(epochs))
    norms = tuple(validation.choice(n, "norms", ("batch", "none", "layer", "group"))
                  for n in norms)
    seeds = tuple(validation.integer(s, "seeds", low=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. (0, 1, 2, 3, 4).")
    hidden = tuple(validation.integer(n, "hidden") for n in hidden)
    learning_rate = validation.real(learning_rate, "learning_rate", low=0, example="0.003")
    layer_sizes = (X.shape[1], *hidden, int(max(y.max(), y_val.max())) + 1)

    acc, trained = {}, {}  # acc: (m, norm) -> (train accuracies, validation accuracies)
    for m in sizes:
        for norm in norms:
            net = MLP(layer_sizes, activation="relu", norm=norm)
            runs = train_seeds(net, X, y, learning_rate, epochs[m], m, seeds)
            acc[m, norm] = (np.array([net.accuracy(p, s, X, y) for p, s in runs]),
                            np.array([net.accuracy(p, s, X_val, y_val) for p, s in runs]))
            for seed, (params, state) in zip(seeds, runs):
                trained[m, norm, seed] = (net, params, state)

    def spread(values):
        return spread_of(values, seeds, percent=True)

    gaps = {key: tr - va for key, (tr, va) in acc.items()}
    paired = "batch" in norms and "none" in norms
    gap_difference = ({m: spread(gaps[m, "batch"] - gaps[m, "none"]) for m in sizes}
                      if paired else {})
    val_difference = ({m: spread(acc[m, "batch"][1] - acc[m, "none"][1]) for m in sizes}
                      if paired else {})
    return GapSweep(sizes, norms, seeds, epochs, {m: epochs[m] * (X.shape[0] // m) for m in sizes},
                    {key: spread(tr) for key, (tr, _) in acc.items()},
                    {key: spread(va) for key, (_, va) in acc.items()},
                    {key: spread(v) for key, v in gaps.items()},
                    gap_difference, val_difference, trained)
