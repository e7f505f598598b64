"""Notebook 09's TensorFlow side: folding a Keras model, frozen BN, synchronized BN.

    tf, keras = import_tensorflow_on_cpus(devices=4, seed=0)
    folded = fold_keras(model)                    # Dense/Conv2D + BatchNormalization -> one layer
    loss, grads = keras_frozen_grads(net, model, X, y)   # BN layers with trainable = False
    outputs = replica_batchnorm(x, replicas=4, synchronized=True)   # tf.distribute on CPUs

Data-parallel training needs several devices. TensorFlow can split the one CPU into *logical*
devices, but only before it initializes its devices (its first operation); after that the
device list is fixed for the life of the process. So a notebook that uses tf.distribute calls
import_tensorflow_on_cpus first, before any other TensorFlow work.
"""

import os
import time

import numpy as np

from helpers import validation
from helpers.folding import fold_batchnorm
from helpers.tf_reference import _stderr_to_devnull, import_tensorflow, keras_variables

__all__ = [
    "cpu_strategy",
    "fold_keras",
    "import_tensorflow_on_cpus",
    "keras_frozen_grads",
    "replica_batchnorm",
]


def import_tensorflow_on_cpus(devices=4, seed=None):
    """(tf, keras) as helpers.tf_reference.import_tensorflow, with the CPU split into `devices`
    logical devices ("/device:CPU:0" ... ) for tf.distribute.

    The split has to happen after `import tensorflow` and before TensorFlow's first operation,
    which import_tensorflow runs; so the module is imported here first (with the same quiet
    settings), the CPU split, then import_tensorflow finishes the job. If TensorFlow is already
    initialized with another number of CPU devices, a RuntimeError says to restart the kernel.
    """
    devices = validation.integer(devices, "devices")
    for key, value in (("KERAS_BACKEND", "tensorflow"), ("TF_CPP_MIN_LOG_LEVEL", "3"),
                       ("TF_ENABLE_ONEDNN_OPTS", "0")):   # import_tensorflow's settings
        os.environ.setdefault(key, value)
    try:
        with _stderr_to_devnull():
            import tensorflow as tf
    except ImportError:
        return import_tensorflow(seed)       # reports the missing TensorFlow its own way
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    except RuntimeError:                     # already initialized: keep it if it fits
        pass
    tf, keras = import_tensorflow(seed)
    tf.get_logger().setLevel("ERROR")        # tf.distribute logs each strategy and all-reduce
    found = len(tf.config.list_logical_devices("CPU"))
    if found != devices:
        raise RuntimeError(f"TensorFlow was initialized before with {found} CPU device(s), and "
                           f"its devices cannot change afterwards: restart the kernel and run "
                           f"import_tensorflow_on_cpus({devices}) before any TensorFlow "
                           f"operation.")
    return tf, keras


_STRATEGY = []


def cpu_strategy(tf):
    """tf.distribute.MirroredStrategy over every logical CPU device (one replica per device).

    One strategy per process, made on first use: strategies made separately number their
    collective operations alike, and two of them in one process mix up each other's all-reduces.
    """
    if not _STRATEGY:
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
        _STRATEGY.append(tf.distribute.MirroredStrategy(names))
    return _STRATEGY[0]


