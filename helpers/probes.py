"""Measurements of a network and its training: what notebook 06 looks at, as functions of data.

Each function takes a network (helpers.network.MLP) with its params and state, is seeded where
it draws random numbers, modifies none of its inputs, and returns numbers to print or plot:

    train_recording_percentiles  the 15/50/85th percentiles of one unit's input of g in every
                                 hidden layer, recorded during training (Ioffe & Szegedy 2015,
                                 Fig. 1: "internal covariate shift");
    train_with_bn_noise          training with random noise after every batch norm (Santurkar
                                 et al. 2018, "noisy BN");
    reestimate_bn_stats          running statistics re-estimated on new inputs (AdaBN);
    smoothness_probe             how much loss and gradient change along one gradient step;
    trainable_width              how wide (in decades) the range of good hyperparameters is.

The first two run helpers.network.train and watch it through its `on_step` hook.
"""

import math

import numpy as np

from helpers import validation
from helpers.network import train

__all__ = [
    "PERCENTILES",
    "NoisyBN",
    "reestimate_bn_stats",
    "smoothness_probe",
    "train_recording_percentiles",
    "train_with_bn_noise",
    "trainable_width",
    "unit_percentiles",
]

PERCENTILES = (15, 50, 85)  # what Ioffe & Szegedy (2015), Fig. 1 plots over training


# ----------------------------------------------------------------------------- percentiles
def unit_percentiles(net, cache, unit):
    """{l: (3,) array}: the 15th, 50th and 85th percentile, over the examples of one forward
    pass, of the input of g (z~ under placement="before", else z) of `unit` in each hidden
    layer l. cache: from net.forward."""
    return {
        l: np.percentile(cache["layers"][l - 1]["g_input"][:, unit], PERCENTILES)
        for l in net.hidden
    }


def train_recording_percentiles(net, params, state, X, y, optimizer, *, every=1, unit=0,
                                X_probe=None, bn_noise=0.0, seed=0, **train_kwargs):
    """Train as helpers.network.train does, and watch one unit's input of g while it learns.

    Inputs:
      net, params, state, X, y, optimizer, seed: as for train; any other keyword (epochs,
          batch_size, drop_last, X_val, y_val) is passed on to train.
      every: record before the update of steps 0, every, 2 * every, ...
      unit: the unit watched in every hidden layer (it must exist in each).
      X_probe: (k, n_x) the same examples at every record, put through the network in training
          mode with the current params; None measures on the step's own mini-batch.
      bn_noise: s > 0 trains with noisy BN (see train_with_bn_noise). With X_probe, each record
          puts the probe through the network with the noise of that very step (the scale and
          shift the training pass applied), so the records show what the layers saw.
    Returns:
      params, state, history: train's, with two more entries in history:
        "record_step" (records,): the step of each record;
        "percentiles" {l: (records, 3)}: the 15/50/85th percentiles of the watched unit's input
            of g in hidden layer l at each record.
    """
    every = validation.integer(every, "every")
    if net.L < 2:
        raise ValueError("recording percentiles needs a network with at least one hidden layer.")
    unit = validation.integer(unit, "unit", low=0, high=min(net.layer_sizes[1:-1]) - 1)
    steps, records = [], {l: [] for l in net.hidden}

    def record(step, params, state, cache, **_):
        if step % every:
            return
        if X_probe is not None:
            probe_params = params
            if "noise" in cache:  # noisy BN: this step's noise, as the training pass applied it
                probe_params = NoisyBN.apply(params, cache["noise"])
            _, _, cache = net.forward(probe_params, state, X_probe, training=True)
        steps.append(step)
        for l, p in unit_percentiles(net, cache, unit).items():
            records[l].append(p)

    params, state, history = train_with_bn_noise(
        net, params, state, X, y, optimizer, strength=bn_noise, seed=seed, on_step=record,
        **train_kwargs)
    history["record_step"] = np.asarray(steps)
    history["percentiles"] = {
        l: np.asarray(p).reshape(-1, len(PERCENTILES)) for l, p in records.items()
    }
    return params, state, history


