"""helpers/checks/keras_port.py: check_keras_port passes a correct port (float64 or float32),
fails each common mistake with its own hint, and never raises.

Each port here is built independently with Keras, with switches that reproduce the mistakes.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from helpers.checks import check_keras_port
from helpers.tf_reference import keras_mlp

keras = tf.keras
DT = "float64"


# ----------------------------------------------------------------------------- ports
class FixedFlag(keras.Model):
    """A subclassed model that calls BN with a fixed training flag (the mistake)."""

    def __init__(self, layers, training):
        super().__init__()
        self.stack, self.training_flag = layers, training

    def call(self, x, training=None):
        for layer in self.stack:
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            x = layer(x, training=self.training_flag) if is_bn else layer(x)
        return x


def port(net, params, state, *, eps=None, momentum=None, bias_before_bn=False, transpose=False,
         copy_state=True, frozen=False, training=None, dtype=DT):
    """A port with switches that reproduce the common mistakes."""
    dense, bns, stack = [], [], []
    for l in net.hidden:
        d = keras.layers.Dense(net.layer_sizes[l], use_bias=bias_before_bn, dtype=dtype)
        bn = keras.layers.BatchNormalization(
            momentum=net.momentum if momentum is None else momentum,
            **({} if eps == "default" else {"epsilon": net.eps if eps is None else eps}),
            dtype=dtype,
        )
        bn.trainable = not frozen
        stack += [d, bn, keras.layers.Activation(net.activation, dtype=dtype)]
        dense.append(d)
        bns.append(bn)
    out = keras.layers.Dense(net.layer_sizes[-1], dtype=dtype)
    stack.append(out)
    if training is None:
        model = keras.Sequential([keras.Input(shape=(net.layer_sizes[0],), dtype=dtype), *stack])
    else:
        model = FixedFlag(stack, training)
        model(np.zeros((2, net.layer_sizes[0])))  # builds the layers
    for l, (d, bn) in enumerate(zip(dense, bns), start=1):
        W = params[f"W{l}"].T if transpose else params[f"W{l}"]
        d.set_weights([W, np.zeros(W.shape[1])] if bias_before_bn else [W])
        stats = [state[f"running_mean{l}"], state[f"running_var{l}"]] if copy_state else [
            np.zeros(net.layer_sizes[l]), np.ones(net.layer_sizes[l])]
        bn.set_weights([params[f"gamma{l}"], params[f"beta{l}"], *stats])
    out.set_weights([params[f"W{net.L}"], params[f"b{net.L}"]])
    return model


def run(fn, capsys):
    passed = check_keras_port(fn)
    return passed, capsys.readouterr().out


def test_reference_ports_pass(capsys):
    passed, out = run(lambda net, p, s: keras_mlp(net, p, s), capsys)
    assert passed, out
    assert "All 3 checks passed." in out
    passed, out = run(port, capsys)
    assert passed, out


def test_a_float32_port_passes(capsys):
    passed, out = run(lambda net, p, s: port(net, p, s, dtype="float32"), capsys)
    assert passed, out


MISTAKES = {
    "keras default epsilon": ({"eps": "default"}, "default epsilon is 1e-3"),
    "fixed epsilon": ({"eps": 1e-5}, "epsilon=net.eps"),
    "bias before BN": ({"bias_before_bn": True}, "use_bias=False"),
    "transposed W": ({"transpose": True}, "no transpose"),
    "momentum reversed": ({"momentum": "reversed"}, "momentum is reversed"),
    "keras default momentum": ({"momentum": 0.99}, "default momentum 0.99"),
    "moving statistics not copied": ({"copy_state": False}, "moving statistics were not copied"),
    "frozen BN": ({"frozen": True}, "frozen"),
    "training flag fixed to False": ({"training": False}, "used the moving statistics"),
    "training flag fixed to True": ({"training": True}, "batch's own statistics"),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_fails_with_its_hint(name, capsys):
    switches, hint = MISTAKES[name]

    def buggy(net, params, state):
        kw = dict(switches)
        if kw.get("momentum") == "reversed":
            kw["momentum"] = 1 - net.momentum
        return port(net, params, state, **kw)

    passed, out = run(buggy, capsys)
    assert not passed, out
    assert "Check 1 of 3 failed" in out and hint in out, out


def test_transposed_weights_that_do_not_fit_get_the_hint(capsys):
    # On a non-square layer W.T does not fit: Keras raises, the checker explains.
    def buggy(net, params, state):
        if net.layer_sizes[1] == net.layer_sizes[0]:
            return port(net, params, state)
        return port(net, params, state, transpose=True)

    passed, out = run(buggy, capsys)
    assert not passed and "Check 2 of 3 failed" in out and "raised" in out, out
    assert "no transpose" in out, out


def test_gamma_beta_swapped_and_stats_swapped(capsys):
    def gamma_beta_swapped(net, params, state):
        swapped = dict(params)
        for l in net.hidden:
            swapped[f"gamma{l}"], swapped[f"beta{l}"] = params[f"beta{l}"], params[f"gamma{l}"]
        return port(net, swapped, state)

    passed, out = run(gamma_beta_swapped, capsys)
    assert not passed and "gamma and beta are swapped" in out, out

    def stats_swapped(net, params, state):
        swapped = dict(state)
        for l in net.hidden:
            swapped[f"running_mean{l}"] = state[f"running_var{l}"]
            swapped[f"running_var{l}"] = np.abs(state[f"running_mean{l}"])
        return port(net, params, swapped)

    passed, out = run(stats_swapped, capsys)
    assert not passed and "moving statistics" in out, out


def test_wrong_activation_gets_the_layer_order_hint(capsys):
    passed, out = run(lambda net, p, s: port(dataclasses.replace(net, activation="sigmoid"), p, s),
                      capsys)
    assert not passed and "inference mode" in out and "order of the layers" in out, out


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda net, p, s: 1 / 0, "raised ZeroDivisionError"),
        (lambda net, p, s: None, "returned None"),
        (lambda net, p, s: [1, 2], "returned a list, expected a Keras model"),
        ("not a function", "Expected your function"),
    ],
    ids=["raises", "none", "not-a-model", "not-callable"],
)
def test_broken_functions_fail_without_raising(fn, message, capsys):
    passed, out = run(fn, capsys)
    assert passed is False and message in out, out


def test_student_version_fails_without_raising(capsys):
    # What nbgrader leaves in the solution cell of the student version.
    def build_keras_mlp(net, params, state):
        raise NotImplementedError()

    passed, out = run(build_keras_mlp, capsys)
    assert passed is False and "NotImplementedError" in out


class TrainingByDefault(keras.Model):
    """A subclassed model whose training flag defaults to True: right when called with an
    explicit flag, wrong when called plainly (model(X), model.predict)."""

    def __init__(self, layers):
        super().__init__()
        self.stack = layers

    def call(self, x, training=True):
        for layer in self.stack:
            x = layer(x, training=training)
        return x


def test_a_model_whose_training_flag_defaults_to_true_is_named(capsys):
    def default_true(net, params, state):
        sequential = port(net, params, state)
        model = TrainingByDefault(sequential.layers)
        model(np.zeros((2, net.layer_sizes[0])), training=False)  # builds it
        return model

    passed, out = run(default_true, capsys)
    assert not passed, out
    assert "a plain call, model(X)," in out and "defaults to True" in out, out
    assert "training=True)`). Default it to None" in out, out


def test_without_tensorflow_the_port_check_says_so_and_raises_the_import_error(monkeypatch, capsys):
    from helpers import tf_reference
    from helpers.checks import keras_port

    def unavailable(*args, **kwargs):
        raise tf_reference.TensorFlowUnavailable("TensorFlow is not installed.")

    monkeypatch.setattr(keras_port, "import_keras", lambda: unavailable())
    # Raised on (the notebook's TensorFlow guard turns it into a note), never a False that an
    # `assert` would report as a wrong port.
    with pytest.raises(tf_reference.TensorFlowUnavailable):
        check_keras_port(port)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith("This check needs TensorFlow and Keras")
    assert "pip install -r requirements.txt" in captured.out
    assert captured.out.count("\n") == 1  # one sentence, one line


def test_keras_warnings_while_checking_never_reach_stderr(capsys):
    import warnings

    def warns(net, params, state):
        warnings.warn("a harmless warning from the student's port", UserWarning, stacklevel=1)
        return port(net, params, state)

    passed = check_keras_port(warns)
    captured = capsys.readouterr()
    assert passed, captured.out
    assert "Note: a warning was raised while checking" in captured.out
    assert "harmless warning" in captured.out and captured.err == ""


def test_the_checkers_own_conversions_add_no_note_to_a_correct_port(capsys):
    """Keras' np.array on a variable warns (NumPy's copy keyword); that warning comes from the
    checker reading the weights, not from the student's code, so a correct port gets no note."""
    import warnings

    net, params, state = port_cases_first()
    variable = port(net, params, state).layers[0].kernel
    with warnings.catch_warnings(record=True) as caught:  # the conversion does warn here
        warnings.simplefilter("always")
        keras.ops.convert_to_numpy(variable)
    passed, out = run(port, capsys)
    assert passed, out
    assert "Note:" not in out, (out, [str(w.message) for w in caught])


def port_cases_first():
    from helpers.checks.keras_port import port_cases

    return port_cases()[0].args
