"""Shared test set-up: quiet TensorFlow, reproducible hypothesis runs, shared fixtures."""

import os

# Must be set before TensorFlow is first imported (by any test module).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums run to run
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from hypothesis import settings

# TensorFlow's first call of an op is slow, so no per-example deadline. In CI the examples
# are derandomized so that a run is reproducible; locally each run explores new examples.
settings.register_profile("course", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("course"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "course")


# ----------------------------------------------------------------------------- shared fixtures
# Built once per test session and read by several test modules; tests must not modify them.
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import data  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """The raw digits (grey levels 0..16), split 75/25 with seed 0: X_train, X_test, y_train, y_test.

    Modules that need another split define their own `digits`, which takes precedence."""
    d = data.load_digits()
    return data.train_test_split(d.X, d.y, 0.25, seed=0)


@pytest.fixture(scope="session")
def shift_models(digits):
    """Notebook 06's two networks (no BN, BN), trained 4 epochs on the digits scaled by 1/16."""
    from helpers.network import MLP, train
    from helpers.optimizers import Adam

    X_train, _, y_train, _ = digits
    models = {}
    for label, norm in (("no BN", "none"), ("BN", "batch")):
        net = MLP((64, 32, 32, 10), activation="relu", norm=norm)
        params, state = net.init(seed=0)
        params, state, _ = train(net, params, state, X_train / 16, y_train, Adam(0.01), epochs=4,
                                 batch_size=64, seed=0, drop_last=True)
        models[label] = (net, params, state)
    return models


@pytest.fixture(scope="session")
def stream():
    """150 batches of 32 from three known normal units: (batch means, batch variances,
    population means, population variances)."""
    rng = np.random.default_rng(5)
    means, stds = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 0.5])
    batches = [rng.normal(size=(32, 3)) * stds + means for _ in range(150)]
    return (np.array([b.mean(axis=0) for b in batches]), np.array([b.var(axis=0) for b in batches]),
            means, stds**2)