# ----------------------------------------------------------------------------- noisy BN
# Noise after BN, scale s and shift t per unit: s * (gamma * z_norm + beta) + t is BN with
# gamma' = s * gamma and beta' = s * beta + t, so the noisy pass is the plain forward with
# those parameters, and by the chain rule dL/dgamma = s * dL/dgamma', dL/dbeta = s * dL/dbeta'.
class NoisyBN:
    """A batch-norm network whose training-mode forward adds fresh noise after every BN layer.

    Each call of forward(..., training=True) multiplies each BN unit's output by
    exp(strength / 2 * N(0, 1)) and adds strength * N(0, 1), drawn from `rng` per unit, layer
    by layer. backward gives the gradients of that noisy pass; inference (accuracy) is the
    network's own, noise-free. It has what helpers.network.train uses of a network. It holds a
    random generator that moves on with every step: use a new one per run (train_with_bn_noise
    does).
    """

    def __init__(self, net, strength, rng):
        self.net, self.strength, self.rng = net, strength, rng

    def draw(self, params):
        """{l: (scale, shift)} for every BN layer, each of shape (n[l],)."""
        noise = {}
        for l in self.net.hidden:
            n = params[f"gamma{l}"].shape
            noise[l] = (np.exp(self.strength / 2 * self.rng.standard_normal(n)),
                        self.strength * self.rng.standard_normal(n))
        return noise

    @staticmethod
    def apply(params, noise):
        """params with noise {l: (scale, shift)} folded into gamma and beta (new dict)."""
        noisy = dict(params)
        for l, (scale, shift) in noise.items():
            gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
            noisy[f"gamma{l}"] = (scale * gamma).astype(gamma.dtype)
            noisy[f"beta{l}"] = (scale * beta + shift).astype(beta.dtype)
        return noisy

    def forward(self, params, state, X, training):
        if not training:
            return self.net.forward(params, state, X, training)
        noise = self.draw(params)
        logits, new_state, cache = self.net.forward(self.apply(params, noise), state, X,
                                                    training)
        return logits, new_state, {**cache, "noise": noise}

    def backward(self, dlogits, cache):
        grads = self.net.backward(dlogits, cache)
        for l, (scale, _) in cache["noise"].items():
            for name in (f"gamma{l}", f"beta{l}"):
                grads[name] = (scale * grads[name]).astype(grads[name].dtype)
        return grads

    def accuracy(self, params, state, X, y):
        return self.net.accuracy(params, state, X, y)


def train_with_bn_noise(net, params, state, X, y, optimizer, *, strength, seed=0,
                        **train_kwargs):
    """helpers.network.train with noisy BN of the given strength ("noisy BN", Santurkar et al.).

    strength s >= 0: every step multiplies each BN unit's output by a random scale
    exp(s / 2 * N(0, 1)) and adds a random shift s * N(0, 1), drawn afresh per unit and per step
    from np.random.default_rng([seed, 1]) (apart from the batch order, so the batches are those
    of a run without noise): the distribution the next layer sees jumps at every step. The noise
    is the same for every example of a batch, so it moves each unit's whole distribution
    (Santurkar et al. 2018 draw it per example, from a distribution whose mean and variance
    change at every step: ours is in the spirit of theirs, not a copy). The
    gradients follow the noisy forward pass; inference is noise-free. The running statistics
    of layer 1 are too, but those of deeper layers are averaged over inputs shaken by the noise
    of the layers below: re-estimate them (reestimate_bn_stats) before testing. s = 0 is plain
    train. Other keywords go to train; returns what train returns.
    """
    strength = validation.real(strength, "strength", low=0, low_open=False, example="0.5")
    if strength and net.norm != "batch":
        raise ValueError(f"noisy BN needs a network with batch norm; this one has "
                         f"norm={net.norm!r}.")
    if strength:
        net = NoisyBN(net, strength, np.random.default_rng([seed, 1]))
    return train(net, params, state, X, y, optimizer, seed=seed, **train_kwargs)


# ----------------------------------------------------------------------------- AdaBN
def reestimate_bn_stats(net, params, state, X):
    """Running statistics re-estimated on new inputs X (m, n_x), without any training.

    One training-mode pass over all of X, layer by layer: each BN layer's mean and (biased)
    variance on X, computed with the layers before it already normalized by X's statistics,
    replaces its running mean and variance (the idea of "AdaBN", Li et al. 2016: when the input
    distribution shifts, e.g. a new camera, adapt the statistics and keep every learned weight).
    X needs no labels. Returns the new state; params and state are not modified.
    """
    if net.norm != "batch":
        raise ValueError(f"reestimate_bn_stats needs a network with batch norm; this one has "
                         f"norm={net.norm!r}.")
    _, _, cache = net.forward(params, state, X, training=True)
    new_state = dict(state)
    for l in net.hidden:
        bn = cache["layers"][l - 1]["norm"]
        dtype = state[f"running_mean{l}"].dtype
        new_state[f"running_mean{l}"] = bn["mu"].astype(dtype)
        new_state[f"running_var{l}"] = bn["var"].astype(dtype)
    return new_state


# ----------------------------------------------------------------------------- smoothness
def _flat_norm(grads):
    """||all gradients as one vector||, summed in float64."""
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))


def smoothness_probe(net, params, state, X, y, step_sizes):
    """How much the loss and the gradient change along one gradient step (Santurkar et al. 2018).

    From params, take the gradient g of the training-mode loss on the batch X, y, and move to
    params - eta * g for each eta in step_sizes (k,). Returns a dict:
      "loss0": the loss at params; "loss" (k,): the loss at each point;
      "loss_range": max - min over those k + 1 losses;
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


# ----------------------------------------------------------------------------- robustness
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
