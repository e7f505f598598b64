"""The checker of notebook 06's reestimate_bn_stats exercise (AdaBN: new statistics, same weights).

    def reestimate_bn_stats(net, params, state, X):
        New running statistics of every BN layer of `net` from unlabelled inputs X (m, n_x);
        returns a new state dict; params and state are not modified.

The reference is helpers.probes.reestimate_bn_stats: one training-mode pass over all of X, each
BN layer's batch mean and biased variance REPLACING its running statistics. The answer is a
dict, not a tuple of arrays, so this checker has its own steps per case (using the runner's
pieces): call, the dict's keys, each array's shape, each value, then the known mistakes. The
cases' networks have two or three BN layers, running statistics far from those of X (so
blending, or normalizing later layers with the old statistics, shows) and a batch size m small
enough that m and m - 1 differ.
"""

import copy

import numpy as np

from helpers.checks import mistakes
from helpers.checks.mistakes import Mistake
from helpers.checks.runner import Case, array_problem, call_safely, matching_mistake, run_cases
from helpers.checks.seeds import case_seed

__all__ = ["check_reestimate_bn_stats", "reestimate_cases"]

MISTAKES = {
    "blended with momentum": Mistake(
        "These are the running averages after ONE training step: net.forward(..., training=True) "
        "returns the old running statistics blended with the batch's (momentum * old + "
        "(1 - momentum) * batch). Re-estimating REPLACES them: take each BN layer's batch mean "
        "and variance on X (the forward pass's cache holds them) and store those.",
        ({"kind": "blended"},)),
    "inference-mode pass": Mistake(
        "Layer 1 is right, but the later layers are measured on inputs normalized with the OLD "
        "running statistics (an inference-mode pass, training=False). Layer l's input must come "
        "from layers that already use the new statistics: take every layer's statistics from "
        "ONE training-mode pass over X, where each layer normalizes with X's own batch "
        "statistics.", ({"kind": "inference"},)),
    "unbiased variance (state)": Mistake(
        "Your running_var is the unbiased variance (ddof=1, dividing by m - 1). Batch norm "
        "normalizes training batches with the biased variance (dividing by m), and this is what "
        "the reference re-estimate stores: use the variance of the forward pass (np.var's "
        "default ddof=0).", ({"kind": "unbiased"}, {"kind": "unbiased throughout"})),
    "only the first layer": Mistake(
        "Only the first BN layer was re-estimated; the others kept their old statistics. Every "
        "BN layer l = 1 .. L-1 has running_mean{l} and running_var{l}: replace all of them.",
        ({"kind": "first layer"},)),
    "mean and variance swapped (state)": Mistake(
        "running_mean{l} and running_var{l} are swapped: store the mean under running_mean{l} and "
        "the variance under running_var{l}.", ({"kind": "swapped"},)),
    "state unchanged": Mistake(
        "Your new state holds the old running statistics unchanged: re-estimating replaces "
        "them with the statistics of X.", ({"kind": "old"},)),
}

HINTS = {
    **MISTAKES,
    "in place (state)": Mistake(
        "Build a new dict, e.g. new_state = dict(state), and assign new arrays to its keys: "
        "writing into the state you received (state[key] = ..., or state[key][...] = ...) "
        "changes the caller's network state."),
    "keys": Mistake(
        "Return a dict with exactly the keys of state: running_mean{l} and running_var{l} for "
        "every BN layer l (the names net.forward uses)."),
    "formula: reestimate": Mistake(
        "Run X through the network once in training mode (net.forward(params, state, X, "
        "training=True)); each BN layer's cache holds its batch \"mu\" and \"var\": store them "
        "as running_mean{l} and running_var{l} of a new dict."),
}


def hint(key, **values):
    """This exercise's hint `key`."""
    return mistakes.hint(key, own=HINTS, **values)


