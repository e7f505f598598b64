"""The checker of notebook 07's exercise: port a NumPy batch-norm MLP to Keras.

The student writes build_keras_mlp(net, params, state) -> a Keras model. Unlike the other
exercises the answer is a model, not arrays, so this checker has its own steps per case:
    1. build the model (call_safely: an exception, None, not a Keras model);
    2. its layers and weights, one setting at a time (model_problem), so that Keras' defaults
       left in (epsilon 1e-3, momentum 0.99, use_bias=True) get their own hint;
    3. its logits against helpers.network in inference and in training mode, and the moving
       statistics after one training-mode call.
Keras is imported on first use, so that `import helpers.checks` stays fast.
"""

import warnings

import numpy as np

from helpers.checks.mistakes import hint
from helpers.checks.runner import Case, call_safely, run_cases
from helpers.checks.seeds import case_seed

__all__ = ["check_keras_port", "port_cases", "port_network"]


def port_network(layer_sizes, activation, momentum=0.9, eps=1e-5):
    """A helpers.network MLP with batch norm on z, before g (the lecture's placement)."""
    from helpers.network import MLP  # floor 2, imported here so `import helpers.checks` stays small

    return MLP(layer_sizes, activation=activation, norm="batch", placement="before",
               momentum=momentum, eps=eps)


def port_cases():
    """Seeded networks whose weights and running statistics are away from their defaults.

    Each Case's args are (net, params, state), the student's arguments; context["X"] is the
    batch both models are run on.
    """
    rng = np.random.default_rng(case_seed(2026))
    networks = [
        ("square hidden layers 5 -> 5 -> 5 -> 3, tanh, momentum 0.8, eps 1e-4",
         port_network((5, 5, 5, 3), "tanh", momentum=0.8, eps=1e-4)),
        ("6 -> 7 -> 4 -> 3, relu, momentum 0.9, eps 1e-5",
         port_network((6, 7, 4, 3), "relu", momentum=0.9, eps=1e-5)),
        ("one hidden layer 8 -> 6 -> 4, relu, momentum 0.95",
         port_network((8, 6, 4), "relu", momentum=0.95)),
    ]
    cases = []
    for seed, (description, net) in enumerate(networks):
        params, state = net.init(seed=seed)
        for k in params:  # b, gamma, beta away from 0 / 1, so a mix-up shows in the outputs
            if not k.startswith("W"):
                params[k] = params[k] + rng.normal(scale=0.5, size=params[k].shape)
        for k in state:  # small variances, so that eps 1e-3 vs net.eps shows too
            state[k] = (rng.uniform(0.02, 0.5, state[k].shape) if "var" in k
                        else rng.normal(size=state[k].shape))
        X = 0.5 + 1.5 * rng.standard_normal((16, net.layer_sizes[0]))
        cases.append(Case(description, (net, params, state), {}, {"X": X}))
    return cases


# ----------------------------------------------------------------------------- the model's layers
def keras_layers(model, keras):
    """Every layer of the model in order, looking inside nested models."""
    out = []
    for layer in model.layers:
        out.extend(keras_layers(layer, keras) if isinstance(layer, keras.Model) else [layer])
    return out


