"""The same network in Keras: build it, move weights both ways, get Keras' loss and gradients.

`helpers.network.MLP` and the Keras model built here compute the same function:

    ours                               Keras layer (name)
    z = a @ W{l} (+ b{l})              Dense(n[l], use_bias=(no BN right after))   "dense{l}"
    z~ = BN(z)  (placement="before")   BatchNormalization(momentum, epsilon)       "bn{l}"
    a = g(z~)                          Activation(g)                               "g{l}"
    a~ = BN(a)  (placement="after")    BatchNormalization after the Activation     "bn{l}"
    logits = a @ W{L} + b{L}           Dense(n_classes), no activation             "dense{L}"
    softmax cross-entropy (mean)       SparseCategoricalCrossentropy(from_logits=True)

Translations:
- Keras' BatchNormalization momentum has our meaning (new = momentum * old + (1 - momentum) *
  batch), but its epsilon defaults to 1e-3 where ours is 1e-5: we always pass ours explicitly.
- Keras' kernel is our W, (n_in, n_out), examples along axis 0 as in our code: no transpose.
- Keras' moving_mean / moving_variance are our running_mean / running_var (biased variance,
  in Keras 3; tf.keras 2 stored the unbiased one for 4-D inputs, see notebook 07).
- Calling a Keras model with training=True updates its moving statistics, like our forward.
Networks with norm="batch" or norm="none" have a twin here; layer and group norm are compared
with Keras layer by layer in tests/test_normalization.py.

TensorFlow takes seconds to import and about 500 MiB of memory, so it is imported inside the
functions: importing this module is cheap. Notebooks that only compare a few numbers with
TensorFlow run that comparison with `in_separate_process`, so their kernel never loads it.
Without TensorFlow, `import_tensorflow` raises `TensorFlowUnavailable`, whose message says how
to install it (helpers.notebook turns it into a note in a notebook).
"""

import contextlib
import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from helpers.network import MLP
from helpers.optimizers import Adam, GradientDescent, Momentum, RMSprop

__all__ = [
    "TensorFlowUnavailable",
    "tensorflow_available",
    "import_tensorflow",
    "in_separate_process",
    "keras_mlp",
    "keras_variables",
    "copy_to_keras",
    "params_from_keras",
    "keras_loss_and_grads",
    "keras_optimizer",
]


@contextlib.contextmanager
def _stderr_to_devnull():
    """Point the process's stderr (file descriptor 2) at /dev/null, then restore it.

    TensorFlow's C++ runtime writes start-up lines (oneDNN notices, "could not find cuda
    drivers", "failed call to cuInit") straight to descriptor 2, where no Python setting and, in
    TF 2.21, no environment variable reaches them. Python's own sys.stderr is not touched, so
    a real Python error still shows.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


INSTALL_NOTE = (
    "TensorFlow is not installed in this notebook's environment, so this cell and the cells "
    "that use its results are skipped; they compare the course's NumPy code with TensorFlow and "
    "Keras, and everything else runs without them. To run them too, install TensorFlow into "
    "this environment (in a notebook cell: %pip install tensorflow; in a terminal: "
    "pip install tensorflow, or make lab for the full course), then restart the kernel."
)


class TensorFlowUnavailable(ImportError):
    """TensorFlow or Keras cannot be imported; the message says what is missing and how to get it.

    In a notebook, helpers.notebook prints the message instead of a traceback.
    """

    def _render_traceback_(self):
        # IPython shows this instead of the traceback: the note is all a student needs.
        return [f"{type(self).__name__}: {self}"]


def tensorflow_available():
    """True when TensorFlow and Keras can be found, without importing them (milliseconds)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "keras"))
    except (ImportError, ValueError):  # a blocked or half-imported module
        return False


def import_tensorflow(seed=None):
    """(tf, keras), imported quietly: the course's one way to import TensorFlow.

    Sets, unless you set them yourself: KERAS_BACKEND=tensorflow, TF_CPP_MIN_LOG_LEVEL=3 (hides
    log lines of every level, including tf.data's harmless "NodeDef mentions attribute"
    errors; Python exceptions still raise) and
    TF_ENABLE_ONEDNN_OPTS=0 (oneDNN may reorder float sums, so the last digits could change
    from run to run). The import and TensorFlow's first operation, which sets up the devices,
    run with the process's stderr silenced, so no log line lands in a notebook's output.
    With a seed, also seeds Python, NumPy's global generator and TensorFlow
    (keras.utils.set_random_seed) and makes TensorFlow's operations deterministic.
    Raises TensorFlowUnavailable (an ImportError) when TensorFlow or Keras cannot be imported.
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _stderr_to_devnull():
            import keras
            import tensorflow as tf

            tf.reduce_sum(tf.zeros(1))  # the first operation sets up the devices and logs too
    except ImportError as error:
        raise TensorFlowUnavailable(f"{INSTALL_NOTE} (The import failed with: {error})") from error
    if seed is not None:
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
    return tf, keras


# What the separate process runs: load (fn, args, kwargs), call, save (True, result) or
# (False, the exception). cloudpickle carries a function defined in a notebook by value.
_CHILD = """
import pickle, sys
import cloudpickle
with open(sys.argv[1], "rb") as file:
    fn, args, kwargs = pickle.load(file)
