"""Our NumPy code against TensorFlow and Keras, number for number.

TensorFlow is the reference the lecture names (`tf.nn.batch_normalization`). Importing it costs
seconds, so every TensorFlow comparison lives in this one module.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.batchnorm import (
    batch_moments,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.layers import ACTIVATIONS, dense_backward, dense_forward, softmax_cross_entropy

keras = tf.keras

# float64 agrees to rounding; float32 to a few float32 ulps of values of size ~1-10.
TOL = {np.float64: 1e-12, np.float32: 2e-5}
DENSE, NHWC = ((32, 10), (0,)), ((4, 5, 5, 3), (0, 1, 2))


def make_case(shape, axes, dtype, seed=0, offset=2.0, scale=3.0):
    rng = np.random.default_rng(seed)
    z = (offset + scale * rng.standard_normal(shape)).astype(dtype)
    kept = tuple(s for i, s in enumerate(shape) if i not in axes)
    gamma = rng.uniform(0.5, 2.0, size=kept).astype(dtype)
    beta = rng.normal(size=kept).astype(dtype)
    return z, gamma, beta


def tf_bn(z, gamma, beta, eps, axes):
    """The lecture's reference: tf.nn.moments + tf.nn.batch_normalization."""
    mean, var = tf.nn.moments(tf.convert_to_tensor(z), axes=list(axes))
    return tf.nn.batch_normalization(z, mean, var, offset=beta, scale=gamma, variance_epsilon=eps)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, axes", [DENSE, NHWC], ids=["dense", "nhwc"])
def test_forward_matches_tf_nn_batch_normalization(shape, axes, dtype):
    z, gamma, beta = make_case(shape, axes, dtype)
    ours, _ = batchnorm_forward(z, gamma, beta, eps=1e-5, axes=axes)
    theirs = tf_bn(z, gamma, beta, 1e-5, axes).numpy()
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments_match_tf_nn_moments(dtype):
    z, _, _ = make_case(*NHWC, dtype, offset=100.0)
    mu, var = batch_moments(z, axes=(0, 1, 2))
    tf_mu, tf_var = tf.nn.moments(tf.constant(z), axes=[0, 1, 2])
    np.testing.assert_allclose(mu, tf_mu.numpy(), rtol=TOL[dtype])
    np.testing.assert_allclose(var, tf_var.numpy(), rtol=100 * TOL[dtype])


@settings(max_examples=40)
@given(
    case=st.sampled_from([((2, 1), (0,)), ((7, 5), (0,)), ((3, 2, 2, 4), (0, 1, 2)), ((4, 3, 2), (0, 1))]),
    offset=st.floats(-1e3, 1e3),
    scale=st.floats(1e-2, 1e2),
    eps=st.sampled_from([1e-5, 1e-3, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_property_forward_matches_tf_float64(case, offset, scale, eps, seed):
    shape, axes = case
    z, gamma, beta = make_case(shape, axes, np.float64, seed, offset, scale)
    ours, _ = batchnorm_forward(z, gamma, beta, eps=eps, axes=axes)
    theirs = tf_bn(z, gamma, beta, eps, axes).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, axes", [DENSE, NHWC], ids=["dense", "nhwc"])
def test_backward_matches_gradient_tape(shape, axes, dtype):
    z, gamma, beta = make_case(shape, axes, dtype, seed=1)
    rng = np.random.default_rng(2)
    dout = (rng.standard_normal(shape) * rng.uniform(0.1, 3, size=shape)).astype(dtype)
    _, cache = batchnorm_forward(z, gamma, beta, axes=axes)
    dz, dgamma, dbeta = batchnorm_backward(dout, cache)

    tz, tg, tb = (tf.Variable(a) for a in (z, gamma, beta))
    with tf.GradientTape() as tape:
        # The loss sum(z~ * dout) has gradient dout with respect to z~.
        loss = tf.reduce_sum(tf_bn(tz, tg, tb, 1e-5, axes) * dout)
    tdz, tdg, tdb = (g.numpy() for g in tape.gradient(loss, [tz, tg, tb]))
    scale = TOL[dtype] * 10  # sums over the batch add a little rounding
    np.testing.assert_allclose(dz, tdz, rtol=0, atol=scale * np.abs(tdz).max())
    np.testing.assert_allclose(dgamma, tdg, rtol=0, atol=scale * np.abs(tdg).max())
    np.testing.assert_allclose(dbeta, tdb, rtol=0, atol=scale * np.abs(tdb).max())


# ----------------------------------------------------------------------------- Keras layer
def keras_bn(shape, axes, dtype, momentum, eps, gamma, beta):
    layer = keras.layers.BatchNormalization(
        axis=-1, momentum=momentum, epsilon=eps, dtype=np.dtype(dtype).name
    )
    layer.build((None,) + shape[1:])
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    return layer


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, axes", [DENSE, NHWC], ids=["dense", "nhwc"])
def test_keras_training_and_inference_after_several_steps(shape, axes, dtype):
    # Keras' defaults differ from ours (momentum 0.99, epsilon 1e-3); we pass the same values.
    momentum, eps = 0.8, 1e-3
    _, gamma, beta = make_case(shape, axes, dtype)
    layer = keras_bn(shape, axes, dtype, momentum, eps, gamma, beta)
    kept = gamma.shape
    running_mean, running_var = np.zeros(kept, dtype), np.ones(kept, dtype)  # Keras' initial values
    for step in range(5):
        z, _, _ = make_case(shape, axes, dtype, seed=10 + step, offset=step - 2.0)
        ours, cache = batchnorm_forward(z, gamma, beta, eps=eps, axes=axes)
        theirs = layer(z, training=True).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL[dtype])
        running_mean, running_var = update_running_stats(
            running_mean, running_var, cache["mu"], cache["var"], momentum
        )
    # Keras' moving variance is the biased one, like ours (PyTorch would differ here).
    np.testing.assert_allclose(running_mean, layer.moving_mean.numpy(), rtol=0, atol=TOL[dtype])
    np.testing.assert_allclose(running_var, layer.moving_variance.numpy(), rtol=TOL[dtype] * 10)

    z_test, _, _ = make_case(shape, axes, dtype, seed=99)
    ours = batchnorm_inference(z_test, gamma, beta, running_mean, running_var, eps=eps, axes=axes)
    theirs = layer(z_test, training=False).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL[dtype] * 10)


def test_keras_inference_is_independent_of_batch_companions():
    shape, axes = DENSE
    z, gamma, beta = make_case(shape, axes, np.float64)
    layer = keras_bn(shape, axes, np.float64, 0.9, 1e-5, gamma, beta)
    layer(z, training=True)  # move the running statistics off their initial values
    full = layer(z, training=False).numpy()
    one = layer(z[:1], training=False).numpy()
    np.testing.assert_allclose(one, full[:1], atol=1e-12)
    ours = batchnorm_inference(
        z[:1], gamma, beta, layer.moving_mean.numpy(), layer.moving_variance.numpy(), eps=1e-5
    )
    np.testing.assert_allclose(ours, one, atol=1e-12)


# ----------------------------------------------------------------------------- other layers
@pytest.mark.parametrize("name, tf_fn", [("sigmoid", tf.sigmoid), ("tanh", tf.tanh), ("relu", tf.nn.relu)])
def test_activations_and_their_gradients_match_tf(name, tf_fn):
    rng = np.random.default_rng(3)
    z = rng.normal(scale=4.0, size=(16, 7))
    z[0, :3] = [-800.0, 800.0, 0.0]  # extremes must not overflow
    dout = rng.normal(size=z.shape)
    forward, backward = ACTIVATIONS[name]
    a, cache = forward(z)
    tz = tf.Variable(z)
    with tf.GradientTape() as tape:
        ta = tf_fn(tz)
        loss = tf.reduce_sum(ta * dout)
    np.testing.assert_allclose(a, ta.numpy(), rtol=1e-12, atol=1e-300)
    mask = z != 0  # relu's slope at exactly 0 is a convention (TF: 0, ours: 0)
    np.testing.assert_allclose(backward(dout, cache)[mask], tape.gradient(loss, tz).numpy()[mask], atol=1e-12)


def test_dense_and_softmax_cross_entropy_match_tf():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 5))
    W = rng.normal(size=(5, 4))
    b = rng.normal(size=4)
    y = rng.integers(0, 4, size=12)
    z, dcache = dense_forward(x, W, b)
    loss, dz = softmax_cross_entropy(z, y)
    dx, dW, db = dense_backward(dz, dcache)

    tx, tW, tb = (tf.Variable(a) for a in (x, W, b))
    with tf.GradientTape() as tape:
        logits = tx @ tW + tb
        tloss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
    grads = tape.gradient(tloss, [tx, tW, tb])
    np.testing.assert_allclose(loss, tloss.numpy(), rtol=1e-12)
    for ours, theirs in zip((dx, dW, db), grads):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)


