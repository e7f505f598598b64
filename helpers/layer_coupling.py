"""Does batch norm let each layer learn more independently? Notebook 06's measurement.

The lecture's claim: without BN, every change of the early layers' weights moves the
distribution of the values a later layer receives, so the later layer keeps chasing a moving
target; with BN that layer's input keeps the mean beta and the standard deviation gamma
whatever the earlier layers do. We test it directly: change only the early layers (one gradient
step, or a random nudge of their weights), leave the later layer alone, and measure how far the
later layer's input moved.

    moved = step_early_layers(net, params, state, X, y, upto=2, learning_rate=1.0)
    move = input_move(net, params, moved, state, X, layer=3)
    move.mean_shift, move.std_change, move.example_move

Every function is pure (nothing it receives is modified) and seeded where it draws numbers.
"""

import re
from typing import NamedTuple

import numpy as np

from helpers import validation

__all__ = ["InputMove", "input_move", "layer_of", "perturb_early_layers", "step_early_layers"]


def layer_of(name):
    """The layer number of a parameter name: "W2" -> 2, "gamma10" -> 10."""
    match = re.fullmatch(r"[A-Za-z_]+(\d+)", str(name))
    if match is None:
        raise ValueError(f"a parameter name ends with its layer number, e.g. 'W2'; got {name!r}.")
    return int(match.group(1))


def _check_upto(net, upto):
    return validation.integer(upto, "upto", low=1, high=net.L - 1)


def step_early_layers(net, params, state, X, y, *, upto, learning_rate):
    """params after one gradient-descent step of layers 1..upto only.

    The gradient of the training-mode loss on the batch X (m, n_x), y (m,) is the full
    network's; only W, b, gamma and beta of layers 1..upto move (theta - learning_rate * grad),
    every later layer keeps its values. Returns a new params dict.
    """
    upto = _check_upto(net, upto)
    learning_rate = validation.real(learning_rate, "learning_rate", low=0, example="0.1")
    _, grads, _ = net.loss_and_grads(params, state, X, y)
    return {name: (value - learning_rate * grads[name]).astype(value.dtype)
            if layer_of(name) <= upto else value for name, value in params.items()}


def perturb_early_layers(net, params, *, upto, size, seed=0):
    """params with every W of layers 1..upto nudged at random by a relative amount `size`.

    W + size * std(W) * N(0, 1), drawn from np.random.default_rng([seed, 2]): the same relative
    change for a network with or without BN, whatever its gradients. b, gamma, beta and every
    later layer are unchanged. Returns a new params dict.
    """
    upto = _check_upto(net, upto)
    size = validation.real(size, "size", low=0, example="0.1 (10% of each W's spread)")
    # Not default_rng(seed): MLP.init(seed) draws W1 from that very stream, and the nudge
    # would then be W1's own initial direction (a rescaling, which BN divides out).
    rng = np.random.default_rng([seed, 2])
    moved = dict(params)
    for l in range(1, upto + 1):
        W = params[f"W{l}"]
        moved[f"W{l}"] = (W + size * W.std() * rng.standard_normal(W.shape)).astype(W.dtype)
    return moved


class InputMove(NamedTuple):
    """How far a later layer's input moved (see `input_move`); every entry is in units of
    each unit's standard deviation before the change, averaged over the layer's units."""

    mean_shift: float  # mean over units of |mean after - mean before| / std before
    std_change: float  # mean over units of |std after / std before - 1|
    example_move: float  # root mean square over examples and units of (after - before) / std


def input_move(net, params_before, params_after, state, X, layer):
    """How much the input of g in hidden layer `layer` moves from params_before to params_after.

    Both pass the same examples X (m, n_x) in training mode (batch statistics: what the layer
    sees while it learns). The input of g is z without a normalizer and z~ = gamma z_norm + beta
    with BN before g. Each unit is measured in units of its standard deviation over X before the
    change: mean_shift and std_change say how far the distribution moved, example_move how far
    the examples moved (which a fixed mean and std do not prevent). Returns an InputMove.
    """
    layer = validation.integer(layer, "layer", low=1, high=net.L - 1)
    before = net.forward(params_before, state, X, training=True)[2]["layers"][layer - 1]
    after = net.forward(params_after, state, X, training=True)[2]["layers"][layer - 1]
    z0 = before["g_input"].astype(np.float64)
    z1 = after["g_input"].astype(np.float64)
    std0 = z0.std(axis=0)
    if np.any(std0 == 0):
        raise ValueError("a unit's input is constant over X before the change; give X more "
                         "than one distinct example.")
    return InputMove(
        mean_shift=float(np.mean(np.abs(z1.mean(axis=0) - z0.mean(axis=0)) / std0)),
        std_change=float(np.mean(np.abs(z1.std(axis=0) / std0 - 1))),
        example_move=float(np.sqrt(np.mean(((z1 - z0) / std0) ** 2))),
    )