try:
    outcome = (True, fn(*args, **kwargs))
except BaseException as error:
    outcome = (False, error)
with open(sys.argv[2], "wb") as file:
    try:
        cloudpickle.dump(outcome, file)
    except Exception:  # an exception that does not pickle: send its text
        cloudpickle.dump((False, RuntimeError(repr(outcome[1]))), file)
"""


def in_separate_process(fn, *args, **kwargs):
    """fn(*args, **kwargs), computed in a fresh Python process; returns its result.

    For the notebooks that compare a few numbers with TensorFlow: fn imports TensorFlow (with
    import_tensorflow) in that process, which exits when fn returns, so the notebook's kernel
    stays small (TensorFlow alone takes about 500 MiB). fn may be defined in the notebook: it
    is sent by value (cloudpickle), the arguments and the result are pickled. The process runs
    this Python with the kernel's sys.path, working directory and environment (so the BLAS
    settings of helpers.notebook.setup hold there too). What fn prints is printed here; an
    exception fn raises is raised here (TensorFlowUnavailable without TensorFlow).
    """
    import cloudpickle

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    with tempfile.TemporaryDirectory(prefix="course-") as tmp:
        call, result = Path(tmp, "call.pickle"), Path(tmp, "result.pickle")
        call.write_bytes(cloudpickle.dumps((fn, args, kwargs)))
        child = subprocess.run([sys.executable, "-c", _CHILD, str(call), str(result)], env=env,
                               capture_output=True, text=True)
        sys.stdout.write(child.stdout)
        if not result.exists():
            raise RuntimeError(f"the separate Python process running {fn.__name__} stopped with "
                               f"exit code {child.returncode}:\n{child.stderr[-2000:]}")
        ok, value = pickle.loads(result.read_bytes())
    if not ok:
        raise value
    return value


def _check_net(net):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a helpers.network.MLP; got {type(net).__name__}.")
    if net.norm not in ("batch", "none"):
        raise ValueError(f"the Keras twin is built for norm='batch' or 'none'; got "
                         f"norm={net.norm!r}.")


def keras_mlp(net, params=None, state=None, dtype="float64"):
    """A Keras model with the architecture of `net`; with params (and state) copied into it.

    Inputs:  net, an MLP; params, state: dicts from net.init or training (None keeps Keras'
             own initial weights; state None keeps Keras' initial running statistics, mean 0
             and variance 1, which are also ours); dtype of the model's weights and computation.
    Returns: a keras.Sequential taking X (m, n_x) and returning logits (m, n_classes).
    """
    _check_net(net)
    _, keras = import_tensorflow()
    layers = [keras.Input(shape=(net.layer_sizes[0],), dtype=dtype)]
    for l in net.hidden:
        n = net.layer_sizes[l]
        # A bias right before BN is cancelled by the mean subtraction: Keras' use_bias=False.
        layers.append(
            keras.layers.Dense(n, use_bias=net.normalized != "before", name=f"dense{l}",
                               dtype=dtype)
        )
        bn = keras.layers.BatchNormalization(
            momentum=net.momentum, epsilon=net.eps, name=f"bn{l}", dtype=dtype
        )
        if net.normalized == "before":
            layers.append(bn)
        layers.append(keras.layers.Activation(net.activation, name=f"g{l}", dtype=dtype))
        if net.normalized == "after":
            layers.append(bn)
    layers.append(keras.layers.Dense(net.layer_sizes[-1], name=f"dense{net.L}", dtype=dtype))
    model = keras.Sequential(layers, name="mlp")
    if params is not None:
        copy_to_keras(net, model, params, state)
    return model


def keras_variables(net, model):
    """({our param name: Keras variable}, {our state name: Keras variable}) for the model."""
    _check_net(net)
    params, state = {}, {}
    for l in range(1, net.L + 1):
        dense = model.get_layer(f"dense{l}")
        params[f"W{l}"] = dense.kernel
        if dense.use_bias:
            params[f"b{l}"] = dense.bias
        if l < net.L and net.normalized:
            bn = model.get_layer(f"bn{l}")
            params[f"gamma{l}"], params[f"beta{l}"] = bn.gamma, bn.beta
            state[f"running_mean{l}"] = bn.moving_mean
            state[f"running_var{l}"] = bn.moving_variance
    return params, state


def copy_to_keras(net, model, params, state=None):
    """Assign our params (and running statistics, if state is given) to the Keras model."""
    keras_params, keras_state = keras_variables(net, model)
    for ours, theirs in ((params, keras_params), (state, keras_state)):
        if ours is None:
            continue
        if set(ours) != set(theirs):
            raise ValueError(
                f"the arrays do not fit the Keras model: "
                f"missing {sorted(set(theirs) - set(ours))}, "
                f"unexpected {sorted(set(ours) - set(theirs))}."
            )
        for name, variable in theirs.items():
            if tuple(variable.shape) != np.shape(ours[name]):
                raise ValueError(
                    f"{name} has shape {np.shape(ours[name])}; the Keras model expects "
                    f"{tuple(variable.shape)}."
                )
            variable.assign(np.asarray(ours[name], dtype=variable.dtype))


def params_from_keras(net, model):
    """(params, state) as NumPy dicts with our names, read from the Keras model."""
    keras_params, keras_state = keras_variables(net, model)
    params = {k: np.array(v.numpy()) for k, v in keras_params.items()}
    state = {k: np.array(v.numpy()) for k, v in keras_state.items()}
    return params, state


def keras_loss_and_grads(net, model, X, y, training=True):
    """Keras' mean cross-entropy on X, y and its gradients, named as ours.

    Inputs:  X (m, n_x); y (m,) integer labels; training as in MLP.forward. With training=True
             the model's moving statistics are updated, as Keras does.
    Returns: (loss, grads, logits): a float, {our param name: ndarray}, ndarray (m, n_classes).
    """
    tf, keras = import_tensorflow()
    keras_params, _ = keras_variables(net, model)
    dtype = model.layers[0].dtype
    X = tf.constant(np.asarray(X), dtype=dtype)
    # A Keras loss computes in float32 unless told otherwise, whatever the model's dtype.
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)
    names = list(keras_params)
    with tf.GradientTape() as tape:
        logits = model(X, training=training)
        loss = loss_fn(np.asarray(y), logits)
    grads = tape.gradient(loss, [keras_params[k] for k in names])
    return float(loss.numpy()), {k: g.numpy() for k, g in zip(names, grads)}, logits.numpy()


def keras_optimizer(optimizer):
    """The Keras optimizer that takes the same steps as ours (exactly, or as epsilon -> 0).

    GradientDescent(alpha)      -> SGD(alpha)
    Momentum(alpha, beta)       -> SGD(alpha * (1 - beta), momentum=beta): the same steps,
                                   Keras' m = beta * m - lr * dW is -alpha times our v.
    RMSprop(alpha, beta2, eps)  -> RMSprop(alpha, rho=beta2, epsilon=eps**2): Keras divides by
                                   sqrt(s + epsilon), we by sqrt(s) + eps; with epsilon = eps**2
                                   the two agree where s = 0 and where s >> eps**2, and exactly
                                   as eps -> 0.
    Adam(alpha, b1, b2, eps)    -> Adam(alpha, beta_1=b1, beta_2=b2, epsilon=eps): Keras adds
                                   epsilon before the bias correction, which acts like our eps
                                   times sqrt(1 - b2**t); the steps agree as eps -> 0, and
                                   become the same as training goes on (b2**t -> 0).
    Keras 3 keeps the learning rate as a float32 variable, while momentum, rho and Adam's betas
    stay Python floats (cast to the variable's dtype in each update). So the learning rate (for
    Momentum: alpha * (1 - beta)) must be exact in float32 (a power of two, say) for the steps
    to agree to float64 rounding; otherwise they differ by float32 rounding (~1e-7 relative).
    """
    _, keras = import_tensorflow()
    o = optimizer
    if isinstance(o, GradientDescent):
        return keras.optimizers.SGD(learning_rate=o.learning_rate)
    if isinstance(o, Momentum):
        return keras.optimizers.SGD(learning_rate=o.learning_rate * (1 - o.beta), momentum=o.beta)
    if isinstance(o, RMSprop):
        return keras.optimizers.RMSprop(
            learning_rate=o.learning_rate, rho=o.beta2, epsilon=o.epsilon**2
        )
    if isinstance(o, Adam):
        return keras.optimizers.Adam(
            learning_rate=o.learning_rate, beta_1=o.beta1, beta_2=o.beta2, epsilon=o.epsilon
        )
    raise TypeError(
        f"optimizer must be one of helpers.optimizers' GradientDescent, Momentum, RMSprop, Adam; "
        f"got {type(o).__name__}."
    )
