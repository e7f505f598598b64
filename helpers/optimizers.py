"""Gradient descent, momentum, RMSprop and Adam, in the lecture's notation.

Every optimizer updates a dict of named parameter arrays ("W1", "b1", "gamma1", "beta1", ...)
from a dict of gradients with the same names ("W1" -> dL/dW1, ...). BN's gamma and beta are
learned exactly like W and b: the optimizer does not know which is which.

For one parameter W with gradient dW, step t = 1, 2, ... (all operations elementwise):

    gradient descent:  W -= alpha * dW
    momentum:          v = beta * v + (1 - beta) * dW
                       W -= alpha * v
    RMSprop:           s = beta2 * s + (1 - beta2) * dW**2
                       W -= alpha * dW / (sqrt(s) + epsilon)
    Adam:              v = beta1 * v + (1 - beta1) * dW          (momentum's average)
                       s = beta2 * s + (1 - beta2) * dW**2       (RMSprop's average)
                       v_hat = v / (1 - beta1**t)                (bias correction: v and s start
                       s_hat = s / (1 - beta2**t)                 at 0: early averages too small)
                       W -= alpha * v_hat / (sqrt(s_hat) + epsilon)

v and s start at 0. alpha is `learning_rate`.

Not batch norm's beta: the betas here (Momentum's beta, Adam's beta1 and beta2, RMSprop's
beta2) are weights of exponentially weighted averages of gradients, hyperparameters you set.
Batch norm's beta is a learned shift, one per unit, stored in params as "beta1", "beta2", ...
(layer numbers, not Adam's beta1/beta2) and updated by these optimizers like any weight. The
weight of batch norm's running averages is a third, separate one: MLP(momentum=...).

Each optimizer is a small frozen dataclass holding its hyperparameters, with two pure methods:
    state = opt.init_state(params)
    params, state = opt.step(params, grads, state)
`step` returns new dicts and never modifies its inputs. The state counts the steps taken in
state["t"] (Adam's bias correction needs it).

Keras uses other conventions for some of these; they give the same updates only as stated:
- momentum: Keras' SGD(momentum=beta) keeps m = beta * m - lr * dW and adds m to W. Unrolled,
  that is ours with lr = alpha * (1 - beta): identical steps (our v is an average of the
  gradients, Keras' m a sum of past steps).
- RMSprop: Keras' rho is our beta2, but Keras puts epsilon inside the square root,
  dW / sqrt(s + epsilon); ours (the lecture's) adds it outside. Same steps as epsilon -> 0.
- Adam: Keras folds the bias correction into the learning rate,
  alpha * sqrt(1 - beta2**t) / (1 - beta1**t) * v / (sqrt(s) + epsilon), which is ours with an
  epsilon scaled by sqrt(1 - beta2**t). Same steps as epsilon -> 0.
- precision: Keras holds the learning rate in float32 and casts momentum and Adam's betas
  through float32, so even in float64 its steps differ from ours by ~1e-7 relative unless
  those values are exact in float32 (e.g. 0.125, 0.75, 1 - 2**-10).
- defaults: Keras' Adam and RMSprop use epsilon = 1e-7 and RMSprop rho = 0.9; we use the
  lecture's epsilon = 1e-8 (and beta2 = 0.9 for RMSprop, as Keras).
"""

from dataclasses import dataclass

import numpy as np

from helpers import validation

__all__ = ["GradientDescent", "Momentum", "RMSprop", "Adam", "OPTIMIZERS", "make_optimizer"]


# ----------------------------------------------------------------------------- checks
def _check_learning_rate(value):
    return validation.real(value, "learning_rate", low=0, example=0.01)


def _check_beta(value, name):
    # 1 would never learn from new gradients.
    return validation.fraction(value, name, high_open=True,
                               why="the weight of the old average; 1 would never learn")


def _check_epsilon(value):
    return validation.eps(value, "epsilon")


def _check_grads(params, grads):
    """grads must have exactly the keys of params, each with the shape of its parameter."""
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise TypeError(
            f"params and grads must be dicts of arrays keyed by name ('W1', 'gamma1', ...); "
            f"got {type(params).__name__} and {type(grads).__name__}."
        )
    if set(grads) != set(params):
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ValueError(
            f"grads must have the keys of params; missing {missing}, unexpected {extra}."
        )
    for name, p in params.items():
        g_shape, p_shape = np.shape(grads[name]), np.shape(p)
        if g_shape != p_shape:
            raise ValueError(
                f"grads[{name!r}] must have the shape of params[{name!r}], {p_shape}; "
                f"got {g_shape}."
            )


def _zeros_like(params):
    return {name: np.zeros_like(p) for name, p in params.items()}


def _check_state(state, keys):
    if not isinstance(state, dict) or not set(keys) <= set(state):
        raise TypeError(
            f"state must be the dict returned by init_state (with keys {sorted(keys)}); "
            f"got {state!r:.80}."
        )


