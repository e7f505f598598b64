"""Our NumPy MLP and the same network in Keras, with the same weights, compute the same numbers.

Everything runs in float64, so "the same" means agreement to rounding (1e-10 or better).
The Keras side of each comparison is written out here with tf.GradientTape and
keras.optimizers; helpers.tf_reference is used to build the model and copy the weights, and its
own loss/gradient/optimizer helpers are tested against the hand-written Keras code.
"""

import ast
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers.data import load_digits, normalize_inputs
from helpers.network import MLP
from helpers.optimizers import Adam, GradientDescent, Momentum, RMSprop
from helpers.tf_reference import (
    keras_loss_and_grads,
    keras_mlp,
    keras_optimizer,
    keras_variables,
    params_from_keras,
)

keras = tf.keras
TOL = 1e-10
# (norm, placement): no BN, BN before g (the lecture's), BN after g
CONFIGS = [("none", "before"), ("batch", "before"), ("batch", "after")]
IDS = ["no-bn", "bn-before", "bn-after"]


def case(norm, placement, activation, m=16, seed=0):
    net = MLP((6, 5, 4, 3), activation=activation, norm=norm, placement=placement, momentum=0.8)
    params, state = net.init(seed=seed)
    rng = np.random.default_rng(seed + 1)
    for k in params:  # b, gamma, beta away from 0 / 1, so a mix-up would show
        if not k.startswith("W"):
            params[k] = params[k] + rng.normal(scale=0.3, size=params[k].shape)
    for k in state:
        state[k] = state[k] + (
            rng.uniform(0.2, 1, state[k].shape) if "var" in k else rng.normal(size=state[k].shape)
        )
    X = rng.normal(size=(m, 6))
    y = rng.integers(0, 3, size=m)
    return net, params, state, X, y


