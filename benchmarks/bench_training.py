"""How fast is our NumPy training loop, next to Keras' fit, on the same network and data?

A report, not a test: it prints a table and always exits with code 0. Run it from the
repository root:

    .venv/bin/python benchmarks/bench_training.py

Setup: the digits data (1,346 training / 451 validation examples, 64 features, inputs
normalized with the training statistics), the MLP 64 -> 64 -> 64 -> 10 with relu and batch
norm before each activation (helpers.network.MLP and its Keras twin from
helpers.tf_reference.keras_mlp, starting from the same weights), Adam(learning_rate=1e-3), a few
epochs, batch sizes 32 and 64, float32 on both sides (Keras' default), both shuffling every
epoch.

For each batch size it prints the median wall time of training:
  ours           helpers.network.train (forward, backward, Adam step, per-epoch accuracies)
  Keras fit      model.fit(..., shuffle=True, verbose=0) after a warm-up fit, so the one-off
                 tracing of the train step into a tf.function is not counted (on CPU Keras'
                 jit_compile="auto" means no XLA)
  Keras 1st fit  the warm-up fit itself (compile + tracing + the same epochs): what a notebook
                 cell that calls fit once pays
and the ratios ours / Keras (below 1: ours is faster), plus the final training loss and
validation accuracy of each as a sanity check (they differ a little: different batch orders).
"""

import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow is imported
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

from helpers.data import load_digits, normalize_inputs, train_test_split
from helpers.network import MLP, train
from helpers.optimizers import Adam
from helpers.tf_reference import keras_mlp, keras_optimizer

keras = tf.keras

EPOCHS = 5
BATCH_SIZES = (32, 64)
REPEATS = 3
DTYPE = np.float32
OPTIMIZER = Adam(learning_rate=1e-3)


def data():
    d = load_digits()
    X_train, X_val, y_train, y_val = train_test_split(d.X, d.y, test_fraction=0.25, seed=0)
    X_train, X_val, _, _ = normalize_inputs(X_train, X_val)
    return X_train.astype(DTYPE), X_val.astype(DTYPE), y_train, y_val


def time_ours(net, X, y, X_val, y_val, batch_size):
    params, state = net.init(seed=0, dtype=DTYPE)
    start = time.perf_counter()
    _, _, history = train(
        net,
        params,
        state,
        X,
        y,
        OPTIMIZER,
        epochs=EPOCHS,
        batch_size=batch_size,
        seed=0,
        X_val=X_val,
        y_val=y_val,
    )
    return time.perf_counter() - start, history["loss"][-1], history["val_acc"][-1]


def keras_model(net):
    params, state = net.init(seed=0, dtype=DTYPE)
    model = keras_mlp(net, params, state, dtype=np.dtype(DTYPE).name)
    model.compile(
        optimizer=keras_optimizer(OPTIMIZER),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def time_keras_fit(model, X, y, X_val, y_val, batch_size):
    start = time.perf_counter()
    h = model.fit(
        X,
        y,
        batch_size=batch_size,
        epochs=EPOCHS,
        shuffle=True,
        validation_data=(X_val, y_val),
        verbose=0,
    )
    return time.perf_counter() - start, h.history["loss"][-1], h.history["val_accuracy"][-1]


def main():
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPU(s), {platform.machine()}"
    )
    X, X_val, y, y_val = data()
    net = MLP((64, 64, 64, 10), activation="relu", norm="batch", placement="before")
    print(
        f"digits: {X.shape[0]} train / {X_val.shape[0]} val; MLP {net.layer_sizes}, relu, "
        f"batch norm before g; Adam(1e-3); {EPOCHS} epochs; {np.dtype(DTYPE).name}; "
        f"median of {REPEATS}\n"
    )
    header = (
        f"{'batch':>5} {'steps':>6} {'ours s':>8} {'Keras fit s':>12} {'Keras 1st s':>12} "
        f"{'ours/fit':>9} {'ours/1st':>9}  {'loss ours/Keras':>16} {'val acc ours/Keras':>19}"
    )
    print(header)
    print("-" * len(header))
    for batch_size in BATCH_SIZES:
        time_ours(net, X, y, X_val, y_val, batch_size)  # warm-up (NumPy/BLAS first calls)
        ours = [time_ours(net, X, y, X_val, y_val, batch_size) for _ in range(REPEATS)]
        first, fits = [], []
        for _ in range(REPEATS):
            model = keras_model(net)
            first.append(time_keras_fit(model, X, y, X_val, y_val, batch_size))
            fits.append(time_keras_fit(model, X, y, X_val, y_val, batch_size))
        t_ours = statistics.median(t for t, _, _ in ours)
        t_fit = statistics.median(t for t, _, _ in fits)
        t_first = statistics.median(t for t, _, _ in first)
        steps = EPOCHS * -(-X.shape[0] // batch_size)
        _, loss_ours, acc_ours = ours[0]
        _, loss_keras, acc_keras = first[0]
        print(
            f"{batch_size:>5} {steps:>6} {t_ours:>8.3f} {t_fit:>12.3f} {t_first:>12.3f} "
            f"{t_ours / t_fit:>9.2f} {t_ours / t_first:>9.2f}  "
            f"{loss_ours:>7.3f} / {loss_keras:<6.3f} {acc_ours:>9.3f} / {acc_keras:<7.3f}"
        )
    print(
        "\nratios below 1: our NumPy loop is faster. A report, not a test: timings depend on "
        "the machine and on whatever else runs on it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
