"""Notebook 05: the statistics batch norm uses at test time, computed four ways.

At test time each BN unit needs one mean and one variance that do not depend on the batch.

  running averages   what Keras and PyTorch keep during training: exponentially weighted
                     averages of the batch statistics, started at mean 0 and variance 1
                     (helpers.batchnorm.update_running_stats). Keras 3 averages the biased
                     batch variance (the one the batch was normalized with); PyTorch averages
                     the unbiased one, m / (m - 1) times larger: unbiased_running_stats
                     converts the first into the second.
  bias correction    the lecture's v_t / (1 - beta^t) for an average started at 0, which
                     frameworks do not apply: bias_corrected, bias_corrected_state.
  Algorithm 2        Ioffe & Szegedy (2015): after training, freeze the weights, run training
                     mini-batches of size m, and use E[x] = mean of the batch means and
                     Var[x] = m / (m - 1) * mean of the batch variances:
                     population_statistics.
  a full pass        the whole training set as one batch: helpers.probes.reestimate_bn_stats.

layer_batch_stream gives the per-batch values all of these average: one layer's z on the
mini-batches of a few epochs, with the weights frozen.
"""

import numpy as np

from helpers import validation
from helpers.data import minibatches

__all__ = [
    "layer_batch_stream",
    "population_statistics",
    "unbiased_running_stats",
    "bias_corrected",
    "bias_corrected_state",
]


def _check_bn_net(net, state):
    if getattr(net, "norm", None) != "batch" or getattr(net, "placement", None) != "before":
        raise ValueError("needs an MLP with norm='batch' and placement='before' (the lecture's "
                         f"z -> BN -> g); got {net!r}.")
    if not isinstance(state, dict) or f"running_var{net.L - 1}" not in state:
        raise TypeError("state must be the dict of running statistics from net.init or training.")


def layer_batch_stream(net, params, state, X, layer, batch_size=64, epochs=1, seed=0):
    """z of one hidden layer (the input of its batch norm) on every mini-batch of some epochs.

    The weights are frozen: each mini-batch of X (drop_last) goes through net.forward in
    training mode, so the layers below `layer` are normalized with the batch's own statistics,
    as during training. Batch orders come from np.random.default_rng(seed), a new order each
    epoch. Returns an array of shape (epochs * (M // batch_size), batch_size, n[layer]).
    """
    _check_bn_net(net, state)
    layer = validation.integer(layer, "layer", low=1, high=net.L - 1)
    batch_size = validation.integer(batch_size, "batch_size", low=2, high=len(X))
    epochs = validation.integer(epochs, "epochs")
    rng = np.random.default_rng(seed)
    stream = []
    for _ in range(epochs):
        for X_b, _ in minibatches(X, np.zeros(len(X), dtype=int), batch_size, seed=rng):
            _, _, cache = net.forward(params, state, X_b, training=True)
            a_below, W, _ = cache["layers"][layer - 1]["dense"]   # z = a[layer-1] @ W, no b
            stream.append(a_below @ W)
    return np.asarray(stream)


def population_statistics(net, params, state, X, batch_size, epochs=1, seed=0, unbiased=True):
    """Ioffe & Szegedy's Algorithm 2: population statistics from training mini-batches.

    With the weights frozen, run the mini-batches of size m = batch_size of `epochs` shuffled
    epochs of X through net in training mode and average, per BN unit, the batch means and
    the (biased) batch variances over the batches; the variance is then multiplied by
    m / (m - 1) if `unbiased` (the paper's choice; Bessel's correction for a batch of m).
    Returns a new state with every running_mean{l}, running_var{l} replaced.
    """
    _check_bn_net(net, state)
    batch_size = validation.integer(batch_size, "batch_size", low=2, high=len(X))
    epochs = validation.integer(epochs, "epochs")
    rng = np.random.default_rng(seed)
    sums = {l: [0.0, 0.0] for l in net.hidden}
    count = 0
    for _ in range(epochs):
        for X_b, _ in minibatches(X, np.zeros(len(X), dtype=int), batch_size, seed=rng):
            _, _, cache = net.forward(params, state, X_b, training=True)
            for l in net.hidden:
                bn = cache["layers"][l - 1]["norm"]
                sums[l][0] = sums[l][0] + bn["mu"]
                sums[l][1] = sums[l][1] + bn["var"]
            count += 1
    factor = batch_size / (batch_size - 1) if unbiased else 1.0
    new_state = dict(state)
    for l in net.hidden:
        dtype = state[f"running_mean{l}"].dtype
        new_state[f"running_mean{l}"] = (sums[l][0] / count).astype(dtype)
        new_state[f"running_var{l}"] = (factor * sums[l][1] / count).astype(dtype)
    return new_state


def unbiased_running_stats(state, momentum, steps, batch_size, start=1.0):
    """PyTorch's running variances from Keras 3's, for the same training run.

    Keras 3 averages the biased batch variances, PyTorch the unbiased ones (m / (m - 1) times
    larger), both started at `start` (1) with weight momentum on the old value. After `steps`
    steps of batches of m = batch_size, start keeps the weight w = momentum ** steps, so
    PyTorch's average is w * start + m / (m - 1) * (Keras' - w * start): the average is linear
    in what it averages. state: a dict with "running_var{l}" entries (other entries are kept).
    Returns a new state.
    """
    momentum = validation.fraction(momentum, "momentum")
    steps = validation.integer(steps, "steps", low=0)
    batch_size = validation.integer(batch_size, "batch_size", low=2)
    start = validation.real(start, "start", low=0, low_open=False)
    w = momentum**steps
    factor = batch_size / (batch_size - 1)
    return {name: (w * start + factor * (value - w * start)
                   if name.startswith("running_var") else value)
            for name, value in state.items()}


def bias_corrected(average, momentum, steps, start=0.0):
    """The lecture's bias correction of an exponentially weighted average.

    average: v_t (any shape) after t = steps updates v_t = momentum v_(t-1) + (1 - momentum) x_t
    from v_0 = start; steps: t >= 1 (an int, or an array that broadcasts against average).
    Returns (v_t - momentum^t start) / (1 - momentum^t), the average of x_1 .. x_t alone, with
    weights proportional to momentum^(t - i): the start value's share removed. For start = 0
    this is the lecture's v_t / (1 - beta^t).
    """
    momentum = validation.fraction(momentum, "momentum", high_open=True)
    steps = np.asarray(steps)
    if not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 1):
        raise ValueError(f"steps must be integers >= 1 (no update, nothing to correct); "
                         f"got {steps!r}.")
    w = momentum ** steps.astype(np.float64)
    return (np.asarray(average, dtype=np.float64) - w * start) / (1.0 - w)


def bias_corrected_state(state, momentum, steps):
    """Running statistics after `steps` steps, bias-corrected: means started at 0, variances
    at 1 (as MLP.init, Keras and PyTorch start them). Returns a new state."""
    return {name: bias_corrected(value, momentum, steps,
                                 start=1.0 if name.startswith("running_var") else 0.0)
            .astype(np.asarray(value).dtype)
            for name, value in state.items()}
