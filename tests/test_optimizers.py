"""helpers.optimizers against hand-written formulas and against keras.optimizers.

Expected values are computed here from the closed forms (an exponentially weighted average
unrolled into a sum), never by calling the code under test. Keras keeps its learning rate as a
float32 variable, so the Keras comparisons use learning rates that are powers of two (exact in
float32) and run in float64.
"""

import numpy as np
import pytest
import tensorflow as tf

from helpers.optimizers import OPTIMIZERS, Adam, GradientDescent, Momentum, RMSprop, make_optimizer

keras = tf.keras


def gradient_sequence(steps=4, seed=0):
    """A few steps of gradients for two named parameters, one matrix and one vector."""
    rng = np.random.default_rng(seed)
    return [{"W1": rng.normal(size=(3, 2)), "gamma1": rng.normal(size=(2,))} for _ in range(steps)]


def initial_params(seed=1):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(3, 2)), "gamma1": 1.0 + rng.normal(size=(2,))}


def run(optimizer, grads_seq, params=None):
    """Our optimizer fed the given gradients (not depending on params): params after each step."""
    params = initial_params() if params is None else params
    state = optimizer.init_state(params)
    out = []
    for grads in grads_seq:
        params, state = optimizer.step(params, grads, state)
        out.append(params)
    return out


def ewa(values, beta):
    """Exponentially weighted average started at 0, written as the unrolled sum
    (1 - beta) * sum_k beta**(t - k) * values[k]  (no recursion, unlike the code under test)."""
    t = len(values)
    return sum((1 - beta) * beta ** (t - 1 - k) * v for k, v in enumerate(values))


# ----------------------------------------------------------------------------- formulas
@pytest.mark.parametrize("name", ["W1", "gamma1"])
def test_gradient_descent_formula(name):
    grads = gradient_sequence()
    p0 = initial_params()
    after = run(GradientDescent(learning_rate=0.1), grads)
    for t in range(1, len(grads) + 1):
        expected = p0[name] - 0.1 * sum(g[name] for g in grads[:t])
        np.testing.assert_allclose(after[t - 1][name], expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["W1", "gamma1"])
def test_momentum_formula(name):
    alpha, beta = 0.05, 0.9
    grads = gradient_sequence()
    p0 = initial_params()
    after = run(Momentum(learning_rate=alpha, beta=beta), grads)
    expected = p0[name].copy()
    for t in range(1, len(grads) + 1):
        expected = expected - alpha * ewa([g[name] for g in grads[:t]], beta)
        np.testing.assert_allclose(after[t - 1][name], expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["W1", "gamma1"])
def test_rmsprop_formula(name):
    alpha, beta2, eps = 0.01, 0.9, 1e-8
    grads = gradient_sequence()
    p0 = initial_params()
    after = run(RMSprop(learning_rate=alpha, beta2=beta2, epsilon=eps), grads)
    expected = p0[name].copy()
    for t in range(1, len(grads) + 1):
        s = ewa([g[name] ** 2 for g in grads[:t]], beta2)
        expected = expected - alpha * grads[t - 1][name] / (np.sqrt(s) + eps)
        np.testing.assert_allclose(after[t - 1][name], expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["W1", "gamma1"])
def test_adam_formula_with_bias_correction(name):
    alpha, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    grads = gradient_sequence()
    p0 = initial_params()
    after = run(Adam(learning_rate=alpha, beta1=beta1, beta2=beta2, epsilon=eps), grads)
    expected = p0[name].copy()
    for t in range(1, len(grads) + 1):
        v_hat = ewa([g[name] for g in grads[:t]], beta1) / (1 - beta1**t)
        s_hat = ewa([g[name] ** 2 for g in grads[:t]], beta2) / (1 - beta2**t)
        expected = expected - alpha * v_hat / (np.sqrt(s_hat) + eps)
        np.testing.assert_allclose(after[t - 1][name], expected, rtol=1e-13, atol=1e-15)


def test_adam_first_step_is_alpha_times_sign():
    # Bias correction makes v_hat = g and s_hat = g**2 at t = 1: the step is alpha * g / |g|.
    grads = gradient_sequence(steps=1)
    p0 = initial_params()
    (after,) = run(Adam(learning_rate=0.01), grads)
    for name in p0:
        np.testing.assert_allclose(
            p0[name] - after[name], 0.01 * np.sign(grads[0][name]), rtol=1e-6
        )