# ----------------------------------------------------------------------------- folding
def fold_keras(model):
    """A keras.Sequential in which every Dense or Conv2D followed by BatchNormalization (over
    the last axis) is replaced by one layer of the same kind with the folded weights
    (helpers.folding.fold_batchnorm, Keras' epsilon). Other layers are copied as they are.
    The new model computes the old one's inference mode."""
    _, keras = import_tensorflow()
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential; got {type(model).__name__}.")
    layers, new_layers, i = model.layers, [keras.Input(shape=model.input_shape[1:],
                                                       dtype=model.layers[0].dtype)], 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if (isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))
                and isinstance(nxt, keras.layers.BatchNormalization)):
            if nxt.axis not in (-1, len(layer.output.shape) - 1):
                raise ValueError(f"{nxt.name} normalizes axis {nxt.axis}; folding needs the "
                                 f"last axis (channels last).")
            W = layer.kernel.numpy()
            b = layer.bias.numpy() if layer.use_bias else None
            n = W.shape[-1]
            gamma = nxt.gamma.numpy() if nxt.scale else np.ones(n, W.dtype)
            beta = nxt.beta.numpy() if nxt.center else np.zeros(n, W.dtype)
            W_f, b_f = fold_batchnorm(W, b, gamma, beta, nxt.moving_mean.numpy(),
                                      nxt.moving_variance.numpy(), nxt.epsilon)
            config = {**layer.get_config(), "use_bias": True, "name": f"{layer.name}_folded"}
            folded = type(layer).from_config(config)
            folded.build(layer.input.shape)
            folded.set_weights([W_f, b_f])
            new_layers.append(folded)
            i += 2
        else:
            new_layers.append(type(layer).from_config(layer.get_config()))
            if layer.weights:
                new_layers[-1].build(layer.input.shape)
                new_layers[-1].set_weights(layer.get_weights())
            i += 1
    return keras.Sequential(new_layers, name=f"{model.name}_folded")


# ----------------------------------------------------------------------------- frozen BN
def keras_frozen_grads(net, model, X, y):
    """Keras' loss and gradients with every BatchNormalization layer frozen (trainable=False),
    called with training=True as fit does. Returns (loss, {our name: gradient}) for the
    variables Keras still trains (the kernels and the output bias)."""
    tf, keras = import_tensorflow()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    ours, _ = keras_variables(net, model)
    trainable = {id(v): v for v in model.trainable_variables}
    names = [k for k, v in ours.items() if id(v) in trainable]
    dtype = model.layers[0].dtype
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)
    with tf.GradientTape() as tape:
        loss = loss_fn(np.asarray(y), model(tf.constant(np.asarray(X), dtype=dtype),
                                            training=True))
    grads = tape.gradient(loss, [ours[k] for k in names])
    return float(loss.numpy()), {k: g.numpy() for k, g in zip(names, grads)}


# ----------------------------------------------------------------------------- many devices
def replica_batchnorm(x, synchronized, epsilon=1e-5, momentum=0.9, repeats=0):
    """One training-mode call of keras.layers.BatchNormalization(synchronized=...) under a
    MirroredStrategy over every logical CPU device, the global batch x (m, n) split into equal
    consecutive parts, one per replica (gamma = 1, beta = 0).

    Returns (outputs (m, n) in x's row order, moving_mean (n,) after the step), as NumPy;
    with repeats > 0 also the median seconds of `repeats` further calls (the function traced
    once; timings vary from run to run and machine to machine).
    """
    tf, keras = import_tensorflow()
    strategy = cpu_strategy(tf)
    replicas = strategy.num_replicas_in_sync
    x = validation.float_array(x, "x", ndim=2)
    if len(x) % replicas:
        raise ValueError(f"x has {len(x)} rows; split over {replicas} replicas it needs a "
                         f"multiple of {replicas}.")
    parts = np.split(x, replicas)
    with strategy.scope():
        bn = keras.layers.BatchNormalization(synchronized=synchronized, epsilon=epsilon,
                                             momentum=momentum, dtype=x.dtype.name)
        bn.build((None, x.shape[1]))
    values = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(parts[context.replica_id_in_sync_group]))

    @tf.function
    def step(batch):
        return strategy.run(lambda part: bn(part, training=True), args=(batch,))

    out = strategy.experimental_local_results(step(values))
    result = np.concatenate([o.numpy() for o in out]), bn.moving_mean.numpy()
    if not repeats:
        return result
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(values)
        times.append(time.perf_counter() - start)
    return (*result, float(np.median(times)))
