"""The experiments the notebooks teach, as pure functions: data and settings in, numbers out.

Every function here is seedable, draws nothing and touches no widget: the notebooks print and plot
what these return, the explorers (`helpers.explorers`) draw it, and the tests call them directly.

  notebook 01  descent, scaled_features, input_scale, loss_landscape: how one feature's scale
               shapes the loss bowl and slows gradient descent
  notebook 02  bn_activation, saturation_threshold: what gamma, beta and eps do to z~, and
               what the activation sees
  notebook 03  identity_blend: gamma and beta slid from "normalized" to "identity";
               identity_across_batches: that identity used on other mini-batches
  notebook 04  epochs_to_target, run_summary: a training history in a few numbers
  notebook 05  minibatch_noise: one example in many random mini-batches (additive and
               multiplicative noise against the batch size); running_averages,
               running_average_errors: how the running statistics approach the population's
  notebook 06  covariate_shift: test accuracy under a camera shift, with and without
               re-estimated batch-norm statistics
  notebook 08  normalization_companions: one example's output under BN, LN and GN, in random
               batches of companions

Results are NamedTuples (read `result.spreads`, or `result._asdict()` for a dict).
"""

from typing import NamedTuple

import numpy as np

from helpers import batchnorm, layers, regression, validation
from helpers.data import exposure_shift, normalize_inputs

__all__ = [
    "GAP_LEVELS", "SATURATION_SLOPE", "SATURATION", "saturation_threshold", "NOISE_PARTS",
    "COMPANION_METHODS",
    "Descent", "descent", "scaled_features", "input_scale", "LossLandscape", "loss_landscape",
    "ACTIVATION_NAMES", "BNActivation", "activation_slope", "dense_batch", "bn_activation",
    "Blend", "identity_blend", "IdentityAcrossBatches", "identity_across_batches",
    "RunSummary", "epochs_to_target", "run_summary",
    "NoiseSplit", "minibatch_noise", "running_averages", "RunningAverages",
    "running_average_errors", "ShiftAccuracy", "covariate_shift", "Companions",
    "normalization_companions",
]


# ============================================================================= notebook 01
# Contour levels of loss - optimal loss: the same ellipse means the same loss in every picture.
GAP_LEVELS = tuple(10.0 ** np.arange(-3.0, 0.6, 0.5))


class Descent(NamedTuple):
    """Gradient descent on the least-squares loss of one set of features (see `descent`)."""

    eigenvalues: np.ndarray  # (n + 1,) of the Hessian H, ascending
    condition_number: float  # lambda_max / lambda_min
    stable_lr: float  # 2 / lambda_max, the largest stable learning rate
    lr: float  # the learning rate used: lr_fraction * stable_lr
    theta_star: np.ndarray  # (n + 1,) the least-squares optimum (w..., b)
    loss_star: float  # the loss there
    run: regression.GDResult  # thetas (k + 1, n + 1), losses (k + 1,), steps_to_tol, diverged
    gaps: np.ndarray  # (k + 1,) loss - loss_star along the path
    predicted_steps: int | None  # the exact step count for this quadratic loss (None: unstable)
    status: str  # "diverges", "converged in 12 steps", ...


def descent(X, t, lr_fraction=0.9, max_steps=1000, tol=1e-6):
    """Gradient descent on the features X (m, n), targets t (m,), at lr_fraction x 2 / lambda_max.

    It starts at w = 0 with b at its optimum, so the path begins in the plane that the contours
    of `loss_landscape` show. Returns a Descent.
    """
    lr_fraction = validation.real(lr_fraction, "lr_fraction", low=0)
    H = regression.hessian(X)
    eigenvalues = np.linalg.eigvalsh(H)
    stable_lr = float(2.0 / eigenvalues[-1])
    lr = lr_fraction * stable_lr
    theta_star, loss_star = regression.optimum(X, t)
    theta0 = np.r_[np.zeros(len(theta_star) - 1), theta_star[-1]]
    run = regression.gradient_descent(X, t, lr, theta0, max_steps, tol)
    predicted = regression.predicted_steps(X, t, lr, theta0, tol)
    if run.diverged:
        status = "diverges"
    elif run.steps_to_tol is not None:
        status = f"converged in {run.steps_to_tol:,} steps"
    elif predicted is None:
        status = f"not converged in {max_steps:,} steps (lr at or above the limit)"
    else:
        status = f"not converged in {max_steps:,} steps (theory: {predicted:,} steps)"
    return Descent(eigenvalues, float(eigenvalues[-1] / eigenvalues[0]), stable_lr, lr,
                   theta_star, loss_star, run, run.losses - loss_star, predicted, status)


