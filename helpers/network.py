"""A multi-layer perceptron with a choice of normalization, and the loop that trains it.

The lecture's network, layer by layer (l = 1 .. L-1 hidden, layer L the output), with N the
normalizer (batch, layer or group norm, see NORMALIZERS) and g the activation:

    placement="before" (the lecture's):   z = a[l-1] @ W (no b),  z~ = N(z),  a = g(z~)
    placement="after"  (normalize g(z)):  z = a[l-1] @ W + b,     a = g(z),   a~ = N(a)
    norm="none":                          z = a[l-1] @ W + b,     a = g(z)
    output layer L:                       logits = a[L-1] @ W[L] + b[L]
    loss:                                 mean softmax cross-entropy of the logits

Under placement="before" the hidden layers have no bias b. Batch norm subtracts each unit's
batch mean, which cancels any constant added to z, so b could never change the output (its
gradient is 0); beta takes its role. Layer and group norm subtract a mean over one example's
units instead, which removes only the average of b; beta, which comes after, can still shift
each unit on its own, so b is left out there too (as is usual). Under placement="after", b sits
before g and matters, so it stays.

Parameters live in one dict with the lecture's names, numbered by layer: "W1", "b1",
"gamma1", "beta1", ..., "W{L}", "b{L}". Shapes (examples along axis 0, as in TensorFlow):
W{l} (n[l-1], n[l]); b{l}, gamma{l}, beta{l} (n[l],). Batch norm's running statistics, used at
test time, are not learned by gradient descent, so they live in a separate dict `state` with
"running_mean{l}", "running_var{l}" (n[l],). Layer and group norm compute the same thing in
training and at test time, so they have no state.

The architecture is a small frozen dataclass, MLP; its methods are pure functions of their
arguments (nothing is modified in place):

    net = MLP((64, 32, 32, 10), activation="relu", norm="batch")
    params, state = net.init(seed=0)
    logits, state, cache = net.forward(params, state, X, training=True)
    grads = net.backward(dlogits, cache)
    loss, grads, state = net.loss_and_grads(params, state, X, y)
    params, state, history = train(net, params, state, X, y, Adam(), epochs=5)

Measurements of training (notebook 06) are in helpers.probes; they watch `train` through its
`on_step` hook.
"""

import math
from dataclasses import dataclass

import numpy as np