# ----------------------------------------------------------------------------- optimizers
@dataclass(frozen=True)
class GradientDescent:
    """W -= alpha * dW, for every parameter. `learning_rate` is alpha."""

    learning_rate: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "learning_rate", _check_learning_rate(self.learning_rate))

    def init_state(self, params):
        """Plain gradient descent remembers nothing but the step count."""
        return {"t": 0}

    def step(self, params, grads, state):
        """One update. Returns (new params, new state); the inputs are left unchanged."""
        _check_grads(params, grads)
        _check_state(state, ["t"])
        new = {k: params[k] - self.learning_rate * grads[k] for k in params}
        return new, {"t": state["t"] + 1}


@dataclass(frozen=True)
class Momentum:
    """Gradient descent with momentum: step along v, an exponentially weighted average of dW.

    v = beta * v + (1 - beta) * dW;  W -= alpha * v.   Defaults: alpha = 0.01, beta = 0.9
    (an average over roughly the last 1 / (1 - beta) = 10 gradients).
    """

    learning_rate: float = 0.01
    beta: float = 0.9

    def __post_init__(self):
        object.__setattr__(self, "learning_rate", _check_learning_rate(self.learning_rate))
        object.__setattr__(self, "beta", _check_beta(self.beta, "beta"))

    def init_state(self, params):
        return {"t": 0, "v": _zeros_like(params)}

    def step(self, params, grads, state):
        _check_grads(params, grads)
        _check_state(state, ["t", "v"])
        a, b = self.learning_rate, self.beta
        v = {k: b * state["v"][k] + (1 - b) * grads[k] for k in params}
        new = {k: params[k] - a * v[k] for k in params}
        return new, {"t": state["t"] + 1, "v": v}


@dataclass(frozen=True)
class RMSprop:
    """Divide each step by a running root-mean-square of the gradient.

    s = beta2 * s + (1 - beta2) * dW**2;  W -= alpha * dW / (sqrt(s) + epsilon).
    Directions with large, oscillating gradients get small steps, flat ones larger steps.
    Defaults: alpha = 0.001, beta2 = 0.9 (Keras' rho), epsilon = 1e-8 (Keras: 1e-7, inside
    the square root).
    """

    learning_rate: float = 0.001
    beta2: float = 0.9
    epsilon: float = 1e-8

    def __post_init__(self):
        object.__setattr__(self, "learning_rate", _check_learning_rate(self.learning_rate))
        object.__setattr__(self, "beta2", _check_beta(self.beta2, "beta2"))
        object.__setattr__(self, "epsilon", _check_epsilon(self.epsilon))

    def init_state(self, params):
        return {"t": 0, "s": _zeros_like(params)}

    def step(self, params, grads, state):
        _check_grads(params, grads)
        _check_state(state, ["t", "s"])
        a, b2, eps = self.learning_rate, self.beta2, self.epsilon
        s = {k: b2 * state["s"][k] + (1 - b2) * np.square(grads[k]) for k in params}
        new = {k: params[k] - a * grads[k] / (np.sqrt(s[k]) + eps) for k in params}
        return new, {"t": state["t"] + 1, "s": s}


@dataclass(frozen=True)
class Adam:
    """Momentum and RMSprop together, with bias correction.

    v = beta1 * v + (1 - beta1) * dW;  s = beta2 * s + (1 - beta2) * dW**2;
    v_hat = v / (1 - beta1**t);  s_hat = s / (1 - beta2**t);
    W -= alpha * v_hat / (sqrt(s_hat) + epsilon).
    Defaults (Kingma & Ba, the lecture): alpha = 0.001, beta1 = 0.9, beta2 = 0.999,
    epsilon = 1e-8. Keras' default epsilon is 1e-7 and sits where it gets scaled by
    sqrt(1 - beta2**t) (see the module docstring).
    """

    learning_rate: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8

    def __post_init__(self):
        object.__setattr__(self, "learning_rate", _check_learning_rate(self.learning_rate))
        object.__setattr__(self, "beta1", _check_beta(self.beta1, "beta1"))
        object.__setattr__(self, "beta2", _check_beta(self.beta2, "beta2"))
        object.__setattr__(self, "epsilon", _check_epsilon(self.epsilon))

    def init_state(self, params):
        return {"t": 0, "v": _zeros_like(params), "s": _zeros_like(params)}

    def step(self, params, grads, state):
        _check_grads(params, grads)
        _check_state(state, ["t", "v", "s"])
        a, b1, b2, eps = self.learning_rate, self.beta1, self.beta2, self.epsilon
        t = state["t"] + 1
        v = {k: b1 * state["v"][k] + (1 - b1) * grads[k] for k in params}
        s = {k: b2 * state["s"][k] + (1 - b2) * np.square(grads[k]) for k in params}
        new = {}
        for k in params:
            v_hat = v[k] / (1 - b1**t)
            s_hat = s[k] / (1 - b2**t)
            new[k] = params[k] - a * v_hat / (np.sqrt(s_hat) + eps)
        return new, {"t": t, "v": v, "s": s}


OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def make_optimizer(name, **hyperparameters):
    """The optimizer called `name` ('gd', 'momentum', 'rmsprop' or 'adam'), e.g. for a menu.

    make_optimizer("adam", learning_rate=0.01) is Adam(learning_rate=0.01).
    """
    validation.choice(name, "name", OPTIMIZERS)
    return OPTIMIZERS[name](**hyperparameters)