def scaled_features(X, scale=1.0, normalize=False):
    """X (m, 2) with feature 1 multiplied by `scale` (as if measured in a unit `scale` times
    smaller), then normalized to mean 0 and variance 1 if `normalize`."""
    X = validation.float_array(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must have shape (m, 2), two features; got shape {X.shape}.")
    scale = validation.real(scale, "scale", low=0)
    X = X.astype(np.float64) * np.array([scale, 1.0])
    return normalize_inputs(X)[0] if normalize else X


def input_scale(X, t, scale=1.0, lr_fraction=0.9, normalize=False, max_steps=1000, tol=1e-6):
    """Notebook 01's experiment: `descent` on `scaled_features(X, scale, normalize)`."""
    return descent(scaled_features(X, scale, normalize), t, lr_fraction, max_steps, tol)


class LossLandscape(NamedTuple):
    """The loss over a (w1, w2) grid with b at its optimum, and exact contour ellipses."""

    background: np.ndarray  # (len(w2), len(w1)) loss - loss_star
    ellipses: list  # one (200, 2) array of (w1, w2) points per gap level


def loss_landscape(X, t, w1, w2, gap_levels=GAP_LEVELS, optimum=None):
    """What the contour panels of notebook 01 show, for features X (m, 2) and targets t.

    w1 (p,), w2 (q,): the grid; gap_levels: the values of loss - loss_star drawn as ellipses;
    optimum: (theta_star, loss_star) if already known (else computed).
    """
    theta_star, loss_star = regression.optimum(X, t) if optimum is None else optimum
    H = regression.hessian(X)
    ellipses = [regression.level_set(H[:2, :2], theta_star[:2], gap) for gap in gap_levels]
    background = regression.loss_grid(X, t, w1, w2, float(theta_star[2])) - loss_star
    return LossLandscape(background, ellipses)


# ============================================================================= notebooks 02, 03
# An activation is called saturated where its slope has fallen below this share of its maximum.
# One definition for every activation, so each gets its own threshold on the input axis.
SATURATION_SLOPE = 0.3


def saturation_threshold(name, slope=SATURATION_SLOPE):
    """The input |x| beyond which g'(x) < slope * max g', for g = "sigmoid" or "tanh".

    Solved exactly: tanh'(x) = 1 - tanh(x)^2 = slope at x = artanh(sqrt(1 - slope)); the
    sigmoid is a stretched tanh, sigmoid(x) = (1 + tanh(x / 2)) / 2, so its point is twice as far.
    slope=0.3 gives 2.42 for the sigmoid and 1.21 for tanh.
    """
    validation.choice(name, "name", ("sigmoid", "tanh"))
    slope = validation.real(slope, "slope", low=0, high=1, high_open=True,
                            example="0.3 (30% of the largest slope)")
    x = float(np.arctanh(np.sqrt(1.0 - slope)))
    return 2.0 * x if name == "sigmoid" else x


SATURATION = {name: saturation_threshold(name) for name in ("sigmoid", "tanh")}


def dense_batch(z, name="z"):
    """z as a float64 (m, n) batch with m >= 2 and finite entries, else a clear error."""
    z = validation.finite(validation.float_array(z, name, ndim=2), name)
    return validation.batch(z, (0,), training=True)[0].astype(np.float64)


def activation_slope(name, x):
    """g'(x) divided by its largest value (relu: 1 where x > 0): 1 = as steep as g gets."""
    if name == "sigmoid":
        s = layers.sigmoid_forward(x)[0]
        return s * (1 - s) / 0.25
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    return (x > 0).astype(x.dtype)


class BNActivation(NamedTuple):
    """One batch through batch norm and an activation (see `bn_activation`)."""

    z_norm: np.ndarray  # (m, n)
    z_tilde: np.ndarray  # (m, n) = gamma z_norm + beta
    a: np.ndarray  # (m, n) = g(z~)
    var: np.ndarray  # (n,) the batch variance per unit
    z_tilde_mean: float  # pooled over all m * n values
    z_tilde_std: float
    z_norm_std: float
    slope_ratio: float  # mean g'(z~) / max g'
    saturated: float | None  # share of |z~| > SATURATION[activation] (sigmoid, tanh; relu: None)
    dead: float | None  # share of relu outputs equal to 0 (else None)
    dead_units: int | None  # units whose relu output is 0 for the whole batch (else None)


ACTIVATION_NAMES = ("sigmoid", "tanh", "relu")


def bn_activation(z, gamma=1.0, beta=0.0, eps=1e-5, activation="sigmoid"):
    """Notebook 02: z (m, n) through batch norm with the same gamma and beta for every unit, then
    through the activation ("sigmoid", "tanh" or "relu"). Returns a BNActivation."""
    z = dense_batch(z)
    gamma, beta = validation.real(gamma, "gamma"), validation.real(beta, "beta")
    eps = validation.eps(eps)
    validation.choice(activation, "activation", ACTIVATION_NAMES)
    n = z.shape[1]
    z_tilde, cache = batchnorm.batchnorm_forward(z, np.full(n, gamma), np.full(n, beta), eps=eps)
    z_norm = cache["z_norm"]
    a = layers.ACTIVATIONS[activation][0](z_tilde)[0]
    if activation == "relu":
        saturated, dead = None, float(np.mean(a == 0))
        dead_units = int(np.sum(np.all(a == 0, axis=0)))
    else:
        saturated = float(np.mean(np.abs(z_tilde) > SATURATION[activation]))
        dead, dead_units = None, None
    return BNActivation(z_norm, z_tilde, a, cache["var"], float(z_tilde.mean()),
                        float(z_tilde.std()), float(z_norm.std()),
                        float(activation_slope(activation, z_tilde).mean()),
                        saturated, dead, dead_units)


class Blend(NamedTuple):
    """Batch norm with gamma and beta part way to the identity (see `identity_blend`)."""

    gamma: np.ndarray  # (n,)
    beta: np.ndarray  # (n,)
    z_tilde: np.ndarray  # (m, n)
    unit_mean: np.ndarray  # (n,) each unit's mean of z~
    unit_std: np.ndarray  # (n,) and its std
    max_abs_diff: float  # max |z~ - z|


def identity_blend(z, t, eps=1e-5):
    """Notebook 03: batch norm of z (m, n) with gamma = (1 - t) 1 + t sqrt(var + eps) and
    beta = (1 - t) 0 + t mu, per unit; t = 0 normalizes, t = 1 gives z back (up to round-off)."""
    z = dense_batch(z)
    t = validation.fraction(t, "blend", why="0 = normalized, 1 = identity")
    mu, var = batchnorm.batch_moments(z)
    gamma = (1 - t) * 1.0 + t * np.sqrt(var + eps)
    beta = (1 - t) * 0.0 + t * mu
    z_tilde, _ = batchnorm.batchnorm_forward(z, gamma, beta, eps=eps)
    return Blend(gamma, beta, z_tilde, z_tilde.mean(axis=0), z_tilde.std(axis=0),
                 float(np.max(np.abs(z_tilde - z))))


class IdentityAcrossBatches(NamedTuple):
    """How far "undo batch norm" is from the identity on other mini-batches (notebook 03).

    Rows follow `sizes`, columns follow `seeds`; each entry is averaged over `batches` fresh
    mini-batches of that size drawn from the population.
    """

    sizes: tuple  # the batch sizes m
    seeds: tuple
    batches: int  # fresh batches per seed and size
    mean_abs: np.ndarray  # (len(sizes), len(seeds)) mean |z~ - z|, gamma, beta fitted on one batch
    max_abs: np.ndarray  # (len(sizes), len(seeds)) max |z~ - z| in a batch, same fit
    population_mean_abs: np.ndarray  # (len(sizes), len(seeds)) mean |z~ - z|, population fit
    inference_max_abs: float  # max |z~ - z| over the population: population fit, population stats
    typical: float  # mean |z - E[z]| over the population, the scale to compare with


def identity_across_batches(z_population, sizes=(8, 32, 128, 512), seeds=(0, 1, 2, 3, 4),
                            batches=20, eps=1e-5):
    """Notebook 03: gamma, beta that undo batch norm on one mini-batch, used on other batches.

    z_population: (N, n) the pre-activations of a layer for every example of a data set.
    For each size m and seed: draw one batch of m examples, set gamma = sqrt(var + eps) and
    beta = mu from it (z~ = z exactly on that batch), then normalize `batches` fresh batches of m
    with their own statistics (training mode) and those gamma, beta, and measure |z~ - z|.
    Also: gamma, beta from the population's statistics, in training mode (population_mean_abs)
    and in inference mode, normalizing with the population's statistics (inference_max_abs).
    Batches are drawn without replacement. Returns an IdentityAcrossBatches.
    """
    z_all = dense_batch(z_population, "z_population")
    seeds = tuple(validation.integer(s, "seed", low=0) for s in seeds)
    sizes = tuple(validation.integer(m, "size", low=2, high=len(z_all)) for m in sizes)
    batches = validation.integer(batches, "batches")
    eps = validation.eps(eps)
    if not seeds or not sizes:
        raise ValueError(f"sizes and seeds need at least one entry each; got sizes={sizes}, "
                         f"seeds={seeds}.")
    mu_pop, var_pop = batchnorm.batch_moments(z_all)
    gamma_pop, beta_pop = np.sqrt(var_pop + eps), mu_pop
    shape = (len(sizes), len(seeds))
    mean_abs, max_abs, population_mean_abs = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, m in enumerate(sizes):
        for j, seed in enumerate(seeds):
            rng = np.random.default_rng([seed, m])
            fit = z_all[rng.choice(len(z_all), m, replace=False)]
            mu, var = batchnorm.batch_moments(fit)
            gamma, beta = np.sqrt(var + eps), mu
            means, maxes, pop_means = [], [], []
            for _ in range(batches):
                z = z_all[rng.choice(len(z_all), m, replace=False)]
                diff = np.abs(batchnorm.batchnorm_forward(z, gamma, beta, eps=eps)[0] - z)
                means.append(diff.mean())
                maxes.append(diff.max())
                pop = batchnorm.batchnorm_forward(z, gamma_pop, beta_pop, eps=eps)[0]
                pop_means.append(np.abs(pop - z).mean())
            mean_abs[i, j], max_abs[i, j] = np.mean(means), np.mean(maxes)
            population_mean_abs[i, j] = np.mean(pop_means)
    # Inference mode: the population's statistics replace the batch's, so BN is a fixed affine
    # map per unit, and the population fit undoes it for every example.
    inference = gamma_pop * (z_all - mu_pop) / np.sqrt(var_pop + eps) + beta_pop
    return IdentityAcrossBatches(sizes, seeds, batches, mean_abs, max_abs, population_mean_abs,
                                 float(np.max(np.abs(inference - z_all))),
                                 float(np.mean(np.abs(z_all - mu_pop))))


# ============================================================================= notebook 04
def epochs_to_target(val_acc, target=0.9):
    """The first epoch (1, 2, ...) whose validation accuracy is >= target, or None."""
    reached = np.flatnonzero(np.asarray(val_acc) >= target)
    return int(reached[0]) + 1 if reached.size else None


class RunSummary(NamedTuple):
    """A training history (helpers.network.train with a validation set) in a few numbers."""

    loss: np.ndarray  # (epochs,) mean training loss per epoch
    val_acc: np.ndarray  # (epochs,)
    final_loss: float
    final_train_acc: float
    final_val_acc: float
    epochs_to_target: int | None


def run_summary(history, target_acc=0.9):
    """history: {"loss", "train_acc", "val_acc"}, one entry per epoch. Returns a RunSummary."""
    missing = {"loss", "train_acc", "val_acc"} - set(history)
    if missing:
        raise ValueError(f"history needs 'loss', 'train_acc' and 'val_acc' (train with X_val and "
                         f"y_val); missing {sorted(missing)}")
    return RunSummary(np.asarray(history["loss"]), np.asarray(history["val_acc"]),
                      float(history["loss"][-1]), float(history["train_acc"][-1]),
                      float(history["val_acc"][-1]),
                      epochs_to_target(history["val_acc"], target_acc))


# ============================================================================= notebook 05
NOISE_PARTS = ("total", "additive", "multiplicative")


class NoiseSplit(NamedTuple):
    """One example's z_norm in many random mini-batches (see `minibatch_noise`)."""

    sizes: tuple  # the batch sizes m
    index: int  # the example followed
    z0: float  # its value
    mu: float  # the population's mean and variance
    var: float
    exact: float  # (z0 - mu) / sqrt(var + eps): z_norm with the whole population
    values: dict  # {m: {part: (draws,) z_norm in each batch}}
    spreads: dict  # {part: (len(sizes),) std over the draws}
    slopes: dict  # {part: log-log slope of the spread against m, fitted for m >= 8}


def minibatch_noise(z, index=0, batch_sizes=(2, 4, 8, 16, 32, 64, 128, 256), draws=2000,
                    eps=1e-5, seed=0):
    """Notebook 05: how much one example's z_norm moves with its mini-batch, split in two parts.

    z: (M,) one unit's pre-activation for every training example (the population). For each m
    in batch_sizes, `draws` batches hold the example plus m - 1 others drawn without replacement
    (as a shuffled epoch does); in each one
      total          (z0 - mu_B) / sqrt(var_B + eps)   what batch norm computes
      additive       (z0 - mu_B) / sqrt(var  + eps)    only the batch mean is noisy (a shift)
      multiplicative (z0 - mu)   / sqrt(var_B + eps)   only the batch std is noisy (a scale)
    with mu, var the population's statistics. Returns a NoiseSplit.
    """
    z = validation.finite(validation.number_array(z, "z", ndim=1).astype(np.float64), "z")
    if z.size < 3:
        raise ValueError(f"z must hold at least 3 values; got shape {z.shape}")
    sizes = tuple(int(m) for m in batch_sizes)
    if not sizes or min(sizes) < 2 or max(sizes) > z.size:
        raise ValueError(f"batch sizes must be in 2..{z.size}; got {batch_sizes!r}")
    index = validation.integer(index, "index", low=0, high=z.size - 1)
    draws = validation.integer(draws, "draws", low=2)
    eps = validation.eps(eps)
    z0 = float(z[index])
    mu, var = float(z.mean()), float(z.var())
    exact = (z0 - mu) / np.sqrt(var + eps)
    others = np.delete(z, index)
    rng = np.random.default_rng(seed)
    # Each draw: a random order of the other examples; a batch of m takes the first m - 1.
    order = rng.permuted(np.tile(np.arange(others.size), (draws, 1)), axis=1)
    order = order[:, : max(sizes) - 1]
    values, spreads = {}, {part: [] for part in NOISE_PARTS}
    for m in sizes:
        batch = np.column_stack([np.full(draws, z0), others[order[:, : m - 1]]])
        mu_b = batch.mean(axis=1)
        var_b = batch.var(axis=1)
        values[m] = {
            "total": (z0 - mu_b) / np.sqrt(var_b + eps),
            "additive": (z0 - mu_b) / np.sqrt(var + eps),
            "multiplicative": (z0 - mu) / np.sqrt(var_b + eps),
        }
        for part in NOISE_PARTS:
            spreads[part].append(float(values[m][part].std()))
    spreads = {part: np.asarray(v) for part, v in spreads.items()}
    fit = np.asarray(sizes) >= 8
    if fit.sum() < 2:
        fit = np.ones(len(sizes), bool)
    log_m = np.log(np.asarray(sizes, dtype=np.float64)[fit])
    slopes = {part: float(np.polyfit(log_m, np.log(spreads[part][fit]), 1)[0])
              for part in NOISE_PARTS}
    return NoiseSplit(sizes, index, z0, mu, var, exact, values, spreads, slopes)


def running_averages(batch_values, momentum, start):
    """Exponentially weighted averages: a[0] = start, a[t] = momentum a[t-1] + (1 - momentum) b[t].

    batch_values: (T, n) one statistic per step and unit; start: (n,) or a number.
    Returns (T + 1, n), the starting value first. The same update as
    helpers.batchnorm.update_running_stats, for a whole sequence of steps at once.
    """
    batch_values = np.asarray(batch_values, dtype=np.float64)
    out = np.empty((batch_values.shape[0] + 1, *batch_values.shape[1:]))
    out[0] = start
    for t, value in enumerate(batch_values, start=1):
        out[t] = momentum * out[t - 1] + (1 - momentum) * value
    return out


class RunningAverages(NamedTuple):
    """Running mean and variance against the population's (see `running_average_errors`)."""

    running_mean: np.ndarray  # (T + 1, n), the initial 0 first
    running_var: np.ndarray  # (T + 1, n), the initial 1 first
    mean_error: np.ndarray  # (T + 1,) |mean error| / population std, averaged over units
    var_error: np.ndarray  # (T + 1,) |var error| / population var, averaged over units
    final_mean_error: float
    final_var_error: float
    steps_to_tol: int | None  # first step after which both errors stay below tol (None: never)
    start_weight: float  # momentum ** T, the weight the initial 0 / 1 keep at the end


def running_average_errors(batch_means, batch_vars, population_mean, population_var, momentum,
                           tol=0.05):
    """Notebook 05: the running averages of T batch statistics and how far they are off.

    batch_means, batch_vars: (T, n) the batch statistics of n units at each of T training steps
    (weights frozen, so the population's statistics stay fixed); population_mean,
    population_var: (n,). The averages start at mean 0 and variance 1 (Keras' and helpers'
    initial values). Returns a RunningAverages.
    """
    batch_means = np.asarray(batch_means, dtype=np.float64)
    batch_vars = np.asarray(batch_vars, dtype=np.float64)
    if batch_means.ndim != 2 or batch_vars.shape != batch_means.shape:
        raise ValueError("batch_means and batch_vars must both have shape (T, n); got "
                         f"{batch_means.shape} and {batch_vars.shape}")
    n = batch_means.shape[1]
    pop_mean = np.asarray(population_mean, dtype=np.float64).reshape(n)
    pop_var = np.asarray(population_var, dtype=np.float64).reshape(n)
    momentum = validation.fraction(momentum, "momentum", high_open=True)
    rm = running_averages(batch_means, momentum, 0.0)
    rv = running_averages(batch_vars, momentum, 1.0)
    mean_error = np.mean(np.abs(rm - pop_mean) / np.sqrt(pop_var), axis=1)
    var_error = np.mean(np.abs(rv - pop_var) / pop_var, axis=1)
    bad = np.flatnonzero((mean_error >= tol) | (var_error >= tol))
    if bad.size == 0:
        steps = 0
    elif bad[-1] == len(mean_error) - 1:
        steps = None
    else:
        steps = int(bad[-1]) + 1
    return RunningAverages(rm, rv, mean_error, var_error, float(mean_error[-1]),
                           float(var_error[-1]), steps, float(momentum ** batch_means.shape[0]))


# ============================================================================= notebook 06
class ShiftAccuracy(NamedTuple):
    """Test accuracy under a camera shift, for several strengths (see `covariate_shift`)."""

    strengths: np.ndarray  # (k,) the shift strengths s
    accuracy: dict  # {label: (k,) test accuracy}; "<label>, stats re-estimated" for BN nets,
    #                 "<label>, input stats re-estimated" for the others (if asked for)
    saturated: np.ndarray  # (k,) share of shifted test pixels at white
    scale: float  # the network sees (raw pixels - offset) * scale, as in training
    offset: float = 0.0


def covariate_shift(models, X_adapt, X_test, y_test, strengths=None, scale=1 / 16, offset=0.0,
                    reestimate_inputs=False):
    """Notebook 06: test accuracy when the test images come from a "different camera".

    models: {label: (net, params, state)}, trained on clean images as (X - offset) * scale
    (offset = the pixels' mean and scale = 1 / their standard deviation normalize the inputs;
    the default offset 0, scale 1/16 only maps 0..16 to 0..1).
    X_adapt: (m, 64) raw unlabelled images (0..16); X_test: (k, 64) raw test images, y_test (k,).
    For each strength s (default 0, 0.1, ..., 1) both sets go through
    helpers.data.exposure_shift(X, s) (over-exposed: brighter, washed out, saturating at white),
    then through the training's input transformation (X - offset) * scale. Every network is
    scored on the shifted test set; every network with batch norm is scored a second time
    ("<label>, stats re-estimated") after its running statistics are re-estimated on the
    shifted X_adapt (no labels, no training).
    reestimate_inputs: if True (inputs standardized per channel: offset = mean, scale = 1/std),
    every network WITHOUT batch norm is scored a second time ("<label>, input stats
    re-estimated") with offset and 1/scale recomputed as the shifted X_adapt's mean and std: the
    fair counterpart of re-estimating BN's statistics (below the clipping it undoes c*x + b).
    Returns a ShiftAccuracy.
    """
    from helpers.probes import reestimate_bn_stats  # floor 2, imported where it is used

    if not isinstance(models, dict) or not models:
        raise TypeError(f"models must be a non-empty dict label -> (net, params, state); "
                        f"got {type(models).__name__}")
    X_adapt = validation.number_array(X_adapt, "X_adapt", ndim=2).astype(np.float64)
    X_test = validation.number_array(X_test, "X_test", ndim=2).astype(np.float64)
    if X_test.shape[1] != 64 or X_adapt.shape[1] != 64:
        raise ValueError(f"X_adapt and X_test must have shape (m, 64), 8x8 images; got "
                         f"{X_adapt.shape} and {X_test.shape}")
    y_test = validation.labels(y_test, len(X_test))
    scale = validation.real(scale, "scale", low=0)
    offset = validation.real(offset, "offset", example="the training pixels' mean")
    if not isinstance(reestimate_inputs, bool):
        raise TypeError(f"reestimate_inputs must be True or False; got {reestimate_inputs!r}")
    strengths = (np.linspace(0.0, 1.0, 11) if strengths is None
                 else np.asarray(strengths, dtype=np.float64).ravel())
    labels = []
    for label, (net, _, _) in models.items():
        labels.append(label)
        if net.norm == "batch":
            labels.append(f"{label}, stats re-estimated")
        elif reestimate_inputs:
            labels.append(f"{label}, input stats re-estimated")
    accuracy = {label: np.empty(len(strengths)) for label in labels}
    saturated = np.empty(len(strengths))
    for i, s in enumerate(strengths):
        test_raw = exposure_shift(X_test, float(s))
        saturated[i] = np.mean(test_raw >= 16)
        test = (test_raw - offset) * scale
        adapt_raw = exposure_shift(X_adapt, float(s))
        adapt = (adapt_raw - offset) * scale
        for label, (net, params, state) in models.items():
            accuracy[label][i] = net.accuracy(params, state, test, y_test)
            if net.norm == "batch":
                adapted = reestimate_bn_stats(net, params, state, adapt)
                accuracy[f"{label}, stats re-estimated"][i] = net.accuracy(params, adapted, test,
                                                                           y_test)
            elif reestimate_inputs:  # the new camera's channel mean and std, from unlabelled images
                test_new = (test_raw - adapt_raw.mean()) / adapt_raw.std()
                accuracy[f"{label}, input stats re-estimated"][i] = net.accuracy(
                    params, state, test_new, y_test)
    return ShiftAccuracy(strengths, accuracy, saturated, scale, offset)


# ============================================================================= notebook 08
COMPANION_METHODS = ("batch", "layer", "group")


class Companions(NamedTuple):
    """One example's normalized output in random batches (see `normalization_companions`)."""

    sizes: tuple  # the batch sizes m
    index: int  # the example followed
    groups: int  # G of group norm
    reference: dict  # {method: (n,)} BN: whole-population statistics; LN, GN: the example alone
    outputs: dict  # {m: {method: (draws, n)}} the example's output in each batch
    spreads: dict  # {method: (len(sizes),)} mean over units of the std over batches
    max_change: dict  # {method: (len(sizes),)} largest |output - reference|


def normalization_companions(z, index=0, batch_sizes=(2, 4, 8, 16, 32, 64, 128), draws=200,
                             groups=4, eps=1e-5, seed=0):
    """Notebook 08: does one example's output depend on the other examples of its batch?

    z: (M, n) one layer's pre-activations for a population of M examples; index: the example
    followed. For each m in batch_sizes, `draws` batches hold the example plus m - 1 companions
    drawn without replacement; each batch goes through helpers.batchnorm.batchnorm_forward,
    helpers.normalization.layernorm_forward and groupnorm_forward (gamma = 1, beta = 0) and the
    example's row is kept. Returns a Companions.
    """
    from helpers import normalization  # floor 2, imported where it is used

    z = dense_batch(z)
    sizes = tuple(int(m) for m in batch_sizes)
    if not sizes or min(sizes) < 2 or max(sizes) > len(z):
        raise ValueError(f"batch sizes must be in 2..{len(z)}; got {batch_sizes!r}")
    if isinstance(index, bool) or not 0 <= int(index) < len(z):
        raise ValueError(f"index must be in 0..{len(z) - 1}; got {index!r}")
    index, groups = int(index), int(groups)
    draws = validation.integer(draws, "draws", low=1)
    n = z.shape[1]
    ones, zeros = np.ones(n), np.zeros(n)
    example = z[index : index + 1]
    mu, var = z.mean(axis=0), z.var(axis=0)
    reference = {
        "batch": (example[0] - mu) / np.sqrt(var + eps),
        "layer": normalization.layernorm_forward(example, ones, zeros, eps)[0][0],
        "group": normalization.groupnorm_forward(example, ones, zeros, groups, eps)[0][0],
    }
    others = np.delete(z, index, axis=0)
    rng = np.random.default_rng(seed)
    outputs = {}
    for m in sizes:
        # batches[i, d] = example i of batch d; example 0 of every batch is the one followed.
        rows = np.array([rng.choice(len(others), size=m - 1, replace=False)
                         for _ in range(draws)])
        batches = np.concatenate([np.broadcast_to(example, (1, draws, n)),
                                  others[rows].transpose(1, 0, 2)])
        # BN of all draws in one call: statistics over axis 0, the m examples of each batch.
        bn = batchnorm.batchnorm_forward(batches, np.ones((draws, n)), np.zeros((draws, n)),
                                         eps, axes=(0,))[0]
        # LN and GN normalize each example on its own, so all batches can go in one call.
        flat = batches.reshape(m * draws, n)
        ln = normalization.layernorm_forward(flat, ones, zeros, eps)[0].reshape(m, draws, n)
        gn = normalization.groupnorm_forward(flat, ones, zeros, groups, eps)[0]
        outputs[m] = {"batch": bn[0], "layer": ln[0], "group": gn.reshape(m, draws, n)[0]}
    spreads = {k: np.array([float(outputs[m][k].std(axis=0).mean()) for m in sizes])
               for k in COMPANION_METHODS}
    max_change = {k: np.array([float(np.max(np.abs(outputs[m][k] - reference[k])))
                               for m in sizes]) for k in COMPANION_METHODS}
    return Companions(sizes, index, groups, reference, outputs, spreads, max_change)