from helpers import validation
from helpers.batchnorm import (
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.data import minibatches
from helpers.layers import ACTIVATIONS, dense_backward, dense_forward, softmax_cross_entropy
from helpers.normalization import (
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

__all__ = [
    "INITS",
    "MLP",
    "NORMALIZERS",
    "PLACEMENTS",
    "batch_norm_layer",
    "group_norm_layer",
    "layer_norm_layer",
    "train",
]

INITS = ("auto", "he", "glorot")
PLACEMENTS = ("before", "after")  # where N sits: on z, before g (the lecture's), or on g(z)


# ----------------------------------------------------------------------------- normalizers
# One normalization of one hidden layer, in one signature for all of them:
#     forward(x, gamma, beta, running, net, training) -> (x~, running, cache)
# x (m, n) is z or g(z); `running` is the layer's (running_mean, running_var) for batch norm and
# None for the others; net supplies eps, momentum and groups. The backward passes are the
# helpers' own: backward(dx~, cache) -> (dx, dgamma, dbeta).
def batch_norm_layer(x, gamma, beta, running, net, training):
    """Batch norm: the batch's statistics in training (the running ones move toward them),
    the running statistics at test time. cache is None at test time (no backward then)."""
    running_mean, running_var = running
    if not training:
        x_tilde = batchnorm_inference(x, gamma, beta, running_mean, running_var, net.eps)
        return x_tilde, running, None
    x_tilde, cache = batchnorm_forward(x, gamma, beta, net.eps)
    running = update_running_stats(running_mean, running_var, cache["mu"], cache["var"],
                                   net.momentum)
    return x_tilde, running, cache


def layer_norm_layer(x, gamma, beta, running, net, training):
    """Layer norm: each example's own mean and variance over its n units (no running state)."""
    x_tilde, cache = layernorm_forward(x, gamma, beta, net.eps)
    return x_tilde, running, cache


def group_norm_layer(x, gamma, beta, running, net, training):
    """Group norm: each example's statistics over groups of n / net.groups neighbouring units."""
    x_tilde, cache = groupnorm_forward(x, gamma, beta, net.groups, net.eps)
    return x_tilde, running, cache


NORMALIZERS = {
    "none": None,  # no normalization: z = a W + b, a = g(z), and no gamma, beta
    "batch": (batch_norm_layer, batchnorm_backward),
    "layer": (layer_norm_layer, layernorm_backward),
    "group": (group_norm_layer, groupnorm_backward),
}


# ----------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class MLP:
    """The architecture of a multi-layer perceptron (no numbers to learn: those are `params`).

    layer_sizes: (n_x, n[1], ..., n[L-1], n_classes): input features, hidden units per layer,
                 classes. Two entries give softmax regression (no hidden layer).
    activation:  g of the hidden layers: "relu", "tanh" or "sigmoid".
    norm:        the normalizer of the hidden layers: "batch", "layer", "group" or "none".
    placement:   "before" (normalize z, then g: the lecture's) or "after" (normalize g(z)).
    groups:      for norm="group", the number of groups; it must divide every hidden size.
    momentum:    batch norm: weight of the old value in the running averages of the batch
                 mean and variance (the lecture's beta; Keras' BatchNormalization momentum).
    eps:         added to the variance inside the square root (ours 1e-5, Keras' default 1e-3).
    """

    layer_sizes: tuple
    activation: str = "relu"
    norm: str = "batch"
    placement: str = "before"
    groups: int = 8
    momentum: float = 0.9
    eps: float = 1e-5

    def __post_init__(self):
        sizes = self.layer_sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(
                f"layer_sizes must be a tuple of ints (n_x, n[1], ..., n_classes); got {sizes!r}."
            )
        sizes = tuple(validation.integer(n, f"layer_sizes[{i}]") for i, n in enumerate(sizes))
        if len(sizes) < 2:
            raise ValueError(
                f"layer_sizes needs at least 2 entries (input features and classes); got {sizes!r}."
            )
        if sizes[-1] < 2:
            raise ValueError(
                f"the last layer size is the number of classes, at least 2; got {sizes!r}."
            )
        object.__setattr__(self, "layer_sizes", sizes)
        validation.choice(self.activation, "activation", ACTIVATIONS)
        validation.choice(self.norm, "norm", NORMALIZERS)
        validation.choice(self.placement, "placement", PLACEMENTS)
        groups = validation.integer(self.groups, "groups")
        if self.norm == "group" and any(n % groups for n in sizes[1:-1]):
            raise ValueError(
                f"groups must divide every hidden layer size {sizes[1:-1]}, so that each group "
                f"has n / groups units; got groups={groups}."
            )
        object.__setattr__(self, "momentum", validation.fraction(self.momentum, "momentum"))
        object.__setattr__(self, "eps", validation.eps(self.eps))

    # ------------------------------------------------------------------------- shapes
    @property
    def L(self):
        """Number of dense layers (hidden layers + the output layer)."""
        return len(self.layer_sizes) - 1

    @property
    def hidden(self):
        """The hidden layers' numbers, 1 .. L-1."""
        return range(1, self.L)

    @property
    def normalized(self):
        """Where the hidden layers are normalized: "before" g, "after" g, or None (norm="none")."""
        return None if self.norm == "none" else self.placement

    def param_shapes(self):
        """{name: shape} of every learned parameter, in layer order."""
        shapes = {}
        for l in range(1, self.L + 1):
            n_in, n_out = self.layer_sizes[l - 1], self.layer_sizes[l]
            shapes[f"W{l}"] = (n_in, n_out)
            if l == self.L or self.normalized != "before":  # no b right before a normalizer
                shapes[f"b{l}"] = (n_out,)
            if l < self.L and self.normalized:
                shapes[f"gamma{l}"] = (n_out,)
                shapes[f"beta{l}"] = (n_out,)
        return shapes

    def state_shapes(self):
        """{name: shape} of the running statistics (only batch norm has them)."""
        if self.norm != "batch":
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
        validation.choice(init, "init", INITS)
        init_scale = validation.real(init_scale, "init_scale", low=0, example="1.0")
        if init == "auto":
            init = "he" if self.activation == "relu" else "glorot"
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in self.param_shapes().items():
            if name.startswith("W"):
                n_in, n_out = shape
                hidden = int(name[1:]) < self.L
                var = 2 / n_in if (init == "he" and hidden) else 2 / (n_in + n_out)
                W = init_scale * math.sqrt(var) * rng.standard_normal(shape)
                params[name] = W.astype(dtype)
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
        """X as an array of the parameters' dtype, after checking params, state and X fit."""
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
                    f"{what} does not fit this network ({self.layer_sizes}, norm={self.norm!r}, "
                    f"placement={self.placement!r}): missing {sorted(set(shapes) - set(given))}, "
                    f"unexpected {sorted(set(given) - set(shapes))}."
                )
            for name, shape in shapes.items():
                if np.shape(given[name]) != shape:
                    raise ValueError(
                        f"{what}[{name!r}] must have shape {shape}; got {np.shape(given[name])}."
                    )
        X = validation.number_array(X, "X")
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have shape (m, {self.layer_sizes[0]}), one example per row with "
                f"{self.layer_sizes[0]} features; got shape {X.shape}."
            )
        return X.astype(params["W1"].dtype, copy=False)

    # ------------------------------------------------------------------------- forward
    def _normalize(self, x, params, state, new_state, l, training):
        """N(x) of hidden layer l; batch norm in training also writes its new running stats."""
        forward = NORMALIZERS[self.norm][0]
        running = None
        if self.norm == "batch":
            running = state[f"running_mean{l}"], state[f"running_var{l}"]
        x_tilde, running, cache = forward(
            x, params[f"gamma{l}"], params[f"beta{l}"], running, self, training
        )
        if self.norm == "batch":
            new_state[f"running_mean{l}"], new_state[f"running_var{l}"] = running
        return x_tilde, cache

    def forward(self, params, state, X, training):
        """Logits of the network for the examples X.

        Inputs:
          params, state: dicts from init (or training).
          X: (m, n_x). m may be 1 when training=False.
          training: batch norm: True normalizes with this batch's mean and variance (and needs
                    m >= 2); False with the running statistics, so each example's output
                    depends on that example alone. Layer and group norm ignore the flag.
        Returns:
          logits: (m, n_classes).
          new_state: the running statistics updated with this batch (training), else `state`.
          cache: what backward needs; cache["layers"][l-1]["g_input"] is the input of g in
                 hidden layer l, shape (m, n[l]) (z~ under placement="before", else z), and
                 cache["layers"][l-1]["norm"] the normalizer's cache (batch norm: "mu", "var").
        """
        training = bool(training)
        a = self._check(params, state, X)
        g_forward = ACTIVATIONS[self.activation][0]
        new_state = dict(state)
        layers = []
        for l in self.hidden:
            layer = {}
            z, layer["dense"] = dense_forward(a, params[f"W{l}"], params.get(f"b{l}"))
            if self.normalized == "before":
                z, layer["norm"] = self._normalize(z, params, state, new_state, l, training)
            layer["g_input"] = z
            a, layer["g"] = g_forward(z)
            if self.normalized == "after":
                a, layer["norm"] = self._normalize(a, params, state, new_state, l, training)
            layers.append(layer)
        logits, out_cache = dense_forward(a, params[f"W{self.L}"], params[f"b{self.L}"])
        cache = {"layers": layers, "out": out_cache, "training": training}
        return logits, new_state, cache

    # ------------------------------------------------------------------------- backward
    def backward(self, dlogits, cache):
        """Gradients of the loss with respect to every parameter.

        Inputs:  dlogits (m, n_classes), dL/dlogits; cache from forward.
        Returns: grads, a dict with the keys and shapes of params ("W1" -> dL/dW1, ...).
        With batch norm the cache must come from training mode: the gradient of BN flows
        through the batch mean and variance, which inference mode does not use.
        """
        if not isinstance(cache, dict) or "layers" not in cache:
            raise TypeError("cache must be the dict returned by MLP.forward.")
        if self.norm == "batch" and not cache["training"]:
            raise ValueError(
                "backward needs a cache from forward(..., training=True) when the network has "
                "batch norm; inference mode uses fixed running statistics instead of the batch's."
            )
        g_backward = ACTIVATIONS[self.activation][1]
        norm_backward = NORMALIZERS[self.norm][1] if self.normalized else None
        grads = {}
        L = self.L
        da, grads[f"W{L}"], grads[f"b{L}"] = dense_backward(dlogits, cache["out"])
        for l in reversed(self.hidden):
            layer = cache["layers"][l - 1]
            if self.normalized == "after":
                da, grads[f"gamma{l}"], grads[f"beta{l}"] = norm_backward(da, layer["norm"])
            dz = g_backward(da, layer["g"])
            if self.normalized == "before":
                dz, grads[f"gamma{l}"], grads[f"beta{l}"] = norm_backward(dz, layer["norm"])
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
def train(net, params, state, X, y, optimizer, *, epochs=5, batch_size=64, seed=0,
          X_val=None, y_val=None, drop_last=True, on_step=None):
    """Train with mini-batch gradient steps; return (params, state, history).

    Each step is the lecture's loop (notebook 04 writes it out): forward in training mode, every
    batch-norm layer normalizing with this mini-batch's mean and variance; backward; one
    optimizer step on W, gamma and beta alike; and the running averages (net.momentum) move
    toward this batch's mean and variance. Those running statistics are averages of noisy
    batch estimates taken while the weights were still changing, so they are not the exact
    statistics of the final network on the whole training set.

    Inputs:
      net: an MLP (or anything with its forward, backward and accuracy, e.g. the noisy
          network of helpers.probes); params, state: from net.init.
      X (m, n_x), y (m,) integer labels: the training set.
      optimizer: GradientDescent, Momentum, RMSprop or Adam from helpers.optimizers.
      epochs, batch_size: each epoch shuffles the examples, in an order drawn from
          np.random.default_rng(seed) (the same seed gives bit-identical runs), and takes one
          step per full batch: with drop_last, the m % batch_size examples left over are
          skipped that epoch (different ones each epoch).
      X_val, y_val: optional validation set, scored after every epoch.
      drop_last: skip the last, smaller batch of each epoch (the default, as in
          helpers.data.minibatches: a batch of 2 would give batch norm degenerate statistics
          once an epoch, and weigh 10% in the running averages). A batch of ONE example is always
          skipped: batch norm cannot normalize it, and skipping it for every network keeps
          comparisons between normalizers on the same examples.
      on_step: optional function, called once per step after the backward pass and before
          the update, with keywords step (0, 1, ...), params and state (those this step's
          forward pass used), cache (its forward cache), X_batch, y_batch, loss and grads.
          Its return value is ignored. helpers.probes records measurements with it.
    Returns:
      params, state: after training (new dicts; the inputs are not modified).
      history: dict of arrays
        "step_loss" (steps,): the training-mode loss of each mini-batch, before its update;
        "loss" (epochs,): the mean of step_loss over each epoch (what Keras' fit reports
            when all batches have the same size);
        "train_acc", "val_acc" (epochs,): inference-mode accuracy after each epoch (val_acc
            only with X_val).
    """
    validation.integer(epochs, "epochs")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither.")
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function (or None); got {type(on_step).__name__}.")

    rng = np.random.default_rng(seed)
    opt_state = optimizer.init_state(params)
    history = {"step_loss": [], "loss": [], "train_acc": []}
    if X_val is not None:
        history["val_acc"] = []
    step = 0
    for _ in range(epochs):
        epoch_losses = []
        # Passing the same Generator every epoch gives a new, reproducible order each epoch.
        for X_batch, y_batch in minibatches(X, y, batch_size, seed=rng, drop_last=drop_last):
            if len(X_batch) < 2:
                continue
            logits, new_state, cache = net.forward(params, state, X_batch, training=True)
            loss, dlogits = softmax_cross_entropy(logits, y_batch)
            grads = net.backward(dlogits, cache)
            if on_step is not None:
                on_step(step=step, params=params, state=state, cache=cache, X_batch=X_batch,
                        y_batch=y_batch, loss=loss, grads=grads)
            params, opt_state = optimizer.step(params, grads, opt_state)
            state = new_state
            epoch_losses.append(loss)
            step += 1
        history["step_loss"].extend(epoch_losses)
        history["loss"].append(float(np.mean(epoch_losses)))
        history["train_acc"].append(net.accuracy(params, state, X, y))
        if X_val is not None:
            history["val_acc"].append(net.accuracy(params, state, X_val, y_val))
    return params, state, {k: np.asarray(v) for k, v in history.items()}