def tape_loss_and_grads(model, X, y, training):
    """Keras' loss and gradients, written out: a float64 loss on the model's logits."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        logits = model(tf.constant(X), training=training)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    return loss.numpy(), grads, logits.numpy()


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def test_keras_model_has_the_lectures_layers():
    net = MLP((6, 5, 4, 3), activation="tanh", norm="batch", momentum=0.8, eps=1e-5)
    model = keras_mlp(net)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation"] * 2 + ["Dense"]
    assert [
        layer.use_bias for layer in model.layers if kinds[model.layers.index(layer)] == "Dense"
    ] == [False, False, True]
    bn = model.get_layer("bn1")
    assert (bn.momentum, bn.epsilon) == (0.8, 1e-5)  # passed explicitly: Keras' default eps is 1e-3
    after = [type(layer).__name__ for layer in keras_mlp(MLP((6, 5, 3), placement="after")).layers]
    assert after == ["Dense", "Activation", "BatchNormalization", "Dense"]


@pytest.mark.parametrize("norm, placement", CONFIGS, ids=IDS)
def test_weights_round_trip(norm, placement):
    net, params, state, _, _ = case(norm, placement, "relu")
    back_params, back_state = params_from_keras(net, keras_mlp(net, params, state))
    assert set(back_params) == set(params) and set(back_state) == set(state)
    for ours, theirs in ((params, back_params), (state, back_state)):
        for k in ours:
            np.testing.assert_array_equal(theirs[k], ours[k])


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("norm, placement", CONFIGS, ids=IDS)
def test_same_logits_loss_gradients_and_running_stats(norm, placement, activation):
    net, params, state, X, y = case(norm, placement, activation)
    model = keras_mlp(net, params, state)
    names = list(keras_variables(net, model)[0])  # our name of each trainable variable, in order
    assert len(names) == len(model.trainable_variables)

    # Inference mode first (it does not touch the running statistics).
    logits, _, _ = net.forward(params, state, X, training=False)
    k_loss, _, k_logits = tape_loss_and_grads(model, X, y, training=False)
    assert max_diff(logits, k_logits) < TOL
    assert abs(net.loss(params, state, X, y) - k_loss) < TOL

    # Training mode: batch statistics, gradients, and one update of the running statistics.
    loss, grads, new_state = net.loss_and_grads(params, state, X, y)
    k_loss, k_grads, k_logits = tape_loss_and_grads(model, X, y, training=True)
    assert abs(loss - k_loss) < TOL
    by_name = dict(zip(names, k_grads))
    assert set(by_name) == set(grads)
    for k in grads:
        assert max_diff(grads[k], by_name[k]) < TOL, k
    _, k_state = params_from_keras(net, model)
    for k in new_state:
        assert max_diff(new_state[k], k_state[k]) < TOL, k


def test_keras_loss_and_grads_helper_matches_the_tape():
    net, params, state, X, y = case("batch", "before", "tanh")
    loss, grads, logits = keras_loss_and_grads(
        net, keras_mlp(net, params, state), X, y, training=True
    )
    model = keras_mlp(net, params, state)
    k_loss, k_grads, k_logits = tape_loss_and_grads(model, X, y, training=True)
    assert loss == k_loss
    np.testing.assert_array_equal(logits, k_logits)
    for name, g in zip(keras_variables(net, model)[0], k_grads):
        np.testing.assert_array_equal(grads[name], g.numpy())


# ----------------------------------------------------------------------------- optimizer steps
@pytest.fixture(scope="module")
def digits_batches():
    d = load_digits()
    X, _, _, _ = normalize_inputs(d.X[:64])
    y = d.y[:64]
    return [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)] * 2  # 8 steps


# Keras keeps the learning rate in float32 and casts momentum / Adam's betas through float32:
# values exact in float32 (powers of two, 1 - 2**-k) make the comparison exact. Keras puts
# RMSprop's epsilon inside the square root and scales Adam's by sqrt(1 - beta2**t): with
# epsilon ~1e-150 its placement cannot matter (see helpers.optimizers).
OPTIMIZER_PAIRS = {
    "gd": (GradientDescent(learning_rate=2**-3), lambda: keras.optimizers.SGD(learning_rate=2**-3)),
    # Ours v = beta v + (1 - beta) g, W -= alpha v is Keras' SGD with lr = alpha (1 - beta).
    "momentum": (
        Momentum(learning_rate=0.5, beta=0.75),
        lambda: keras.optimizers.SGD(learning_rate=0.125, momentum=0.75),
    ),
    "rmsprop": (
        RMSprop(learning_rate=2**-8, beta2=0.9, epsilon=1e-150),
        lambda: keras.optimizers.RMSprop(learning_rate=2**-8, rho=0.9, epsilon=1e-300),
    ),
    "adam": (
        Adam(learning_rate=2**-8, beta1=1 - 2**-3, beta2=1 - 2**-10, epsilon=1e-150),
        lambda: keras.optimizers.Adam(
            learning_rate=2**-8, beta_1=1 - 2**-3, beta_2=1 - 2**-10, epsilon=1e-150
        ),
    ),
}


def run_both(net, ours_opt, keras_opt, batches, seed=0):
    """Train ours and Keras side by side on the same batches; per-step losses and final weights."""
    params, state = net.init(seed=seed)
    model = keras_mlp(net, params, state)
    opt_state = ours_opt.init_state(params)
    losses, k_losses = [], []
    for X, y in batches:
        loss, grads, state = net.loss_and_grads(params, state, X, y)
        params, opt_state = ours_opt.step(params, grads, opt_state)
        k_loss, k_grads, _ = tape_loss_and_grads(model, X, y, training=True)
        keras_opt.apply_gradients(zip(k_grads, model.trainable_variables))
        losses.append(loss)
        k_losses.append(float(k_loss))
    return (params, state, np.array(losses)), (*params_from_keras(net, model), np.array(k_losses))


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("name", list(OPTIMIZER_PAIRS))
def test_same_losses_over_the_first_optimizer_steps(name, norm, digits_batches):
    net = MLP((64, 12, 12, 10), activation="relu", norm=norm, momentum=0.9)
    ours_opt, make_keras_opt = OPTIMIZER_PAIRS[name]
    (params, state, losses), (k_params, k_state, k_losses) = run_both(
        net, ours_opt, make_keras_opt(), digits_batches
    )
    assert losses[-1] < losses[0]  # it learned something, so the comparison means something
    np.testing.assert_allclose(losses, k_losses, rtol=0, atol=TOL)
    for ours, theirs in ((params, k_params), (state, k_state)):
        for k in ours:
            assert max_diff(ours[k], theirs[k]) < TOL, k


@pytest.mark.parametrize("name", list(OPTIMIZER_PAIRS))
def test_keras_optimizer_translation(name, digits_batches):
    ours_opt, make_keras_opt = OPTIMIZER_PAIRS[name]
    translated = keras_optimizer(ours_opt)
    expected = make_keras_opt()
    assert type(translated) is type(expected)
    for attr in ("momentum", "rho", "beta_1", "beta_2", "epsilon"):
        assert getattr(translated, attr, None) == getattr(expected, attr, None), attr
    assert float(translated.learning_rate.numpy()) == float(expected.learning_rate.numpy())
    if name in ("gd", "momentum"):  # exact translations: the same steps on the network
        net = MLP((64, 12, 10), activation="tanh", placement="after")
        (_, _, losses), (_, _, k_losses) = run_both(net, ours_opt, translated, digits_batches[:4])
        np.testing.assert_allclose(losses, k_losses, rtol=0, atol=TOL)


def test_importing_tf_reference_does_not_import_tensorflow():
    # TensorFlow takes seconds to import: helpers.tf_reference imports it on first use only.
    code = (
        "import sys, helpers.tf_reference, helpers.network; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))); "
        "print(sorted(m for m in sys.modules if m.startswith('helpers.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    tf_modules, helpers_modules = out.stdout.splitlines()
    assert tf_modules == "[]"
    # Import floors: network and tf_reference rest on the lower floors only (no widgets,
    # explorers, checks or plots).
    lower = ("batchnorm", "data", "datasets", "layers", "normalization", "optimizers",
             "validation")
    imported = set(ast.literal_eval(helpers_modules))
    assert {"helpers.network", "helpers.tf_reference"} <= imported
    assert imported <= {f"helpers.{m}" for m in (*lower, "network", "tf_reference")}, imported


def test_only_batch_norm_networks_have_a_keras_twin():
    with pytest.raises(ValueError, match="norm='batch' or 'none'; got norm='layer'"):
        keras_mlp(MLP((6, 5, 3), norm="layer"))
