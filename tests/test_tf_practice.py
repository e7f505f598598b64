"""helpers.tf_practice against our NumPy code: folding a Keras model, frozen Keras BN, and batch
norm under tf.distribute on 4 logical CPU devices.

The device split must happen before TensorFlow's first operation, and other test modules of the
same pytest process use TensorFlow first; so the tf.distribute checks run in a fresh Python
process (one TensorFlow import, a few seconds).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from helpers import bn_practice, data, tf_practice
from helpers.network import MLP, train
from helpers.optimizers import Adam
from helpers.tf_reference import import_tensorflow, keras_mlp

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained():
    d = data.load_digits()
    X, _, y, _ = data.train_test_split(d.X, d.y, seed=0)
    X, _, _, _ = data.normalize_inputs(X)
    net = MLP((64, 12, 8, 10), norm="batch")
    params, state, _ = train(net, *net.init(seed=0), X[:300], y[:300], Adam(0.01), epochs=2,
                             batch_size=16)
    return net, params, state, X[:50], y[:50]


def test_folded_keras_model_computes_the_bn_models_inference(trained):
    net, params, state, X, _ = trained
    model = keras_mlp(net, params, state, dtype="float64")
    folded = tf_practice.fold_keras(model)
    assert [type(layer).__name__ for layer in folded.layers] == [
        "Dense", "Activation", "Dense", "Activation", "Dense"]
    np.testing.assert_allclose(folded(X).numpy(), model(X, training=False).numpy(), rtol=0,
                               atol=1e-12)


def test_folded_conv2d_with_keras_default_epsilon():
    _, keras = import_tensorflow()
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((6, 6, 2), dtype="float64"),
                              keras.layers.Conv2D(3, 3, dtype="float64"),
                              keras.layers.BatchNormalization(dtype="float64")])
    model.layers[1].set_weights([rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3),
                                 rng.uniform(1e-4, 1e-3, 3)])   # epsilon 1e-3 matters here
    x = rng.normal(size=(4, 6, 6, 2))
    np.testing.assert_allclose(tf_practice.fold_keras(model)(x).numpy(),
                               model(x, training=False).numpy(), rtol=0, atol=1e-10)


def test_frozen_keras_bn_takes_our_frozen_bn_step(trained):
    net, params, state, X, y = trained
    model = keras_mlp(net, params, state, dtype="float64")
    loss, grads = tf_practice.keras_frozen_grads(net, model, X[:16], y[:16])
    ours_loss, ours = bn_practice.frozen_bn_grads(net, params, state, X[:16], y[:16])
    assert set(grads) == set(ours) == {"W1", "W2", "W3", "b3"}
    assert loss == pytest.approx(ours_loss, abs=1e-12)
    for name in ours:
        np.testing.assert_allclose(grads[name], ours[name], rtol=0, atol=1e-12)
    out = model(X, training=True).numpy()        # frozen: inference mode even in training
    np.testing.assert_allclose(out, model(X, training=False).numpy(), rtol=0, atol=0)


SYNC_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {repo!r})
    from helpers import batchnorm, tf_practice
    tf, keras = tf_practice.import_tensorflow_on_cpus(devices=4, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(32, 6)).astype(np.float32)
    ones, zeros = np.ones(6, np.float32), np.zeros(6, np.float32)
    global_bn = batchnorm.batchnorm_forward(x, ones, zeros)[0]
    per_part = np.concatenate([batchnorm.batchnorm_forward(p, ones, zeros)[0]
                               for p in np.split(x, 4)])
    out = {{"devices": len(tf.config.list_logical_devices("CPU"))}}
    for sync in (True, False):
        y, moving_mean = tf_practice.replica_batchnorm(x, sync)
        out[str(sync)] = {{"vs_global": float(np.abs(y - global_bn).max()),
                          "vs_parts": float(np.abs(y - per_part).max()),
                          "moving_vs_global": float(np.abs(moving_mean - 0.1 * x.mean(0)).max()),
                          "moving_vs_first": float(np.abs(moving_mean
                                                          - 0.1 * x[:8].mean(0)).max())}}
    try:
        tf_practice.import_tensorflow_on_cpus(devices=2)
        out["refused"] = False
    except RuntimeError as error:
        out["refused"] = "restart the kernel" in str(error)
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def distributed():
    result = subprocess.run([sys.executable, "-c", SYNC_SCRIPT.format(repo=str(REPO))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_synchronized_bn_equals_bn_of_the_global_batch(distributed):
    assert distributed["devices"] == 4
    assert distributed["True"]["vs_global"] < 1e-6          # float32
    assert distributed["True"]["vs_parts"] > 0.1
    assert distributed["True"]["moving_vs_global"] < 1e-6


def test_per_replica_bn_is_bn_of_each_replicas_examples(distributed):
    assert distributed["False"]["vs_parts"] < 1e-6
    assert distributed["False"]["vs_global"] > 0.1
    # Keras 3 + MirroredStrategy: the moving mean takes the first replica's statistics
    assert distributed["False"]["moving_vs_first"] < 1e-6


def test_the_device_count_cannot_change_after_initialization(distributed):
    assert distributed["refused"]