def reestimate_network(layer_sizes, activation, momentum):
    """A helpers.network MLP with batch norm before g (imported on first use: floor 2)."""
    from helpers.network import MLP

    return MLP(layer_sizes, activation=activation, norm="batch", momentum=momentum)


def reestimate_cases():
    """Networks with 2-3 BN layers, running statistics far from X's, shifted inputs."""
    rng = np.random.default_rng(case_seed(2606))
    cases = []
    for description, sizes, activation, momentum, m in (
        ("two BN layers 5 -> 6 -> 4 -> 3, relu, X of 12 shifted examples", (5, 6, 4, 3), "relu",
         0.9, 12),
        ("three BN layers 4 -> 7 -> 5 -> 6 -> 2, tanh, X of 6 examples", (4, 7, 5, 6, 2), "tanh",
         0.8, 6),
        ("two BN layers 8 -> 3 -> 5 -> 4, relu, X of 40 examples far from 0", (8, 3, 5, 4),
         "relu", 0.99, 40),
    ):
        net = reestimate_network(sizes, activation, momentum)
        params, state = net.init(seed=len(cases))
        for key in params:  # gamma, beta away from 1, 0 so that a mix-up shows
            if key.startswith(("gamma", "beta")):
                params[key] = params[key] + rng.normal(scale=0.3, size=params[key].shape)
        for key in state:  # old statistics from "another distribution"
            state[key] = (rng.uniform(0.3, 3.0, state[key].shape) if "var" in key
                          else rng.normal(scale=2.0, size=state[key].shape))
        X = rng.normal(size=(m, sizes[0])) * rng.uniform(0.5, 2.0, sizes[0]) + rng.normal(
            scale=3.0, size=sizes[0])
        cases.append(Case(description, (net, params, state, X), {}))
    return cases


# ----------------------------------------------------------------------------- right and wrong
def reestimate_reference(case):
    """helpers.probes.reestimate_bn_stats (floor 2, imported on first use)."""
    from helpers.probes import reestimate_bn_stats

    return reestimate_bn_stats(*case.args)


def inference_pass_statistics(net, params, state, X):
    """Each BN layer's input statistics in an inference-mode pass (normalized with the OLD
    statistics): z recovered from z~ = gamma * (z - rm) / sqrt(rv + eps) + beta."""
    _, _, cache = net.forward(params, state, X, training=False)
    new = dict(state)
    for l in net.hidden:
        z_tilde = cache["layers"][l - 1]["g_input"]
        std = np.sqrt(state[f"running_var{l}"] + net.eps)
        z = (z_tilde - params[f"beta{l}"]) / params[f"gamma{l}"] * std + state[f"running_mean{l}"]
        new[f"running_mean{l}"], new[f"running_var{l}"] = z.mean(axis=0), z.var(axis=0)
    return new


def unbiased_pass_statistics(net, params, state, X):
    """Layer by layer, each layer normalized with X's statistics with the UNBIASED variance."""
    from helpers.layers import ACTIVATIONS  # floor 1

    g = ACTIVATIONS[net.activation][0]
    new, a = dict(state), X
    for l in net.hidden:
        z = a @ params[f"W{l}"]
        mu, var = z.mean(axis=0), z.var(axis=0, ddof=1)
        new[f"running_mean{l}"], new[f"running_var{l}"] = mu, var
        a = g(params[f"gamma{l}"] * (z - mu) / np.sqrt(var + net.eps) + params[f"beta{l}"])[0]
    return new


def reestimate_variant(case, kind):
    """The new state a student making one of the mistakes returns (see MISTAKES)."""
    net, params, state, X = case.args
    right = reestimate_reference(case)
    m = len(X)
    if kind == "blended":
        return net.forward(params, state, X, training=True)[1]
    if kind == "inference":
        return inference_pass_statistics(net, params, state, X)
    if kind == "unbiased throughout":
        return unbiased_pass_statistics(net, params, state, X)
    new = dict(state)
    for l in net.hidden:
        mean, var = right[f"running_mean{l}"], right[f"running_var{l}"]
        if kind == "unbiased":
            new[f"running_mean{l}"], new[f"running_var{l}"] = mean, var * m / (m - 1)
        elif kind == "first layer" and l == 1 or kind == "swapped":
            new[f"running_mean{l}"], new[f"running_var{l}"] = (
                (var, mean) if kind == "swapped" else (mean, var))
    return new


