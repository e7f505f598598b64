"""Notebook 07's Keras port, seen from the child: what the student's model is and computes.

The checker (helpers.checks.keras_port.check_port_case) reads a Keras model's layers, weights
and outputs. A model cannot cross to the grader as plain data, so the child builds it, reads
those facts and sends them as plain data; the grader rebuilds a stand-in model from them
(helpers.grading.remote.FAKE_KERAS) and runs the unchanged checker on it.

    port_facts(fn, args, X, keras) -> {"model": type name, "is_model": bool,
        "layers": [{"type": "Dense" | "BatchNormalization" | other, settings and weights}],
        "calls": [{"mode": "False" | "plain" | "True", "logits" or "exception"}],
        "after": [{"moving_mean", "moving_variance"} of each BN layer after the calls]}
"""

import warnings
from types import SimpleNamespace

import numpy as np

__all__ = ["FAKE_KERAS", "FakeModel", "fake_model", "import_keras", "port_facts"]

CALLS = (("False", {"training": False}), ("plain", {}), ("True", {"training": True}))
BN_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")


def import_keras():
    from helpers.checks.keras_port import import_keras as quietly

    return quietly()


def numpy(value, keras):
    """A weight or tensor as float64 (None stays None), converted quietly."""
    if value is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def flat_layers(model, keras):
    out = []
    for layer in model.layers:
        out.extend(flat_layers(layer, keras) if isinstance(layer, keras.Model) else [layer])
    return out


def layer_facts(layer, keras):
    if isinstance(layer, keras.layers.Dense):
        return {"type": "Dense", "use_bias": bool(layer.use_bias),
                "kernel": numpy(layer.kernel, keras),
                "bias": numpy(layer.bias, keras) if layer.use_bias else None}
    if isinstance(layer, keras.layers.BatchNormalization):
        facts = {"type": "BatchNormalization", "trainable": bool(layer.trainable),
                 "center": bool(layer.center), "scale": bool(layer.scale),
                 "epsilon": float(layer.epsilon), "momentum": float(layer.momentum)}
        facts.update({name: numpy(getattr(layer, name, None), keras) for name in BN_WEIGHTS})
        return facts
    return {"type": type(layer).__name__}


def port_facts(fn, args, X, keras):
    """Build the student's model with fn(*args) and read what the checker needs (see above)."""
    model = fn(*args)
    if model is None or not isinstance(model, keras.Model):
        return {"model": type(model).__name__, "is_model": False}
    layers = flat_layers(model, keras)
    facts = {"model": type(model).__name__, "is_model": True,
             "layers": [layer_facts(layer, keras) for layer in layers], "calls": []}
    for mode, training in CALLS:
        try:
            facts["calls"].append({"mode": mode, "logits": numpy(model(X, **training), keras)})
        except Exception as error:  # the checker reports it
            facts["calls"].append({"mode": mode, "exception": [type(error).__name__, str(error)]})
            break
    bns = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    facts["after"] = [{name: numpy(getattr(bn, name, None), keras)
                       for name in ("moving_mean", "moving_variance")} for bn in bns]
    return facts


# ----------------------------------------------------------------------------- the grader's side
class FakeLayer:
    """A layer of the student's model, rebuilt from its facts (plain data)."""

    def __init__(self, facts):
        for key, value in facts.items():
            if key != "type":
                setattr(self, key, value)


class FakeDense(FakeLayer):
    pass


class FakeBatchNormalization(FakeLayer):
    pass


class FakeModel:
    """The student's Keras model as the checker sees it: layers, and the outputs of the calls
    the child made (training=False, a plain call, training=True, in that order)."""

    def __init__(self, facts):
        kinds = {"Dense": FakeDense, "BatchNormalization": FakeBatchNormalization}
        self.layers = [kinds.get(f.get("type"), FakeLayer)(f) for f in facts.get("layers", [])]
        self.calls = {call.get("mode"): call for call in facts.get("calls", [])}
        self.after = facts.get("after", [])

    def __call__(self, X, **training):
        from helpers.grading.wire import rebuild_exception

        mode = "plain" if "training" not in training else str(bool(training["training"]))
        call = self.calls.get(mode)
        if call is None:
            raise RuntimeError("the model was not called this way while grading")
        if "exception" in call:
            raise rebuild_exception(*call["exception"])
        if mode == "True":  # a training-mode call moves the moving statistics
            bns = [layer for layer in self.layers if isinstance(layer, FakeBatchNormalization)]
            for bn, moved in zip(bns, self.after):
                bn.moving_mean, bn.moving_variance = moved["moving_mean"], moved["moving_variance"]
        return call["logits"]


def fake_model(facts):
    """The stand-in the checker receives: a FakeModel, None, or an object of the returned type."""
    if facts.get("is_model"):
        return FakeModel(facts)
    if facts.get("model") == "NoneType":
        return None
    name = str(facts.get("model"))
    return type(name if name.isidentifier() else "object", (), {})()


FAKE_KERAS = SimpleNamespace(
    Model=FakeModel,
    layers=SimpleNamespace(Dense=FakeDense, BatchNormalization=FakeBatchNormalization),
    ops=SimpleNamespace(convert_to_numpy=lambda value: value))