def to_numpy(value, keras):
    """A Keras tensor or variable as a float64 NumPy array, converted quietly.

    This conversion is the checker's own, not the student's: Keras' np.array on a variable
    raises a NumPy DeprecationWarning (the copy keyword), which must not be reported as a note
    on a correct answer. Only warnings raised by the student's code are recorded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def same(value, expected):
    """Weights equal to float32 precision (a float32 model is accepted)."""
    value = np.asarray(value, dtype=np.float64)
    return value.shape == np.shape(expected) and np.allclose(value, expected, rtol=1e-5, atol=1e-6)


def layer_settings_problem(dense, bns, net):
    """The first wrong layer count or setting (bias, trainable, epsilon, momentum), or None."""
    if len(dense) != net.L or len(bns) != net.L - 1:
        return (f"Your model has {len(dense)} Dense and {len(bns)} BatchNormalization layers; this "
                f"network needs {net.L} Dense and {net.L - 1} BatchNormalization layers.\n"
                f"  Hint: {hint('keras: layer count')}")
    for l, (d, bn) in enumerate(zip(dense, bns), start=1):
        where = f"hidden layer {l}"
        if d.use_bias:
            return (f"The Dense layer of {where} has a bias (use_bias=True) right before batch "
                    f"norm.\n  Hint: {hint('keras: bias before BN', l=l)}")
        if not bn.trainable:
            return (f"The BatchNormalization layer of {where} is frozen (trainable=False).\n"
                    f"  Hint: {hint('keras: frozen BN')}")
        if not (bn.center and bn.scale):
            return (f"The BatchNormalization layer of {where} has center={bn.center}, "
                    f"scale={bn.scale}.\n  Hint: {hint('keras: center and scale', l=l)}")
        if not np.isclose(bn.epsilon, net.eps, rtol=1e-6, atol=0):
            key = ("keras: default epsilon" if np.isclose(bn.epsilon, 1e-3, rtol=1e-6, atol=0)
                   else "keras: fixed epsilon")
            return (f"The BatchNormalization layer of {where} has epsilon={bn.epsilon:g}.\n"
                    f"  Hint: {hint(key, eps=net.eps)}")
        if not np.isclose(bn.momentum, net.momentum, rtol=0, atol=1e-9):
            key = "keras: momentum"
            if np.isclose(bn.momentum, 1 - net.momentum, rtol=0, atol=1e-9):
                key = "keras: momentum reversed"
            elif np.isclose(bn.momentum, 0.99, rtol=0, atol=1e-9):
                key = "keras: default momentum"
            return (f"The BatchNormalization layer of {where} has momentum={bn.momentum:g}.\n"
                    f"  Hint: {hint(key, momentum=net.momentum)}")
    if not dense[-1].use_bias:
        return f"The output Dense layer has no bias.\n  Hint: {hint('keras: output bias', L=net.L)}"
    return None


def weights_problem(dense, bns, net, params, state, keras):
    """The first weight that differs from params / state, as a message, or None."""
    def numpy(value):
        return to_numpy(value, keras)

    for l, d in enumerate(dense, start=1):
        W, kernel = params[f"W{l}"], numpy(d.kernel)
        if not same(kernel, W):
            why = (hint("keras: transposed kernel") if same(kernel.T, W)
                   else hint("keras: kernel", l=l, shape=W.shape))
            return f"The kernel of Dense layer {l} is not W{l}.\n  Hint: {why}"
    if not same(numpy(dense[-1].bias), params[f"b{net.L}"]):
        return (f"The bias of the output layer is not b{net.L}.\n"
                f"  Hint: {hint('keras: output bias value', L=net.L)}")
    for l, bn in enumerate(bns, start=1):
        got = {name: numpy(getattr(bn, name))
               for name in ("gamma", "beta", "moving_mean", "moving_variance")}
        gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
        mean, var = state[f"running_mean{l}"], state[f"running_var{l}"]
        if not (same(got["gamma"], gamma) and same(got["beta"], beta)):
            why = hint("keras: gamma and beta", l=l)
            if same(got["gamma"], beta) and same(got["beta"], gamma):
                why = f"{hint('gamma and beta swapped')} {why}"
            return f"gamma or beta of BatchNormalization layer {l} differ from ours.\n  Hint: {why}"
        if not (same(got["moving_mean"], mean) and same(got["moving_variance"], var)):
            if np.all(got["moving_mean"] == 0) and np.all(got["moving_variance"] == 1):
                why = hint("keras: statistics not copied", l=l)
            elif same(got["moving_mean"], var) and same(got["moving_variance"], mean):
                why = hint("keras: statistics swapped")
            else:
                why = hint("keras: statistics", l=l)
            return (f"The moving statistics of BatchNormalization layer {l} differ from our "
                    f"running statistics.\n  Hint: {why}")
    return None


def model_problem(model, net, params, state, keras):
    """The first wrong layer setting or weight of the student's model, as a message, or None."""
    layers = keras_layers(model, keras)
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    bns = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    return (layer_settings_problem(dense, bns, net)
            or weights_problem(dense, bns, net, params, state, keras))


# -------------------------------------------------------------------------- what the model computes
def logits_problem(logits, expected, mode):
    """None if the model's logits match ours, else a message (without a hint)."""
    if logits.shape != expected.shape:
        return f"In {mode} your model returned shape {logits.shape}, expected {expected.shape}."
    if not np.all(np.isfinite(logits)):
        return f"In {mode} your model's logits contain NaN or inf."
    largest = float(np.max(np.abs(logits - expected)))
    if largest <= 1e-4 * max(1.0, float(np.max(np.abs(expected)))):  # float32 models pass too
        return None
    return f"In {mode} your model's logits differ from ours (largest difference {largest:.3g})."


def mode_problem(logits, ours, ours_other_mode, mode, other_mode_key):
    """A message if logits differ from ours in this mode; the hint says whether they match the
    other mode (the training flag did not reach batch norm) or nothing (the layers' order)."""
    problem = logits_problem(logits, ours, mode)
    if problem is None:
        return None
    key = other_mode_key if logits_problem(logits, ours_other_mode, "") is None else (
        "keras: layer order")
    return f"{problem}\n  Hint: {hint(key)}"