# ------------------------------------------------- the comparison in a separate process (02, 04)
def _tensorflow_sum(values):
    """Runs in the separate process: TensorFlow's sum, and whether TensorFlow was loaded there."""
    import sys

    from helpers.tf_reference import import_tensorflow

    tf, _ = import_tensorflow()
    print("hello from the separate process")
    return float(tf.reduce_sum(tf.constant(values)).numpy()), "tensorflow" in sys.modules


def test_in_separate_process_returns_tensorflows_result_and_relays_prints(capsys):
    from helpers.tf_reference import in_separate_process

    values = np.arange(1.0, 11.0)
    total, loaded_there = in_separate_process(_tensorflow_sum, values)
    assert total == 55.0 and loaded_there
    assert "hello from the separate process" in capsys.readouterr().out


def test_in_separate_process_keeps_tensorflow_out_of_the_caller():
    # A fresh interpreter (this test process has TensorFlow loaded already) calls a function
    # defined in its __main__, as a notebook does; TensorFlow is loaded only in the child.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from helpers.tf_reference import import_tensorflow, in_separate_process\n"
        "def moments(z):\n"
        "    tf, _ = import_tensorflow()\n"
        "    mean, var = tf.nn.moments(tf.constant(z), axes=[0])\n"
        "    return mean.numpy(), var.numpy()\n"
        "import numpy as np\n"
        "z = np.random.default_rng(0).normal(size=(16, 3))\n"
        "mean, var = in_separate_process(moments, z)\n"
        "print(np.allclose(mean, z.mean(axis=0)), np.allclose(var, z.var(axis=0)),\n"
        "      'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.split() == ["True", "True", "False"], out.stderr[-2000:]


def _raise_value_error(name):
    raise ValueError(f"bad {name}")


def test_in_separate_process_raises_the_functions_exception_here():
    from helpers.tf_reference import in_separate_process

    with pytest.raises(ValueError, match="bad gamma"):
        in_separate_process(_raise_value_error, "gamma")


def test_tensorflow_unavailable_is_an_import_error_that_pickles_with_its_note():
    import pickle

    from helpers.tf_reference import INSTALL_NOTE, TensorFlowUnavailable

    error = pickle.loads(pickle.dumps(TensorFlowUnavailable(INSTALL_NOTE)))
    assert isinstance(error, ImportError) and "pip install tensorflow" in str(error)
    assert error._render_traceback_() == [f"TensorFlowUnavailable: {INSTALL_NOTE}"]
