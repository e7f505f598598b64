"""A multi-layer perceptron with optional batch normalization, and a training loop.

The lecture's network, layer by layer (l = 1 .. L-1 hidden, layer L the output):

    bn="before" (the lecture's placement):  z = a[l-1] @ W (no b),  z~ = BN(z),  a = g(z~)
    bn="after"  (normalize the activation): z = a[l-1] @ W + b,     a = g(z),    a~ = BN(a)
    bn=None     (no batch norm):            z = a[l-1] @ W + b,     a = g(z)
    output layer L:                         logits = a[L-1] @ W[L] + b[L]
    loss:                                   mean softmax cross-entropy of the logits

Under bn="before" the hidden layers have no bias b: BN subtracts the batch mean, which cancels
any constant added to z, so b could never change the output (its gradient is 0); beta takes
its role. Under bn="after", b sits before g and matters, so it stays.

Parameters live in one dict with the lecture's names, numbered by layer: "W1", "b1",
"gamma1", "beta1", ..., "W{L}", "b{L}". Shapes (examples along axis 0, as in TensorFlow):
W{l} (n[l-1], n[l]); b{l}, gamma{l}, beta{l} (n[l],). The BN running statistics used at test
time are not learned by gradient descent, so they live in a separate dict `state` with
"running_mean{l}", "running_var{l}" (n[l],).

The architecture is a small frozen dataclass, MLP; its methods are pure functions of their
arguments (nothing is modified in place):

    net = MLP((64, 32, 32, 10), activation="relu", bn="before")
    params, state = net.init(seed=0)
    logits, state, cache = net.forward(params, state, X, training=True)
    grads = net.backward(dlogits, cache)
    loss, grads, state = net.loss_and_grads(params, state, X, y)
    params, state, history = train(net, params, state, X, y, Adam(), epochs=5)
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from helpers.batchnorm import (
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.data import minibatches
from helpers.layers import ACTIVATIONS, dense_backward, dense_forward, softmax_cross_entropy

__all__ = [
    "BN_MODES",
    "INITS",
    "MLP",
    "reestimate_bn_stats",
    "smoothness_probe",
    "train",
    "trainable_width",
]

BN_MODES = (None, "before", "after")
INITS = ("auto", "he", "glorot")
PERCENTILES = (15, 50, 85)  # what Ioffe & Szegedy (2015), Fig. 1 plots over training


@dataclass(frozen=True)
class MLP:
    """The architecture of a multi-layer perceptron (no numbers to learn: those are `params`).

    layer_sizes: (n_x, n[1], ..., n[L-1], n_classes): input features, hidden units per layer,
                 classes. Two entries give softmax regression (no hidden layer).
    activation:  g of the hidden layers: "relu", "tanh" or "sigmoid".
    bn:          "before" (normalize z, then g), "after" (normalize g(z)) or None.
    momentum:    weight of the old value in the running averages of the batch mean and variance
                 (the lecture's beta; the same meaning as Keras' BatchNormalization momentum).
    eps:         added to the variance inside the square root (ours 1e-5, Keras' default 1e-3).
    """

    layer_sizes: tuple
    activation: str = "relu"
    bn: str | None = "before"
    momentum: float = 0.9
    eps: float = 1e-5

    def __post_init__(self):
        sizes = self.layer_sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(
                f"layer_sizes must be a tuple of ints (n_x, n[1], ..., n_classes); got {sizes!r}."
            )
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(
                f"layer_sizes needs at least 2 entries (input features and classes); got {sizes!r}."
            )
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
                raise ValueError(f"layer_sizes must hold positive ints; got {n!r} in {sizes!r}.")
        if sizes[-1] < 2:
            raise ValueError(
                f"the last layer size is the number of classes, at least 2; got {sizes!r}."
            )
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in sizes))
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}."
            )
        if self.bn not in BN_MODES:
            raise ValueError(f"bn must be one of {BN_MODES}; got {self.bn!r}.")
        m = self.momentum
        if isinstance(m, bool) or not isinstance(m, numbers.Real) or not 0 <= m <= 1:
            raise ValueError(f"momentum must be a number in [0, 1], e.g. 0.9; got {m!r}.")
        e = self.eps
        if (
            isinstance(e, bool)
            or not isinstance(e, numbers.Real)
            or not (math.isfinite(e) and e > 0)
        ):
            raise ValueError(f"eps must be a positive finite number, e.g. 1e-5; got {e!r}.")

    # ------------------------------------------------------------------------- shapes
    @property
    def L(self):
        """Number of dense layers (hidden layers + the output layer)."""
        return len(self.layer_sizes) - 1

    @property
    def hidden(self):
        """The hidden layers' numbers, 1 .. L-1."""
        return range(1, self.L)

    def param_shapes(self):
        """{name: shape} of every learned parameter, in layer order."""
        shapes = {}
        for l in range(1, self.L + 1):
            n_in, n_out = self.layer_sizes[l - 1], self.layer_sizes[l]
            shapes[f"W{l}"] = (n_in, n_out)
            if l == self.L or self.bn != "before":  # b is redundant right before BN
                shapes[f"b{l}"] = (n_out,)
            if l < self.L and self.bn is not None:
                shapes[f"gamma{l}"] = (n_out,)
                shapes[f"beta{l}"] = (n_out,)
        return shapes

    def state_shapes(self):
        """{name: shape} of the running statistics (empty without BN)."""
        if self.bn is None:
            return {}
        shapes = {}
        for l in self.hidden:
            shapes[f"running_mean{l}"] = shapes[f"running_var{l}"] = (self.layer_sizes[l],)
        return shapes

    # ------------------------------------------------------------------------- init
    def init(self, seed=0, init="auto", init_scale=1.0, dtype=np.float64):
        """Random W, zero b and beta, unit gamma; running mean 0 and variance 1 (as Keras).

        init: "he" draws W{l} ~ N(0, 2 / n[l-1]) (keeps the variance of relu layers steady),
              "glorot" N(0, 2 / (n[l-1] + n[l])) (for tanh / sigmoid), "auto" picks "he" for
              relu and "glorot" otherwise. The output layer, which feeds softmax rather than g,
              always uses "glorot".
        init_scale: multiplies every W (for init-scale sweeps).
        Returns (params, state), dicts of arrays of `dtype`; the same seed gives the same arrays.
        """
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {init!r}.")
        if (
            isinstance(init_scale, bool)
            or not isinstance(init_scale, numbers.Real)
            or not (math.isfinite(init_scale) and init_scale > 0)
        ):
            raise ValueError(f"init_scale must be a positive finite number; got {init_scale!r}.")
        if init == "auto":
            init = "he" if self.activation == "relu" else "glorot"
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in self.param_shapes().items():
            if name.startswith("W"):
                n_in, n_out = shape
                hidden = int(name[1:]) < self.L
                var = 2 / n_in if (init == "he" and hidden) else 2 / (n_in + n_out)
                params[name] = (init_scale * math.sqrt(var) * rng.standard_normal(shape)).astype(
                    dtype
                )
            elif name.startswith("gamma"):
                params[name] = np.ones(shape, dtype)
            else:  # b, beta
                params[name] = np.zeros(shape, dtype)
        state = {
            name: (np.zeros if name.startswith("running_mean") else np.ones)(shape, dtype)
            for name, shape in self.state_shapes().items()
        }
        return params, state

    # ------------------------------------------------------------------------- checks
    def _check(self, params, state, X):
        for what, given, shapes in (
            ("params", params, self.param_shapes()),
            ("state", state, self.state_shapes()),
        ):
            if not isinstance(given, dict):
                raise TypeError(
                    f"{what} must be a dict of arrays (from MLP.init); got {type(given).__name__}."
                )
            if set(given) != set(shapes):
                raise ValueError(
                    f"{what} does not fit this network ({self.layer_sizes}, bn={self.bn!r}): "
                    f"missing {sorted(set(shapes) - set(given))}, "
                    f"unexpected {sorted(set(given) - set(shapes))}."
                )
            for name, shape in shapes.items():
                if np.shape(given[name]) != shape:
                    raise ValueError(
                        f"{what}[{name!r}] must have shape {shape}; got {np.shape(given[name])}."
                    )
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have shape (m, {self.layer_sizes[0]}), one example per row with "
                f"{self.layer_sizes[0]} features; got shape {X.shape}."
            )
        if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
            raise TypeError(f"X must hold numbers; got dtype {X.dtype}.")
        return X.astype(params["W1"].dtype, copy=False)

    # ------------------------------------------------------------------------- forward
    def _batchnorm(self, x, params, state, new_state, l, training):
        """BN of layer l. Training: batch statistics, and the running averages are updated."""
        gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
        mean_key, var_key = f"running_mean{l}", f"running_var{l}"
        if not training:
            out = batchnorm_inference(x, gamma, beta, state[mean_key], state[var_key], self.eps)
            return out, None
        out, cache = batchnorm_forward(x, gamma, beta, self.eps)
        new_state[mean_key], new_state[var_key] = update_running_stats(
            state[mean_key], state[var_key], cache["mu"], cache["var"], self.momentum
        )
        return out, cache

    def forward(self, params, state, X, training):
        """Logits of the network for the examples X.

        Inputs:
          params, state: dicts from init (or training).
          X: (m, n_x). m may be 1 when training=False.
          training: True normalizes with this batch's mean and variance (and needs m >= 2 with
                    BN); False normalizes with the running statistics, so each example's output
                    depends on that example alone.
        Returns:
          logits: (m, n_classes).
          new_state: the running statistics updated with this batch (training), else `state`.
          cache: what backward needs; cache["layers"][l-1]["g_input"] is the input of g in
                 hidden layer l, shape (m, n[l]) (z~ under bn="before", else z).
        """
        training = bool(training)
        a = self._check(params, state, X)
        g_forward = ACTIVATIONS[self.activation][0]
        new_state = dict(state)
        layers = []
        for l in self.hidden:
            layer = {}
            z, layer["dense"] = dense_forward(a, params[f"W{l}"], params.get(f"b{l}"))
            if self.bn == "before":
                z, layer["bn"] = self._batchnorm(z, params, state, new_state, l, training)
            layer["g_input"] = z
            a, layer["g"] = g_forward(z)
            if self.bn == "after":
                a, layer["bn"] = self._batchnorm(a, params, state, new_state, l, training)
            layers.append(layer)
        logits, out_cache = dense_forward(a, params[f"W{self.L}"], params[f"b{self.L}"])
        cache = {"layers": layers, "out": out_cache, "training": training}
        return logits, new_state, cache

    # ------------------------------------------------------------------------- backward
    def backward(self, dlogits, cache):
        """Gradients of the loss with respect to every parameter.

        Inputs:  dlogits (m, n_classes), dL/dlogits; cache from forward.
        Returns: grads, a dict with the keys and shapes of params ("W1" -> dL/dW1, ...).
        With BN the cache must come from training mode: the gradient of BN flows through the
        batch mean and variance, which inference mode does not use.
        """
        if not isinstance(cache, dict) or "layers" not in cache:
            raise TypeError("cache must be the dict returned by MLP.forward.")
        if self.bn is not None and not cache["training"]:
            raise ValueError(
                "backward needs a cache from forward(..., training=True) when the network has "
                "batch norm; inference mode uses fixed running statistics instead of the batch's."
            )
        g_backward = ACTIVATIONS[self.activation][1]
        grads = {}
        L = self.L
        da, grads[f"W{L}"], grads[f"b{L}"] = dense_backward(dlogits, cache["out"])
        for l in reversed(self.hidden):
            layer = cache["layers"][l - 1]
            if self.bn == "after":
                da, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward(da, layer["bn"])
            dz = g_backward(da, layer["g"])
            if self.bn == "before":
                dz, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward(dz, layer["bn"])
            da, grads[f"W{l}"], db = dense_backward(dz, layer["dense"])
            if db is not None:
                grads[f"b{l}"] = db
        return grads

    # ------------------------------------------------------------------------- helpers
    def loss_and_grads(self, params, state, X, y):
        """One training-mode pass: (loss, grads, new_state) for the batch X (m, n_x), y (m,)."""
        logits, new_state, cache = self.forward(params, state, X, training=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        return loss, self.backward(dlogits, cache), new_state

    def loss(self, params, state, X, y, training=False):
        """Mean cross-entropy on X, y (inference mode by default: running statistics)."""
        logits, _, _ = self.forward(params, state, X, training)
        return softmax_cross_entropy(logits, y)[0]

    def predict(self, params, state, X):
        """Predicted class of each row of X, shape (m,), in inference mode."""
        logits, _, _ = self.forward(params, state, X, training=False)
        return logits.argmax(axis=1)

    def accuracy(self, params, state, X, y):
        """Fraction of rows of X whose predicted class is y, in inference mode."""
        return float(np.mean(self.predict(params, state, X) == np.asarray(y)))


# ----------------------------------------------------------------------------- training
def _unit_percentiles(net, cache, unit):
    """{l: (15th, 50th, 85th percentile)} of the input of g of `unit` in each hidden layer."""
    return {
        l: np.percentile(cache["layers"][l - 1]["g_input"][:, unit], PERCENTILES)
        for l in net.hidden
    }


def train(
    net,
    params,
    state,
    X,
    y,
    optimizer,
    *,
    epochs=5,
    batch_size=64,
    seed=0,
    X_val=None,
    y_val=None,
    drop_last=False,
    record_every=0,
    record_unit=0,
    X_probe=None,
    bn_noise=0.0,
):
    """Train with mini-batch gradient steps; return (params, state, history).

    Inputs:
      net: an MLP; params, state: its parameters and running statistics (from net.init).
      X (m, n_x), y (m,) integer labels: the training set.
      optimizer: GradientDescent, Momentum, RMSprop or Adam from helpers.optimizers.
      epochs, batch_size: each epoch visits every example once, in an order drawn from
          np.random.default_rng(seed), so the same seed gives bit-identical runs.
      X_val, y_val: optional validation set, scored after every epoch.
      drop_last: skip the last, smaller batch (with BN a last batch of one example fails).
      record_every: if k > 0, every k steps record the 15/50/85th percentiles of the input of g
          (z~ under bn="before", else z) of unit `record_unit` in every hidden layer, as in
          Ioffe & Szegedy (2015), Fig. 1; measured on X_probe in training mode if given (the
          same examples every time), else on the current mini-batch.
      bn_noise: if s > 0 ("noisy BN", Santurkar et al. 2018), every step multiplies each BN
          unit's output by a random scale exp(s / 2 * N(0, 1)) and adds a random shift
          s * N(0, 1), drawn afresh per unit and per step (from a generator seeded by `seed`,
          separate from the batch order): the distribution the next layer sees jumps at every
          step. Gradients follow the noisy forward pass; inference and the running statistics
          are noise-free.
    Returns:
      params, state: after training (new dicts; the inputs are not modified).
      history: dict of arrays
        "step_loss" (steps,): the training-mode loss of each mini-batch, before its update;
        "loss" (epochs,): the mean of step_loss over each epoch (what Keras' fit reports);
        "train_acc", "val_acc" (epochs,): inference-mode accuracy after each epoch (val_acc
            only with X_val);
        "record_step" (records,), "percentiles" {l: (records, 3)}: only with record_every.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}.")
    if (
        isinstance(record_every, bool)
        or not isinstance(record_every, numbers.Integral)
        or record_every < 0
    ):
        raise ValueError(
            f"record_every must be an int >= 0 (0: do not record); got {record_every!r}."
        )
    if record_every and net.L < 2:
        raise ValueError("record_every needs a network with at least one hidden layer.")
    if record_every and not 0 <= record_unit < min(net.layer_sizes[1:-1]):
        raise ValueError(
            f"record_unit must be a unit index present in every hidden layer, "
            f"0..{min(net.layer_sizes[1:-1]) - 1}; got {record_unit!r}."
        )
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither.")

    if isinstance(bn_noise, bool) or not isinstance(bn_noise, numbers.Real) or not (
        math.isfinite(bn_noise) and bn_noise >= 0
    ):
        raise ValueError(f"bn_noise must be a number >= 0 (0: no noise); got {bn_noise!r}.")
    if bn_noise and net.bn is None:
        raise ValueError("bn_noise needs a network with batch norm (bn='before' or 'after').")

    rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng([seed, 1])  # apart from rng: the same batches as without
    opt_state = optimizer.init_state(params)
    history = {"step_loss": [], "loss": [], "train_acc": []}
    if X_val is not None:
        history["val_acc"] = []
    records = {"record_step": [], "percentiles": {l: [] for l in net.hidden}}
    step = 0
    for _ in range(epochs):
        epoch_losses = []
        # Passing the same Generator every epoch gives a new, reproducible order each epoch.
        for X_batch, y_batch in minibatches(X, y, batch_size, seed=rng, drop_last=drop_last):
            noise = _bn_noise(net, params, noise_rng, bn_noise) if bn_noise else None
            step_params = params if noise is None else _noisy_params(params, noise)
            logits, new_state, cache = net.forward(step_params, state, X_batch, training=True)
            loss, dlogits = softmax_cross_entropy(logits, y_batch)
            if record_every and step % record_every == 0:
                if X_probe is not None:
                    _, _, cache_probe = net.forward(params, state, X_probe, training=True)
                else:
                    cache_probe = cache
                records["record_step"].append(step)
                for l, p in _unit_percentiles(net, cache_probe, record_unit).items():
                    records["percentiles"][l].append(p)
            grads = net.backward(dlogits, cache)
            if noise is not None:
                grads = _noisy_grads(grads, noise)
            params, opt_state = optimizer.step(params, grads, opt_state)
            state = new_state
            epoch_losses.append(loss)
            step += 1
        history["step_loss"].extend(epoch_losses)
        history["loss"].append(float(np.mean(epoch_losses)))
        history["train_acc"].append(net.accuracy(params, state, X, y))
        if X_val is not None:
            history["val_acc"].append(net.accuracy(params, state, X_val, y_val))

    history = {k: np.asarray(v) for k, v in history.items()}
    if record_every:
        history["record_step"] = np.asarray(records["record_step"])
        history["percentiles"] = {
            l: np.asarray(p).reshape(-1, len(PERCENTILES))
            for l, p in records["percentiles"].items()
        }
    return params, state, history


# ----------------------------------------------------------------------------- noisy BN
# Noise after BN, scale s and shift t per unit: s * (gamma * z_norm + beta) + t is BN with
# gamma' = s * gamma and beta' = s * beta + t, so the noisy pass is the plain forward with
# those parameters, and by the chain rule dL/dgamma = s * dL/dgamma', dL/dbeta = s * dL/dbeta'.
def _bn_noise(net, params, rng, strength):
    """{l: (scale, shift)} for every BN layer, each (n[l],), drawn from rng."""
    noise = {}
    for l in net.hidden:
        n = params[f"gamma{l}"].shape
        noise[l] = (np.exp(strength / 2 * rng.standard_normal(n)), strength * rng.standard_normal(n))
    return noise


def _noisy_params(params, noise):
    noisy = dict(params)
    for l, (scale, shift) in noise.items():
        noisy[f"gamma{l}"] = (scale * params[f"gamma{l}"]).astype(params[f"gamma{l}"].dtype)
        noisy[f"beta{l}"] = (scale * params[f"beta{l}"] + shift).astype(params[f"beta{l}"].dtype)
    return noisy


def _noisy_grads(grads, noise):
    grads = dict(grads)
    for l, (scale, _) in noise.items():
        for name in (f"gamma{l}", f"beta{l}"):
            grads[name] = (scale * grads[name]).astype(grads[name].dtype)
    return grads


# ----------------------------------------------------------------------------- analysis
def reestimate_bn_stats(net, params, state, X):
    """Running statistics re-estimated on new inputs X (m, n_x), without any training.

    One training-mode pass over all of X, layer by layer: each BN layer's mean and (biased)
    variance on X, computed with the layers before it already normalized by X's statistics,
    replaces its running mean and variance (the idea of "AdaBN", Li et al. 2016: when the input
    distribution shifts, e.g. a new camera, adapt the statistics and keep every learned weight).
    X needs no labels. Returns the new state; params and state are not modified.
    """
    if net.bn is None:
        raise ValueError("reestimate_bn_stats needs a network with batch norm; this one has bn=None.")
    _, _, cache = net.forward(params, state, X, training=True)
    new_state = dict(state)
    for l in net.hidden:
        bn = cache["layers"][l - 1]["bn"]
        dtype = state[f"running_mean{l}"].dtype
        new_state[f"running_mean{l}"] = bn["mu"].astype(dtype)
        new_state[f"running_var{l}"] = bn["var"].astype(dtype)
    return new_state


def _flat_norm(grads):
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))


def smoothness_probe(net, params, state, X, y, step_sizes):
    """How much the loss and the gradient change along one gradient step (Santurkar et al. 2018).

    From params, take the gradient g of the training-mode loss on the batch X, y, and move to
    params - eta * g for each eta in step_sizes. Returns a dict:
      "loss0": the loss at params; "loss" (k,): the loss at each point; "loss_range": max - min of it and the start's loss;
      "grad_change" (k,): ||g(params - eta g) - g|| (all parameters as one vector);
      "grad_norm": ||g||; "smoothness": max over eta of ||g' - g|| / (eta ||g||), an "effective
          beta-smoothness": small means the gradient stays predictive along the step.
    """
    step_sizes = np.asarray(step_sizes, dtype=np.float64)
    if step_sizes.ndim != 1 or step_sizes.size == 0 or not np.all(step_sizes > 0):
        raise ValueError(f"step_sizes must be a 1-D array of positive numbers; got {step_sizes!r}.")
    loss0, g0, _ = net.loss_and_grads(params, state, X, y)
    norm0 = _flat_norm(g0)
    losses, changes = [], []
    for eta in step_sizes:
        moved = {k: params[k] - eta * g0[k] for k in params}
        loss, g, _ = net.loss_and_grads(moved, state, X, y)
        losses.append(loss)
        changes.append(_flat_norm({k: g[k] - g0[k] for k in g}))
    losses, changes = np.asarray(losses), np.asarray(changes)
    all_losses = np.r_[loss0, losses]
    return {
        "loss0": float(loss0),
        "loss": losses,
        "loss_range": float(all_losses.max() - all_losses.min()),
        "grad_change": changes,
        "grad_norm": norm0,
        "smoothness": float(np.max(changes / (step_sizes * max(norm0, 1e-300)))),
    }


def trainable_width(grid, scores, target):
    """Width, in decades, of the hyperparameter range whose runs reach `target`.

    grid: (k,) positive hyperparameter values (e.g. learning rates on a log grid); scores: (k,)
    the score each run reached (e.g. test accuracy). Returns log10(largest / smallest) grid value
    whose score is >= target: 0.0 when only one value (or none) reaches it. A gap inside the
    range is not subtracted.
    """
    grid = np.asarray(grid, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if grid.ndim != 1 or grid.shape != scores.shape or not np.all(grid > 0):
        raise ValueError(
            f"grid and scores must be 1-D of the same length, grid positive; got shapes "
            f"{grid.shape} and {scores.shape}."
        )
    good = grid[scores >= target]
    return float(np.log10(good.max() / good.min())) if good.size else 0.0
