"""Notebook 09's experiments: batch norm as practitioners meet it, as pure seeded functions.

    frozen_bn_grads       the gradients of a BN network whose BN layers are frozen (Keras'
                          trainable=False: inference mode, gamma and beta not learned)
    fine_tune             continue training on new data with BN in training mode or frozen
    replica_statistics    per-replica vs synchronized batch statistics (data-parallel training)
    WeightDecay, ScheduledSGD   SGD with weight decay on chosen weights, and SGD whose learning
                          rate on chosen weights grows step by step: for weights followed by BN
                          the two train the same network (scale invariance)
    InputDropout          a network with dropout on its input, right before the first BN layer
    variance_shift        BN's recorded variance vs the variance it meets at inference

All work with helpers.network.MLP (norm="batch", placement="before").
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from helpers import validation
from helpers.data import minibatches
from helpers.folding import fold_network, folded_net
from helpers.layers import softmax_cross_entropy
from helpers.network import MLP, train

__all__ = [
    "InputDropout",
    "ReplicaStatistics",
    "ScheduledSGD",
    "WeightDecay",
    "fine_tune",
    "frozen_bn_grads",
    "random_orders",
    "replica_statistics",
    "statistics_of_batches",
    "scale_invariance",
    "variance_shift",
]


def _check_bn_net(net):
    if not isinstance(net, MLP) or net.norm != "batch" or net.placement != "before":
        raise ValueError(f"net must be a helpers.network.MLP with norm='batch' and "
                         f"placement='before'; got {net!r}.")
    return net


# ----------------------------------------------------------------------------- frozen BN
def frozen_bn_grads(net, params, state, X, y):
    """(loss, grads) of the network with its BN layers frozen, as Keras' trainable = False.

    Frozen BN runs in inference mode (running statistics) and does not learn gamma and beta,
    so each BN layer is a fixed affine map z * scale + shift per unit: the network is its
    folded twin (helpers.folding). With z = a @ W and the folded W_f = W * scale (columns), the
    chain rule gives dL/dW = dL/dW_f * scale. grads holds "W{l}" and the output "b{L}" only.
    """
    net = _check_bn_net(net)
    plain, folded = folded_net(net), fold_network(net, params, state)
    logits, _, cache = plain.forward(folded, {}, X, training=True)
    loss, dlogits = softmax_cross_entropy(logits, y)
    folded_grads = plain.backward(dlogits, cache)
    grads = {f"b{net.L}": folded_grads[f"b{net.L}"], f"W{net.L}": folded_grads[f"W{net.L}"]}
    for l in net.hidden:
        scale = params[f"gamma{l}"] / np.sqrt(state[f"running_var{l}"] + net.eps)
        grads[f"W{l}"] = folded_grads[f"W{l}"] * scale
    return loss, grads


def fine_tune(net, params, state, X, y, optimizer, *, bn, epochs, batch_size, seed=0):
    """Continue training a pretrained BN network on new data (X, y); returns (params, state).

    bn="train": BN in training mode (batch statistics, running averages move toward the new
                data's, gamma and beta learned): network.train.
    bn="frozen": BN in inference mode with its running statistics and gamma, beta kept (Keras'
                trainable = False on the BN layers); the weights W and the output bias learn.
    Batches as in network.train: a new order from np.random.default_rng(seed) every epoch, the
    short last batch dropped.
    """
    validation.choice(bn, "bn", ("train", "frozen"))
    if bn == "train":
        params, state, _ = train(net, params, state, X, y, optimizer, epochs=epochs,
                                 batch_size=batch_size, seed=seed)
        return params, state
    rng = np.random.default_rng(seed)
    learned = [f"W{l}" for l in range(1, net.L + 1)] + [f"b{net.L}"]
    trainable = {k: params[k] for k in learned}
    opt_state = optimizer.init_state(trainable)
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, seed=rng):
            _, grads = frozen_bn_grads(net, {**params, **trainable}, state, X_batch, y_batch)
            trainable, opt_state = optimizer.step(trainable, grads, opt_state)
    return {**params, **trainable}, state


# ----------------------------------------------------------------------------- many devices
class ReplicaStatistics(NamedTuple):
    """Batch means of one layer's units under data-parallel training (see replica_statistics)."""

    per_replica: int
    replicas: int
    replica_means: np.ndarray   # (draws, replicas, n): each replica's own batch mean
    sync_means: np.ndarray      # (draws, n): the mean over the global batch (synchronized BN)
    population_mean: np.ndarray  # (n,)
    population_std: np.ndarray  # (n,)

    def spread(self, synchronized):
        """Std of the batch mean over draws, in units of the population std, mean over units."""
        means = self.sync_means if synchronized else self.replica_means.reshape(
            -1, self.replica_means.shape[-1])
        return float(np.mean(means.std(axis=0) / self.population_std))


def replica_statistics(z, per_replica, replicas, draws=300, seed=0):
    """Draw `draws` global batches of replicas * per_replica rows of z (M, n), without
    replacement; each replica's batch mean (per-replica BN) and the global batch's mean
    (synchronized BN, which tf.distribute computes from all replicas' sums).
    """
    z = validation.float_array(z, "z", ndim=2)
    per_replica = validation.integer(per_replica, "per_replica", low=1)
    replicas = validation.integer(replicas, "replicas", low=1)
    draws = validation.integer(draws, "draws")
    if per_replica * replicas > len(z):
        raise ValueError(f"a global batch of {replicas} x {per_replica} examples needs that many "
                         f"rows of z; z has {len(z)}.")
    return statistics_of_batches(z, per_replica, replicas, random_orders(len(z), draws, seed))


def random_orders(M, draws, seed=0):
    """(draws, M): row d a random permutation of range(M), from np.random.default_rng(seed).
    Global batch d is the first replicas * per_replica entries of row d, so every batch size
    drawn with one seed starts from the same examples."""
    return np.random.default_rng(seed).random((draws, M)).argsort(axis=1)


def statistics_of_batches(z, per_replica, replicas, orders):
    """replica_statistics with the global batches taken from given orders (see random_orders)."""
    idx = orders[:, : per_replica * replicas]
    batches = z[idx].reshape(len(orders), replicas, per_replica, z.shape[1])
    replica_means = batches.mean(axis=2)
    return ReplicaStatistics(per_replica, replicas, replica_means, replica_means.mean(axis=1),
                             z.mean(axis=0), z.std(axis=0))


# ----------------------------------------------------------------------------- weight decay
def scale_invariance(net, params, state, X, y, factor, layer=1):
    """Loss and gradient of W{layer} at W and at factor * W (training mode, one batch X, y).

    Returns {"loss": (loss at W, loss at factor * W), "grad_ratio": |dW at factor W| / |dW at W|,
    "cosine": the cosine between W and its gradient}. BN makes the loss the same (up to eps)
    and the gradient factor times smaller, and orthogonal to W.
    """
    net = _check_bn_net(net)
    factor = validation.real(factor, "factor", low=0)
    scaled = {**params, f"W{layer}": factor * params[f"W{layer}"]}
    loss, grads, _ = net.loss_and_grads(params, state, X, y)
    loss_scaled, grads_scaled, _ = net.loss_and_grads(scaled, state, X, y)
    W, dW = params[f"W{layer}"], grads[f"W{layer}"]
    return {"loss": (float(loss), float(loss_scaled)),
            "grad_ratio": float(np.linalg.norm(grads_scaled[f"W{layer}"]) / np.linalg.norm(dW)),
            "cosine": float(np.sum(W * dW) / (np.linalg.norm(W) * np.linalg.norm(dW)))}


@dataclass(frozen=True)
class WeightDecay:
    """Gradient descent with weight decay (L2) on the weights named in `decayed`:
    W -= alpha * (dW + decay * W); the others W -= alpha * dW."""

    learning_rate: float
    decay: float
    decayed: tuple = ("W1", "W2")

    def init_state(self, params):
        return {}

    def step(self, params, grads, state):
        a = self.learning_rate
        return {k: params[k] - a * (grads[k] + (self.decay * params[k] if k in self.decayed
                                                 else 0.0)) for k in params}, state


@dataclass(frozen=True)
class ScheduledSGD:
    """Gradient descent whose learning rate on the weights in `scheduled` is
    alpha * (1 - alpha * decay) ** -(2 t + 1) at step t = 0, 1, ..., and alpha on the others.

    For weights followed by BN this is what weight decay does: with W_t = (1 - alpha decay)^t V_t,
    BN(W_t x) = BN(V_t x) and dL/dW_t = dL/dV_t / (1 - alpha decay)^t, so WeightDecay's steps
    on W are these steps on V, without decay, with a growing learning rate.
    """

    learning_rate: float
    decay: float
    scheduled: tuple = ("W1", "W2")

    def init_state(self, params):
        return {"t": 0}

    def step(self, params, grads, state):
        a, t = self.learning_rate, state["t"]
        boost = (1 - a * self.decay) ** -(2 * t + 1)
        new = {k: params[k] - a * (boost if k in self.scheduled else 1.0) * grads[k]
               for k in params}
        return new, {"t": t + 1}


# ----------------------------------------------------------------------------- dropout
class InputDropout:
    """A BN network with (inverted) dropout on its input, right before layer 1's BN.

    Training mode multiplies each input value by mask / keep, mask ~ Bernoulli(keep), drawn from
    `rng` per step; inference uses the inputs as they are. It has what network.train uses of a
    network (forward, backward, accuracy).
    """

    def __init__(self, net, keep, rng):
        self.net = _check_bn_net(net)
        self.keep = validation.real(keep, "keep", low=0, high=1)
        self.rng = rng

    def forward(self, params, state, X, training):
        if training:
            X = X * (self.rng.random(X.shape) < self.keep) / self.keep
        return self.net.forward(params, state, X, training)

    def backward(self, dlogits, cache):
        return self.net.backward(dlogits, cache)   # the mask acts on X, which is not learned

    def accuracy(self, params, state, X, y):
        return self.net.accuracy(params, state, X, y)


def variance_shift(net, params, state, X):
    """Layer 1's BN: the running variance (recorded in training) / the variance of z1 = X @ W1 at
    inference on X, per unit (n[1],). Values above 1 mean BN divides by too large a number."""
    _check_bn_net(net)
    z = np.asarray(X, dtype=np.float64) @ params["W1"]
    return state["running_var1"] / z.var(axis=0)