def test_lecture_defaults():
    assert Momentum().beta == 0.9
    adam = Adam()
    assert (adam.learning_rate, adam.beta1, adam.beta2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-8)
    assert RMSprop().epsilon == 1e-8
    # Keras' Adam default epsilon differs; ours follows the lecture and Kingma & Ba.
    assert keras.optimizers.Adam().epsilon == 1e-7


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_is_pure(name):
    params, grads = initial_params(), gradient_sequence(1)[0]
    params_copy = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name)
    state = opt.init_state(params)
    new_params, new_state = opt.step(params, grads, state)
    for k in params:
        np.testing.assert_array_equal(params[k], params_copy[k])
        assert not np.array_equal(new_params[k], params[k])
    assert state["t"] == 0 and new_state["t"] == 1


# ----------------------------------------------------------------------------- Keras
def keras_run(keras_opt, grads_seq, params=None):
    """The same gradients fed to a Keras optimizer on float64 variables."""
    params = initial_params() if params is None else params
    names = sorted(params)
    variables = [keras.Variable(params[k], dtype="float64") for k in names]
    out = []
    for grads in grads_seq:
        keras_opt.apply_gradients([(tf.constant(grads[k]), v) for k, v in zip(names, variables)])
        out.append({k: v.numpy().copy() for k, v in zip(names, variables)})
    return out


def assert_runs_close(ours, theirs, rtol):
    for p_ours, p_theirs in zip(ours, theirs, strict=True):
        for k in p_ours:
            np.testing.assert_allclose(p_ours[k], p_theirs[k], rtol=rtol, atol=1e-15)


def test_gradient_descent_matches_keras_sgd():
    grads = gradient_sequence(5)
    ours = run(GradientDescent(learning_rate=0.125), grads)
    theirs = keras_run(keras.optimizers.SGD(learning_rate=0.125), grads)
    assert_runs_close(ours, theirs, rtol=1e-15)


def test_momentum_matches_keras_sgd_with_rescaled_learning_rate():
    """Keras: m = beta * m - lr * g; W += m. Ours: v = beta * v + (1 - beta) * g; W -= alpha * v.
    By induction m = -lr / (1 - beta) * v, so they take the same steps when lr = alpha * (1 - beta);
    with the same lr, Keras' steps are 1 / (1 - beta) = 10 times larger in the long run."""
    alpha, beta = 0.5, 0.75  # lr = 0.125 exactly
    grads = gradient_sequence(6)
    ours = run(Momentum(learning_rate=alpha, beta=beta), grads)
    theirs = keras_run(keras.optimizers.SGD(learning_rate=alpha * (1 - beta), momentum=beta), grads)
    assert_runs_close(ours, theirs, rtol=1e-14)
    # With beta = 0.9 only to float32 rounding: Keras holds lr in float32 and casts beta
    # through float32 too.
    ours = run(Momentum(learning_rate=0.01, beta=0.9), grads)
    theirs = keras_run(keras.optimizers.SGD(learning_rate=0.001, momentum=0.9), grads)
    assert_runs_close(ours, theirs, rtol=1e-7)


def test_rmsprop_matches_keras_when_epsilon_is_negligible():
    """Keras' rho is our beta2; Keras divides by sqrt(s + eps), we by sqrt(s) + eps. With
    eps = 1e-150 (ours) and 1e-300 (Keras' inside the root, sqrt = 1e-150) the placement cannot
    matter, and everything else must agree to rounding."""
    grads = gradient_sequence(6)
    ours = run(RMSprop(learning_rate=2**-6, beta2=0.9, epsilon=1e-150), grads)
    theirs = keras_run(
        keras.optimizers.RMSprop(learning_rate=2**-6, rho=0.9, epsilon=1e-300), grads
    )
    assert_runs_close(ours, theirs, rtol=1e-13)


def test_rmsprop_epsilon_placement_differs_from_keras():
    # A large epsilon makes the two conventions visible on the first step (s = (1 - rho) g**2).
    g = {"W1": np.array([[0.3]]), "gamma1": np.array([2.0])}
    p0 = {"W1": np.array([[1.0]]), "gamma1": np.array([1.0])}
    eps, rho, lr = 0.1, 0.9, 0.5
    (ours,) = run(RMSprop(learning_rate=lr, beta2=rho, epsilon=eps), [g], params=p0)
    (theirs,) = keras_run(
        keras.optimizers.RMSprop(learning_rate=lr, rho=rho, epsilon=eps), [g], params=p0
    )
    for k, dW in g.items():
        s = (1 - rho) * dW**2
        np.testing.assert_allclose(ours[k], p0[k] - lr * dW / (np.sqrt(s) + eps), rtol=1e-14)
        np.testing.assert_allclose(theirs[k], p0[k] - lr * dW / np.sqrt(s + eps), rtol=1e-14)
        assert abs(ours[k] - theirs[k]).max() > 1e-3