# ----------------------------------------------------------------------------- the checks
def state_problem(new_state, case):
    """A message if the returned value is not a state dict with the right keys and shapes."""
    net, _, state, _ = case.args
    if new_state is None:
        return (f"Your function returned None, expected a new state dict.\n"
                f"  Hint: {hint('returned None', names='new_state')}")
    if not isinstance(new_state, dict):
        return (f"Your function returned a {type(new_state).__name__}, expected a dict like "
                f"state.\n  Hint: {hint('keys', l='{l}')}")
    missing, extra = sorted(set(state) - set(new_state)), sorted(set(new_state) - set(state))
    if missing or extra:
        return (f"Your new state is missing {missing or 'nothing'} and has unexpected keys "
                f"{extra or 'none'}.\n  Hint: {hint('keys', l='{l}')}")
    for key in state:
        problem = array_problem(f"new_state[{key!r}]", new_state[key], state[key].shape,
                                terms={"group": "unit", "over": "the batch", "axis": "axis=0"})
        if problem:
            return problem
    return None


def changed_in_place(before, after):
    """True if the dict `after` (given to the student) no longer equals `before`."""
    return set(before) != set(after) or any(
        not np.array_equal(before[key], after[key]) for key in before)


def check_reestimate_case(fn, case):
    """The first problem of the student's function on one network, or None."""
    net, params, state, X = case.args
    given = copy.deepcopy((net, params, state, X))
    result, problem = call_safely(lambda: fn(*given), Case(case.description, (), {}))
    if problem:
        return problem
    if changed_in_place(params, given[1]) or changed_in_place(state, given[2]):
        which = "state" if changed_in_place(state, given[2]) else "params"
        return (f"Your function changed the {which} dict it received.\n"
                f"  Hint: {hint('in place (state)')}")
    problem = state_problem(result, case)
    if problem:
        return problem
    expected = reestimate_reference(case)
    wrong = [key for key in state
             if not np.allclose(result[key], expected[key], rtol=1e-6, atol=1e-9)]
    if not wrong:
        return None
    keys = sorted(state)
    candidates = []
    for key, family in MISTAKES.items():
        for switches in family.versions:
            mistaken = reestimate_variant(case, **switches)
            candidates.append((hint(key, l="{l}"), tuple(mistaken[k] for k in keys)))
    found = matching_mistake(tuple(result[k] for k in keys), candidates)
    largest = float(np.max(np.abs(np.asarray(result[wrong[0]], float) - expected[wrong[0]])))
    return (f"{', '.join(wrong)} differ from the re-estimated statistics (largest difference in "
            f"{wrong[0]}: {largest:.3g}).\n"
            f"  Hint: {found or hint('formula: reestimate', l='{l}')}")


def check_reestimate_bn_stats(fn):
    """Check a student's reestimate_bn_stats(net, params, state, X) -> new state dict.

    net: a helpers.network MLP with batch norm; params, state: its dicts; X (m, n_x).
    Expected: the state of helpers.probes.reestimate_bn_stats, each running_mean{l} and
    running_var{l} REPLACED by that BN layer's batch mean and biased variance in one
    training-mode pass over X; params and state unchanged. Recognises: the blended running
    averages of a training step, an inference-mode pass (later layers measured with the old
    statistics), the unbiased variance, only the first layer, mean and variance swapped, the old
    state returned, the state changed in place, wrong keys or shapes.
    Prints "All N checks passed." or the first problem with a hint; returns True/False; never
    raises.
    """
    return run_cases(fn, reestimate_cases(), check_reestimate_case)
