"""helpers/checks/reestimate.py: notebook 06's reestimate_bn_stats (AdaBN).

Right answers (through net.forward's cache, or a loop over the layers) pass; each listed mistake,
written as a student would, gets its own hint; broken functions fail without raising.
"""

import numpy as np
import pytest

from helpers.checks import check_reestimate_bn_stats
from helpers.probes import reestimate_bn_stats


def run(fn, capsys):
    passed = check_reestimate_bn_stats(fn)
    captured = capsys.readouterr()
    assert captured.err == ""
    return passed, captured.out


def from_the_cache(net, params, state, X):
    _, _, cache = net.forward(params, state, X, training=True)
    new_state = dict(state)
    for l in net.hidden:
        new_state[f"running_mean{l}"] = cache["layers"][l - 1]["norm"]["mu"]
        new_state[f"running_var{l}"] = cache["layers"][l - 1]["norm"]["var"]
    return new_state


def layer_by_layer(net, params, state, X, old_statistics=False, ddof=0):
    """Each layer's statistics, the layer normalized with them (or with the old ones)."""
    new_state, a = {}, X
    for l in net.hidden:
        z = a @ params[f"W{l}"]
        mu, var = z.mean(axis=0), z.var(axis=0, ddof=ddof)
        new_state[f"running_mean{l}"], new_state[f"running_var{l}"] = mu, var
        if old_statistics:
            mu, var = state[f"running_mean{l}"], state[f"running_var{l}"]
        z_tilde = params[f"gamma{l}"] * (z - mu) / np.sqrt(var + net.eps) + params[f"beta{l}"]
        a = np.maximum(z_tilde, 0) if net.activation == "relu" else np.tanh(z_tilde)
    return new_state


@pytest.mark.parametrize("fn", [from_the_cache, layer_by_layer])
def test_right_answers_pass(fn, capsys):
    passed, out = run(fn, capsys)
    assert passed and "All 3 checks passed." in out, out


def test_the_course_reference_itself_is_not_accepted(capsys):
    passed, out = run(reestimate_bn_stats, capsys)
    assert passed is False and "reference implementation, not your code" in out


def blended(net, params, state, X):
    _, new_state, _ = net.forward(params, state, X, training=True)
    return new_state


def first_layer_only(net, params, state, X):
    new_state = dict(state)
    z = X @ params["W1"]
    new_state["running_mean1"], new_state["running_var1"] = z.mean(axis=0), z.var(axis=0)
    return new_state


def modifies_state(net, params, state, X):
    state.update(from_the_cache(net, params, state, X))
    return state


def swapped(net, params, state, X):
    right = from_the_cache(net, params, state, X)
    new_state = {}
    for l in net.hidden:
        new_state[f"running_mean{l}"] = right[f"running_var{l}"]
        new_state[f"running_var{l}"] = right[f"running_mean{l}"]
    return new_state


def renamed_keys(net, params, state, X):
    return {key.replace("running_var", "running_variance"): value
            for key, value in from_the_cache(net, params, state, X).items()}


def keepdims(net, params, state, X):
    return {key: value.reshape(1, -1)
            for key, value in from_the_cache(net, params, state, X).items()}


MISTAKES = {
    "training-mode state (blended)": (blended, "blended with the batch's"),
    "inference-mode pass": (lambda *a: layer_by_layer(*a, old_statistics=True),
                            "normalized with the OLD running statistics"),
    "unbiased variance": (lambda *a: layer_by_layer(*a, ddof=1), "unbiased variance (ddof=1"),
    "only the first layer": (first_layer_only, "Only the first BN layer was re-estimated"),
    "state modified in place": (modifies_state, "changed the state dict it received"),
    "mean and variance swapped": (swapped, "are swapped"),
    "old state returned": (lambda net, params, state, X: dict(state),
                           "old running statistics unchanged"),
    "running_var keyed wrong": (renamed_keys, "missing ['running_var1', 'running_var2']"),
    "running_var shaped wrong": (keepdims, "has shape (1, 6), expected (6,)"),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_gets_its_hint(name, capsys):
    fn, words = MISTAKES[name]
    passed, out = run(fn, capsys)
    assert passed is False
    assert words in out, out


@pytest.mark.parametrize("fn, words", [
    (lambda net, params, state, X: (_ for _ in ()).throw(NotImplementedError()),
     "replace `raise NotImplementedError()`"),
    (lambda net, params, state, X: None, "returned None"),
    (lambda net, params, state, X: [1, 2], "expected a dict like state"),
    (lambda net, params, state, X: {**state, "running_mean1": None}, "is None"),
    (lambda net, params, state, X: 1 / 0, "raised ZeroDivisionError"),
])
def test_broken_functions_fail_without_raising(fn, words, capsys):
    passed, out = run(fn, capsys)
    assert passed is False and words in out, out