def test_adam_matches_keras_when_epsilon_is_negligible():
    """Keras folds the bias correction into the learning rate, which scales its epsilon by
    sqrt(1 - beta2**t); with a negligible epsilon both are the same bias-corrected Adam.
    Keras computes beta1**t and beta2**t from float32 copies of the betas (0.999 in float32 is
    off by 1e-8, which moves sqrt(1 - beta2) by ~6e-6 relative), so the betas here are exact in
    float32: 1 - 2**-3 and 1 - 2**-10."""
    beta1, beta2 = 1 - 2**-3, 1 - 2**-10
    grads = gradient_sequence(6)
    ours = run(Adam(learning_rate=2**-7, beta1=beta1, beta2=beta2, epsilon=1e-150), grads)
    theirs = keras_run(
        keras.optimizers.Adam(learning_rate=2**-7, beta_1=beta1, beta_2=beta2, epsilon=1e-150),
        grads,
    )
    assert_runs_close(ours, theirs, rtol=1e-13)


# ----------------------------------------------------------------------------- behaviour
@pytest.mark.parametrize(
    "optimizer, steps",
    [
        (GradientDescent(learning_rate=0.1), 300),
        (Momentum(learning_rate=0.1, beta=0.9), 300),
        (RMSprop(learning_rate=0.01), 1000),
        (Adam(learning_rate=0.05), 1000),
    ],
    ids=lambda o: type(o).__name__ if not isinstance(o, int) else str(o),
)
def test_converges_on_an_elongated_quadratic(optimizer, steps):
    # L = 1/2 sum(a * (W - c)**2): curvatures 1 and 10, an elongated bowl as in notebook 01.
    a = np.array([1.0, 10.0])
    c = np.array([2.0, -1.0])
    params = {"W1": np.array([-3.0, 4.0])}
    state = optimizer.init_state(params)
    for _ in range(steps):
        params, state = optimizer.step(params, {"W1": a * (params["W1"] - c)}, state)
    np.testing.assert_allclose(params["W1"], c, atol=2e-2)


@pytest.mark.parametrize(
    "make, arg, value",
    [
        (lambda v: GradientDescent(learning_rate=v), "learning_rate", 0.0),
        (lambda v: GradientDescent(learning_rate=v), "learning_rate", -0.1),
        (lambda v: Adam(learning_rate=v), "learning_rate", float("inf")),
        (lambda v: Adam(learning_rate=v), "learning_rate", float("nan")),
        (lambda v: Momentum(beta=v), "beta", 1.0),
        (lambda v: Momentum(beta=v), "beta", -0.1),
        (lambda v: RMSprop(beta2=v), "beta2", 1.5),
        (lambda v: Adam(beta1=v), "beta1", 1.0),
        (lambda v: Adam(beta2=v), "beta2", 1.0),
        (lambda v: Adam(epsilon=v), "epsilon", 0.0),
        (lambda v: RMSprop(epsilon=v), "epsilon", -1e-8),
    ],
)
def test_bad_hyperparameters_raise_naming_the_argument(make, arg, value):
    with pytest.raises(ValueError, match=arg) as info:
        make(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", ["0.1", None, True])
def test_hyperparameters_must_be_numbers(value):
    with pytest.raises(TypeError, match="learning_rate"):
        GradientDescent(learning_rate=value)


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="'adam'"):
        make_optimizer("adamw")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_grads_must_match_params(name):
    opt = make_optimizer(name)
    params = initial_params()
    state = opt.init_state(params)
    with pytest.raises(ValueError, match=r"missing \['gamma1'\]"):
        opt.step(params, {"W1": np.zeros((3, 2))}, state)
    with pytest.raises(ValueError, match=r"grads\['W1'\].*\(3, 2\).*\(2, 3\)"):
        opt.step(params, {"W1": np.zeros((2, 3)), "gamma1": np.zeros(2)}, state)