def check_port_case(fn, case, keras):
    """The first problem of the student's port on one network, or None."""
    net, params, state = case.args
    X = case.context["X"]
    model, problem = call_safely(fn, case, ("net", "params", "state"),
                                 {"shape mismatch": hint("keras: weight shape")})
    if problem:
        return problem
    if model is None:
        return (f"Your function returned None.\n"
                f"  Hint: {hint('returned None', names='model')}")
    if not isinstance(model, keras.Model):
        return (f"Your function returned a {type(model).__name__}, expected a Keras model.\n"
                f"  Hint: {hint('keras: model')}")
    problem = model_problem(model, net, params, state, keras)
    if problem:
        return problem

    ours, _, _ = net.forward(params, state, X, training=False)
    ours_train, new_state, _ = net.forward(params, state, X, training=True)

    def logits_of(**training):
        logits = model(X, **training)  # the student's model: its warnings are recorded
        return to_numpy(logits, keras)

    try:
        # The plain call (as model.predict and a student's own code make it) comes second: it
        # must be inference, and a training-mode call would move the moving statistics.
        logits = logits_of(training=False)
        problem = mode_problem(logits, ours, ours_train, "inference mode (training=False)",
                               "keras: batch statistics at inference")
        if problem:
            return problem
        problem = mode_problem(logits_of(), ours, ours_train, "a plain call, model(X),",
                               "keras: training default")
        if problem:
            return problem
        logits_train = logits_of(training=True)
    except Exception as error:  # any mistake in student code becomes a hint
        return (f"Calling your model on X of shape {X.shape} raised {type(error).__name__}: "
                f"{error}\n  Hint: {hint('keras: input shape', n_x=net.layer_sizes[0])}")
    problem = mode_problem(logits_train, ours_train, ours, "training mode (training=True)",
                           "keras: moving statistics in training")
    if problem:
        return problem
    bns = [layer for layer in keras_layers(model, keras)
           if isinstance(layer, keras.layers.BatchNormalization)]
    for l, bn in enumerate(bns, start=1):
        for name, theirs in (("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            if not same(to_numpy(getattr(bn, theirs), keras), new_state[f"{name}{l}"]):
                return (f"After one training-mode call, {theirs} of BatchNormalization layer {l} "
                        f"differs from our updated {name}{l}.\n"
                        f"  Hint: {hint('keras: momentum', momentum=net.momentum)}")
    return None


def import_keras():
    """Keras on the TensorFlow backend, imported quietly (no C++ log lines, and no Python
    warning on stderr, which an autograder would score as a failure)."""
    from helpers.tf_reference import import_tensorflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, keras = import_tensorflow()
    return keras


def check_keras_port(fn):
    """Check a student's build_keras_mlp(net, params, state) -> a Keras model.

    net is a helpers.network MLP with batch norm before g; params and state come from net.init
    (here with weights and running statistics moved away from their defaults). Expected: a
    Keras model with the same layers and weights, whose logits match net.forward in inference
    mode (model(X, training=False), moving statistics) and in training mode
    (model(X, training=True), batch statistics and one update of the moving statistics).
    A float32 model passes too.
    The model is also called plainly, model(X), which must be inference mode too (a model whose
    training flag defaults to True, or BN layers called with training=True, fail there).
    Recognises the common mistakes (Keras' default epsilon 1e-3 or momentum 0.99 left in,
    momentum reversed, use_bias=True before BN, W transposed, moving statistics not copied,
    training flag not reaching BN or fixed, a frozen BN layer) and prints a hint. Without
    TensorFlow it prints one sentence saying so and raises the import error on (the only
    exception it lets through).
    Prints "All N checks passed." or the first problem; returns True/False; raises nothing else.
    """
    try:
        keras = import_keras()
    except Exception as error:  # no TensorFlow (TensorFlowUnavailable) or a broken install
        print(f"This check needs TensorFlow and Keras, which cannot be imported here "
              f"({type(error).__name__}); install them with `pip install -r requirements.txt` "
              f"(or run this notebook on Colab, where they are installed) and run this cell "
              f"again.")
        # Raised on, not returned as False: the cell's `assert` would then fail as if the port
        # were wrong. The notebook's TensorFlow guard (helpers.notebook.setup) shows it as a
        # note; in grading it is an error worth 0 points, as a wrong port is.
        raise
    passed = run_cases(fn, port_cases(), lambda f, case: check_port_case(f, case, keras))
    if passed:
        print("Your model's logits match helpers.network in inference and training mode, and its "
              "moving statistics follow our running averages.")
    return passed
