"""helpers.layer_coupling: changing only the early layers, and measuring a later layer's input."""

import numpy as np
import pytest

from helpers import data
from helpers.layer_coupling import (
    input_move,
    layer_of,
    perturb_early_layers,
    step_early_layers,
)
from helpers.network import MLP


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X, _, _, _ = data.normalize_inputs(d.X[:200])
    return X, d.y[:200]


def test_layer_of():
    assert layer_of("W2") == 2 and layer_of("gamma10") == 10 and layer_of("running_mean3") == 3
    with pytest.raises(ValueError, match="layer number"):
        layer_of("W")


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_a_step_of_the_early_layers_moves_them_alone(norm, digits):
    X, y = digits
    net = MLP((64, 8, 8, 8, 10), activation="tanh", norm=norm)
    params, state = net.init(seed=1)
    moved = step_early_layers(net, params, state, X, y, upto=2, learning_rate=0.5)
    _, grads, _ = net.loss_and_grads(params, state, X, y)
    for name, value in params.items():
        if name[-1] in "12":
            np.testing.assert_allclose(moved[name], value - 0.5 * grads[name])
            assert not np.allclose(moved[name], value) or not np.any(grads[name])
        else:
            np.testing.assert_array_equal(moved[name], value)
    assert params["W1"] is not moved["W1"]  # the input is not modified in place


def test_a_random_nudge_has_the_requested_relative_size(digits):
    net = MLP((64, 40, 40, 10), activation="relu", norm="none")
    params, _ = net.init(seed=0)
    moved = perturb_early_layers(net, params, upto=1, size=0.1, seed=3)
    change = moved["W1"] - params["W1"]
    assert change.std() == pytest.approx(0.1 * params["W1"].std(), rel=0.05)
    np.testing.assert_array_equal(moved["W2"], params["W2"])
    np.testing.assert_array_equal(moved["b1"], params["b1"])
    again = perturb_early_layers(net, params, upto=1, size=0.1, seed=3)
    np.testing.assert_array_equal(again["W1"], moved["W1"])  # seeded
    # with the init's own seed the nudge is still a new direction, not a rescaling of W1
    same_seed = perturb_early_layers(net, params, upto=1, size=0.1, seed=0)["W1"] - params["W1"]
    assert abs(np.corrcoef(same_seed.ravel(), params["W1"].ravel())[0, 1]) < 0.2


def test_input_move_follows_its_definition(digits):
    X, _ = digits
    net = MLP((64, 6, 5, 10), activation="relu", norm="none")
    params, state = net.init(seed=2)
    moved = dict(params, W1=params["W1"] * 1.5, b1=params["b1"] + 0.2)
    m = input_move(net, params, moved, state, X, layer=2)
    a0 = np.maximum(X @ params["W1"] + params["b1"], 0)
    a1 = np.maximum(X @ moved["W1"] + moved["b1"], 0)
    z0, z1 = a0 @ params["W2"] + params["b2"], a1 @ params["W2"] + params["b2"]
    s0 = z0.std(axis=0)
    assert m.mean_shift == pytest.approx(np.mean(np.abs(z1.mean(0) - z0.mean(0)) / s0))
    assert m.std_change == pytest.approx(np.mean(np.abs(z1.std(0) / s0 - 1)))
    assert m.example_move == pytest.approx(np.sqrt(np.mean(((z1 - z0) / s0) ** 2)))
    assert m.mean_shift > 0.01


def test_with_bn_the_later_layers_mean_and_std_stay_but_examples_move(digits):
    X, _ = digits
    net = MLP((64, 16, 16, 10), activation="relu", norm="batch")
    params, state = net.init(seed=0)
    params = dict(params, gamma2=np.full(16, 1.7), beta2=np.full(16, -0.3))
    moved = perturb_early_layers(net, params, upto=1, size=0.5, seed=0)
    m = input_move(net, params, moved, state, X, layer=2)
    assert m.mean_shift < 1e-6 and m.std_change < 1e-4
    assert m.example_move > 0.05


def test_errors_name_the_argument(digits):
    X, y = digits
    net = MLP((64, 8, 8, 10), activation="relu", norm="none")
    params, state = net.init(seed=0)
    with pytest.raises(ValueError, match="upto"):
        step_early_layers(net, params, state, X, y, upto=3, learning_rate=0.1)
    with pytest.raises(ValueError, match="size"):
        perturb_early_layers(net, params, upto=1, size=-1.0)
    with pytest.raises(ValueError, match="layer"):
        input_move(net, params, params, state, X, layer=0)
    with pytest.raises(ValueError, match="constant"):
        input_move(net, params, params, state, np.ones((5, 64)), layer=1)
