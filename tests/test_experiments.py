"""helpers.experiments: the numbers the notebooks teach, checked without any figure or widget.

Each experiment is compared with the lecture's formulas or with sampling theory written out
here in NumPy (never with the function's own code), on data small enough to run in milliseconds.
"""

import itertools

import numpy as np
import pytest

from helpers import data, experiments
from helpers.batchnorm import update_running_stats
from helpers.normalization import groupnorm_forward, layernorm_forward


def lecture_bn(z, gamma, beta, eps):
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


# ============================================================================= notebook 01
@pytest.fixture(scope="module")
def wine_pair():
    wine = data.load_wine()
    X_train, _, y_train, _ = data.train_test_split(wine.X, wine.y)
    names = list(wine.feature_names)
    X = X_train[:, [names.index("proline"), names.index("hue")]] / [1000.0, 1.0]  # g/L
    return X, (y_train == 0).astype(float)


def hessian_eigenvalues(X):
    A = np.column_stack([X, np.ones(len(X))])
    return np.linalg.eigvalsh(A.T @ A / len(X))


@pytest.mark.parametrize("scale", [1.0, 10.0, 1000.0])
def test_input_scale_eigenvalues_and_stable_lr_match_the_data(wine_pair, scale):
    X, t = wine_pair
    r = experiments.input_scale(X, t, scale=scale, lr_fraction=0.9, max_steps=50)
    ev = hessian_eigenvalues(X * [scale, 1.0])
    np.testing.assert_allclose(r.eigenvalues, ev, rtol=1e-8)
    assert r.condition_number == pytest.approx(ev[-1] / ev[0], rel=1e-6)
    assert r.stable_lr == pytest.approx(2 / ev[-1], rel=1e-10)
    assert r.lr == pytest.approx(0.9 * 2 / ev[-1], rel=1e-10)


def test_condition_number_grows_with_scale_and_normalizing_lowers_it(wine_pair):
    X, t = wine_pair
    kappas = [experiments.input_scale(X, t, s, max_steps=1).condition_number
              for s in (1.0, 10.0, 100.0, 1000.0)]
    assert all(b > 10 * a for a, b in itertools.pairwise(kappas))  # curvature ~ scale**2
    Xn = (X - X.mean(0)) / X.std(0)
    ev = hessian_eigenvalues(Xn)
    for scale in (1.0, 1000.0):  # any scale normalizes to the same features
        r = experiments.input_scale(X, t, scale, normalize=True, max_steps=1)
        assert r.condition_number == pytest.approx(ev[-1] / ev[0], rel=1e-5)
    assert r.condition_number < kappas[0] / 10


def test_descent_below_the_limit_converges_above_it_diverges(wine_pair):
    X, t = wine_pair
    r = experiments.descent(X, t, lr_fraction=0.9, max_steps=600)
    assert np.all(np.diff(r.gaps) <= 1e-12) and r.gaps[-1] < 1e-6 * r.gaps[0]
    k = r.run.steps_to_tol
    assert k is not None and r.gaps[k] <= 1e-6 < r.gaps[k - 1]
    assert r.status == f"converged in {k:,} steps"
    # The start: w = 0, b at its optimum; the end: the least-squares fit.
    A = np.column_stack([X, np.ones(len(X))])
    best = np.linalg.lstsq(A, t, rcond=None)[0]
    np.testing.assert_allclose(r.run.thetas[0], [0.0, 0.0, best[2]], atol=1e-12)
    np.testing.assert_allclose(r.run.thetas[-1], best, atol=1e-4)
    np.testing.assert_allclose(r.gaps, r.run.losses - r.loss_star)

    above = experiments.descent(X, t, lr_fraction=1.1, max_steps=600)
    assert above.run.diverged and above.status == "diverges"
    assert above.gaps[-1] > 1e3 * above.gaps[0] and above.predicted_steps is None


def test_large_scale_does_not_converge_within_the_budget(wine_pair):
    X, t = wine_pair
    r = experiments.input_scale(X, t, scale=1000.0, max_steps=600)
    assert r.run.steps_to_tol is None and not r.run.diverged
    assert r.predicted_steps > 100 * 600
    assert r.status.startswith("not converged in 600 steps (theory:")


def test_loss_landscape_is_the_loss_and_its_ellipses_are_level_sets(wine_pair):
    X, t = wine_pair
    theta_star, loss_star = experiments.descent(X, t, max_steps=1)[4:6]
    w1, w2 = np.linspace(-1, 1, 5), np.linspace(-2, 2, 4)
    land = experiments.loss_landscape(X, t, w1, w2, gap_levels=(0.01, 0.1))
    A = np.column_stack([X, np.ones(len(X))])
    for j, i in itertools.product(range(4), range(5)):
        r = A @ np.array([w1[i], w2[j], theta_star[2]]) - t
        assert land.background[j, i] == pytest.approx(r @ r / (2 * len(t)) - loss_star)
    for gap, ellipse in zip((0.01, 0.1), land.ellipses):
        thetas = np.column_stack([ellipse, np.full(len(ellipse), theta_star[2])])
        losses = np.mean((thetas @ A.T - t) ** 2, axis=1) / 2
        np.testing.assert_allclose(losses - loss_star, gap, rtol=1e-6)


def test_input_scale_is_pure_and_checks_its_input(wine_pair):
    X, t = wine_pair
    before = X.copy()
    first = experiments.input_scale(X, t, 30.0, 0.7)
    second = experiments.input_scale(X, t, 30.0, 0.7)
    np.testing.assert_array_equal(first.run.thetas, second.run.thetas)
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="X must have shape"):
        experiments.scaled_features(np.c_[X, X])
    with pytest.raises(ValueError, match="scale"):
        experiments.scaled_features(X, scale=-1.0)


# ============================================================================= notebooks 02, 03
@pytest.fixture(scope="module")
def z():
    """A batch of 200 examples x 12 units, each unit with its own mean and spread."""
    rng = np.random.default_rng(7)
    means = rng.uniform(-3.0, 3.0, size=12)
    stds = rng.uniform(0.2, 2.0, size=12)
    return rng.normal(size=(200, 12)) * stds + means


@pytest.mark.parametrize("gamma, beta, eps", [(1.0, 0.0, 1e-5), (2.5, -1.0, 1e-5), (0.5, 3.0, 1.0)])
def test_bn_activation_follows_the_formula(z, gamma, beta, eps):
    r = experiments.bn_activation(z, gamma, beta, eps, "sigmoid")
    np.testing.assert_allclose(r.z_tilde, lecture_bn(z, gamma, beta, eps), atol=1e-12)
    var = z.var(axis=0)
    np.testing.assert_allclose(r.var, var, rtol=1e-12)
    # Every unit has mean beta and variance gamma^2 var / (var + eps), so pooled over units:
    assert r.z_tilde_mean == pytest.approx(beta, abs=1e-12)
    assert r.z_tilde_std == pytest.approx(gamma * np.sqrt(np.mean(var / (var + eps))), rel=1e-10)
    assert r.z_norm_std == pytest.approx(np.sqrt(np.mean(var / (var + eps))), rel=1e-10)


def test_large_eps_shrinks_z_norm(z):
    assert experiments.bn_activation(z, eps=1e-8).z_norm_std == pytest.approx(1.0, abs=1e-6)
    assert experiments.bn_activation(z, eps=100.0).z_norm_std < 0.3  # every var here < 4


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturation_threshold_is_where_the_slope_is_30_percent_of_its_maximum(name):
    edge = experiments.saturation_threshold(name)
    x = np.linspace(0.0, 6.0, 600_001)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        slope = s * (1 - s) / 0.25
    else:
        slope = 1 - np.tanh(x) ** 2
    # The first x where the slope drops below 30% of its maximum, found by brute force.
    assert edge == pytest.approx(x[np.argmax(slope < 0.3)], abs=2e-5)
    assert experiments.SATURATION[name] == edge


def test_saturation_thresholds_differ_by_activation():
    # tanh(x) = 2 sigmoid(2x) - 1: tanh is twice as steep, so it saturates at half the input.
    assert experiments.SATURATION["sigmoid"] == pytest.approx(2.42, abs=0.005)
    assert experiments.SATURATION["tanh"] == pytest.approx(1.21, abs=0.005)
    assert experiments.saturation_threshold("tanh", 0.5) < experiments.SATURATION["tanh"]
    with pytest.raises(ValueError, match="name must be one of"):
        experiments.saturation_threshold("relu")
    with pytest.raises(ValueError, match="slope"):
        experiments.saturation_threshold("tanh", 1.0)


@pytest.mark.parametrize("name, edge", [("sigmoid", 2.4199), ("tanh", 1.2099)])
def test_saturation_and_slope(z, name, edge):
    r = experiments.bn_activation(z, 3.0, 0.5, 1e-5, name)
    zt = lecture_bn(z, 3.0, 0.5, 1e-5)
    assert r.saturated == pytest.approx(np.mean(np.abs(zt) > edge))
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-zt))
        slope = np.mean(s * (1 - s) / 0.25)
        np.testing.assert_allclose(r.a, s, atol=1e-12)
    else:
        slope = np.mean(1 - np.tanh(zt) ** 2)
        np.testing.assert_allclose(r.a, np.tanh(zt), atol=1e-12)
    assert r.slope_ratio == pytest.approx(slope, rel=1e-10)
    assert r.dead is None and r.dead_units is None


def test_gamma_one_keeps_sigmoid_nearly_linear_and_gamma_four_uses_its_curve(z):
    narrow = experiments.bn_activation(z, 1.0, 0.0, 1e-5, "sigmoid")
    assert narrow.saturated < 0.03 and narrow.slope_ratio > 0.75
    wide = experiments.bn_activation(z, 4.0, 0.0, 1e-5, "sigmoid")
    assert wide.saturated > 0.3 and wide.slope_ratio < 0.5


def test_relu_dead_outputs_and_dead_units(z):
    r = experiments.bn_activation(z, 1.0, -3.0, 1e-5, "relu")
    zt = lecture_bn(z, 1.0, -3.0, 1e-5)
    assert r.dead == pytest.approx(np.mean(zt <= 0))
    assert r.dead_units == int(np.sum(np.all(zt <= 0, axis=0))) and r.dead_units > 0
    assert r.saturated is None and r.slope_ratio == pytest.approx(np.mean(zt > 0))
    np.testing.assert_allclose(r.a, np.maximum(zt, 0), atol=1e-12)
    assert experiments.bn_activation(z, 1.0, 0.0, 1e-5, "relu").dead == pytest.approx(0.5, abs=0.05)


def test_bn_activation_bad_input_gets_a_clear_error(z):
    with pytest.raises(ValueError, match="z must have 2 dimension"):
        experiments.bn_activation(z[:, 0])
    with pytest.raises(TypeError, match="floating-point"):
        experiments.bn_activation(z.astype(int))
    bad = z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        experiments.bn_activation(bad)
    with pytest.raises(ValueError, match="batch of at least 2"):
        experiments.bn_activation(z[:1])
    with pytest.raises(ValueError, match="activation must be one of"):
        experiments.bn_activation(z, activation="elu")
    with pytest.raises(ValueError, match="eps"):
        experiments.bn_activation(z, eps=0.0)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_identity_blend_interpolates_gamma_and_beta(z, t):
    r = experiments.identity_blend(z, t, eps=1e-5)
    mu, var = z.mean(axis=0), z.var(axis=0)
    gamma, beta = (1 - t) + t * np.sqrt(var + 1e-5), t * mu
    np.testing.assert_allclose(r.gamma, gamma, rtol=1e-12)
    np.testing.assert_allclose(r.beta, beta, atol=1e-12)
    np.testing.assert_allclose(r.z_tilde, lecture_bn(z, gamma, beta, 1e-5), atol=1e-12)
    np.testing.assert_allclose(r.unit_mean, beta, atol=1e-12)


def test_identity_blend_ends_are_normalized_and_identity(z):
    start = experiments.identity_blend(z, 0.0)
    var = z.var(axis=0)
    np.testing.assert_allclose(start.unit_mean, 0, atol=1e-12)
    np.testing.assert_allclose(start.unit_std, np.sqrt(var / (var + 1e-5)), rtol=1e-10)
    end = experiments.identity_blend(z, 1.0)
    assert end.max_abs_diff < 1e-12
    assert end.max_abs_diff == pytest.approx(np.max(np.abs(end.z_tilde - z)))
    with pytest.raises(ValueError, match=r"blend must be in \[0, 1\]"):
        experiments.identity_blend(z, 1.5)


@pytest.fixture(scope="module")
def across():
    rng = np.random.default_rng(11)
    population = rng.normal(size=(600, 5)) * rng.uniform(0.3, 2.0, 5) + rng.uniform(-2, 2, 5)
    return population, experiments.identity_across_batches(population, sizes=(4, 16, 64),
                                                           seeds=(0, 1, 2), batches=30)


def test_identity_across_batches_is_exact_only_with_fixed_statistics(across):
    population, r = across
    assert r.mean_abs.shape == r.max_abs.shape == r.population_mean_abs.shape == (3, 3)
    assert r.inference_max_abs < 1e-12  # population statistics: the identity holds everywhere
    assert np.all(r.mean_abs > 1e-3) and np.all(r.max_abs >= r.mean_abs)  # batches: it does not
    mu = population.mean(axis=0)
    assert r.typical == pytest.approx(np.mean(np.abs(population - mu)), rel=1e-12)


def test_identity_across_batches_error_shrinks_like_one_over_sqrt_m(across):
    _, r = across
    means = r.mean_abs.mean(axis=1)
    assert np.all(np.diff(means) < 0)
    # m grows 16-fold from 4 to 64: 1/sqrt(m) predicts a 4-fold drop.
    assert 2.5 < means[0] / means[-1] < 6.5
    # The population's gamma and beta are the better single choice on average.
    assert np.all(r.population_mean_abs.mean(axis=1) < means)


def test_identity_across_batches_matches_a_direct_computation():
    # One batch size, one seed, one fresh batch: recompute by hand with the same generator.
    rng = np.random.default_rng(5)
    population = rng.normal(size=(50, 3)) * [1.0, 0.5, 2.0] + [0.0, 1.0, -1.0]
    r = experiments.identity_across_batches(population, sizes=(10,), seeds=(4,), batches=1)
    draw = np.random.default_rng([4, 10])
    fit = population[draw.choice(50, 10, replace=False)]
    z = population[draw.choice(50, 10, replace=False)]
    gamma, beta = np.sqrt(fit.var(axis=0) + 1e-5), fit.mean(axis=0)
    diff = np.abs(lecture_bn(z, gamma, beta, 1e-5) - z)
    assert r.mean_abs[0, 0] == pytest.approx(diff.mean(), rel=1e-10)
    assert r.max_abs[0, 0] == pytest.approx(diff.max(), rel=1e-10)
    pop = lecture_bn(z, np.sqrt(population.var(axis=0) + 1e-5), population.mean(axis=0), 1e-5)
    assert r.population_mean_abs[0, 0] == pytest.approx(np.abs(pop - z).mean(), rel=1e-10)


def test_identity_across_batches_checks_its_input(across):
    population, _ = across
    with pytest.raises(ValueError, match="size must be an int in"):
        experiments.identity_across_batches(population, sizes=(1,))
    with pytest.raises(ValueError, match="size must be an int in"):
        experiments.identity_across_batches(population, sizes=(601,))
    with pytest.raises(ValueError, match="at least one entry"):
        experiments.identity_across_batches(population, seeds=())
    with pytest.raises(ValueError, match="z_population must have 2 dimension"):
        experiments.identity_across_batches(population[:, 0])


# ============================================================================= notebook 04
def test_run_summary_and_epochs_to_target():
    history = {"loss": [2.0, 1.0, 0.5], "train_acc": [0.5, 0.8, 0.95],
               "val_acc": [0.4, 0.85, 0.92]}
    r = experiments.run_summary(history, target_acc=0.8)
    assert (r.final_loss, r.final_train_acc, r.final_val_acc) == (0.5, 0.95, 0.92)
    assert r.epochs_to_target == 2
    np.testing.assert_array_equal(r.loss, history["loss"])
    assert experiments.epochs_to_target(history["val_acc"], 0.9) == 3
    assert experiments.epochs_to_target(history["val_acc"], 0.99) is None
    with pytest.raises(ValueError, match="val_acc"):
        experiments.run_summary({"loss": [1.0]})


# ============================================================================= notebook 05
@pytest.fixture(scope="module")
def population():
    return np.random.default_rng(3).gamma(2.0, 1.5, size=400)  # skewed, like a real unit


@pytest.fixture(scope="module")
def noise(population):
    index = int(np.argmin(np.abs(population - (population.mean() + 1.2 * population.std()))))
    return experiments.minibatch_noise(population, index=index, batch_sizes=(2, 8, 32, 128),
                                       draws=6000, seed=1)


def test_additive_part_follows_sampling_without_replacement(noise, population):
    z0 = population[noise.index]
    others = np.delete(population, noise.index)
    N, s2 = others.size, others.var()
    sigma = np.sqrt(population.var() + 1e-5)
    for i, m in enumerate(noise.sizes):
        k = m - 1
        var_sum = k * s2 * (N - k) / (N - 1)  # variance of a sum of k draws without replacement
        assert noise.spreads["additive"][i] == pytest.approx(np.sqrt(var_sum) / m / sigma,
                                                             rel=0.05)
        expected_mean = (z0 - (z0 + k * others.mean()) / m) / sigma
        assert noise.values[m]["additive"].mean() == pytest.approx(expected_mean, abs=0.03)


def test_batch_of_two_gives_plus_or_minus_one(noise, population):
    # With a companion c, z0 - mu_B = (z0 - c) / 2 and var_B = ((z0 - c) / 2)**2: the normalized
    # value is +-1, shrunk only by eps where z0 and c nearly coincide.
    values = noise.values[2]
    half_gap = values["additive"] * np.sqrt(population.var() + 1e-5)  # (z0 - c) / 2
    np.testing.assert_allclose(values["total"], half_gap / np.sqrt(half_gap**2 + 1e-5), atol=1e-9)
    assert np.mean(np.abs(np.abs(values["total"]) - 1) < 1e-3) > 0.95


def test_noise_shrinks_with_the_batch_size(noise, population):
    spreads = noise.spreads["total"][1:]
    assert all(a > b for a, b in itertools.pairwise(spreads))
    assert -0.65 < noise.slopes["total"] < -0.4
    exact = (population[noise.index] - population.mean()) / np.sqrt(population.var() + 1e-5)
    assert noise.exact == pytest.approx(exact) and noise.z0 == population[noise.index]
    for m in noise.sizes:
        assert noise.values[m]["multiplicative"].shape == (6000,)


def test_minibatch_noise_is_seeded(population):
    small = dict(index=0, batch_sizes=(2, 4), draws=50)
    a = experiments.minibatch_noise(population, seed=5, **small)
    b = experiments.minibatch_noise(population, seed=5, **small)
    c = experiments.minibatch_noise(population, seed=6, **small)
    np.testing.assert_array_equal(a.values[4]["total"], b.values[4]["total"])
    assert not np.array_equal(a.values[4]["total"], c.values[4]["total"])
    with pytest.raises(ValueError, match="batch sizes"):
        experiments.minibatch_noise(population, batch_sizes=(1, 4))
    with pytest.raises(ValueError, match="index"):
        experiments.minibatch_noise(population, index=400)
    with pytest.raises(ValueError, match="z must have 1 dimension"):
        experiments.minibatch_noise(population.reshape(20, 20))


@pytest.mark.parametrize("momentum", [0.5, 0.9, 0.99])
def test_running_averages_match_helpers_update(stream, momentum):
    batch_means, batch_vars, mean, var = stream
    r = experiments.running_average_errors(batch_means, batch_vars, mean, var, momentum)
    rm, rv = np.zeros(3), np.ones(3)
    for bm, bv in zip(batch_means, batch_vars):
        rm, rv = update_running_stats(rm, rv, bm, bv, momentum)
    np.testing.assert_allclose(r.running_mean[-1], rm, rtol=1e-12)
    np.testing.assert_allclose(r.running_var[-1], rv, rtol=1e-12)
    np.testing.assert_allclose(experiments.running_averages(batch_means, momentum, 0.0),
                               r.running_mean)
    assert r.running_mean.shape == (151, 3) and np.all(r.running_var[0] == 1)
    assert r.final_mean_error == pytest.approx(np.mean(np.abs(rm - mean) / np.sqrt(var)))
    assert r.final_var_error == pytest.approx(np.mean(np.abs(rv - var) / var))
    assert r.start_weight == pytest.approx(momentum**150)


def test_high_momentum_is_still_far_off_after_few_steps(stream):
    slow = experiments.running_average_errors(*stream, momentum=0.999)
    fast = experiments.running_average_errors(*stream, momentum=0.9)
    assert slow.steps_to_tol is None and slow.final_var_error > 0.2
    assert fast.steps_to_tol is not None and fast.final_mean_error < 0.1
    # from steps_to_tol on, both errors stay below the tolerance
    assert np.all(fast.mean_error[fast.steps_to_tol:] < 0.05)
    assert np.all(fast.var_error[fast.steps_to_tol:] < 0.05)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        experiments.running_average_errors(*stream, momentum=1.0)


# ============================================================================= notebook 06
# `digits` and `shift_models` are shared fixtures (tests/conftest.py).
def manual_accuracy(net, params, X_adapt, X_test, y_test):
    """BN-before ReLU network whose statistics come from X_adapt, written out in NumPy."""
    a, a_test = X_adapt, X_test
    for l in net.hidden:
        z, z_test = a @ params[f"W{l}"], a_test @ params[f"W{l}"]
        mu, var = z.mean(axis=0), z.var(axis=0)
        scale = params[f"gamma{l}"] / np.sqrt(var + net.eps)
        a = np.maximum(0, (z - mu) * scale + params[f"beta{l}"])
        a_test = np.maximum(0, (z_test - mu) * scale + params[f"beta{l}"])
    logits = a_test @ params[f"W{net.L}"] + params[f"b{net.L}"]
    return np.mean(logits.argmax(axis=1) == y_test)


def test_covariate_shift_accuracies(shift_models, digits):
    X_train, X_test, _, y_test = digits
    X_adapt = X_train[:300]
    r = experiments.covariate_shift(shift_models, X_adapt, X_test, y_test, strengths=(0.3, 1.0))
    assert list(r.accuracy) == ["no BN", "BN", "BN, stats re-estimated"]
    np.testing.assert_array_equal(r.strengths, [0.3, 1.0])
    for i, s in enumerate(r.strengths):
        X_shift = np.clip((1 + s) * X_test + 0.4 * s * 16, 0, 16) / 16
        for label in ("no BN", "BN"):
            net, params, state = shift_models[label]
            assert r.accuracy[label][i] == pytest.approx(
                net.accuracy(params, state, X_shift, y_test))
        net, params, _ = shift_models["BN"]
        adapt_shift = np.clip((1 + s) * X_adapt + 0.4 * s * 16, 0, 16) / 16
        expected = manual_accuracy(net, params, adapt_shift, X_shift, y_test)
        assert r.accuracy["BN, stats re-estimated"][i] == pytest.approx(expected, abs=1e-9)
        assert r.saturated[i] == pytest.approx(np.mean(X_shift >= 1.0))
    # at full strength re-estimation beats both unadapted networks
    assert r.accuracy["BN, stats re-estimated"][-1] > max(r.accuracy["no BN"][-1],
                                                          r.accuracy["BN"][-1]) + 0.2
    default = experiments.covariate_shift({"no BN": shift_models["no BN"]}, X_adapt[:20],
                                          X_test[:50], y_test[:50])
    np.testing.assert_allclose(default.strengths, np.linspace(0, 1, 11))
    assert list(default.accuracy) == ["no BN"] and default.scale == 1 / 16


def test_covariate_shift_applies_the_training_normalization(shift_models, digits):
    # Models trained on (X - offset) * scale must see the shifted images the same way.
    X_train, X_test, _, y_test = digits
    offset, scale = 4.9, 1 / 6.0
    r = experiments.covariate_shift(shift_models, X_train[:200], X_test, y_test,
                                    strengths=(0.5,), scale=scale, offset=offset)
    shifted = (np.clip(1.5 * X_test + 0.2 * 16, 0, 16) - offset) * scale
    net, params, state = shift_models["no BN"]
    assert r.accuracy["no BN"][0] == pytest.approx(net.accuracy(params, state, shifted, y_test))
    assert r.offset == offset and r.scale == scale
    # the share of saturated pixels is counted on the camera's grey levels, not after scaling
    assert r.saturated[0] == pytest.approx(np.mean(np.clip(1.5 * X_test + 3.2, 0, 16) >= 16))
    with pytest.raises(ValueError, match="offset"):
        experiments.covariate_shift(shift_models, X_train, X_test, y_test, offset=np.nan)


def test_covariate_shift_bad_input(shift_models, digits):
    X_train, X_test, _, y_test = digits
    with pytest.raises(TypeError, match="models"):
        experiments.covariate_shift([], X_train, X_test, y_test)
    with pytest.raises(ValueError, match=r"\(m, 64\)"):
        experiments.covariate_shift(shift_models, X_train[:, :10], X_test, y_test)
    with pytest.raises(ValueError, match="strength"):
        experiments.covariate_shift(shift_models, X_train, X_test, y_test, strengths=[1.5])


# ============================================================================= notebook 08
@pytest.fixture(scope="module")
def z_layer():
    rng = np.random.default_rng(0)
    X = data.load_digits().X[:400] / 16.0
    return X @ rng.normal(0.0, np.sqrt(2 / 64), (64, 16))


@pytest.fixture(scope="module")
def companions(z_layer):
    return experiments.normalization_companions(z_layer, index=3, batch_sizes=(2, 4, 16, 64),
                                                draws=120, groups=4)


def test_ln_and_gn_outputs_never_move_and_match_the_example_alone(companions, z_layer):
    ones, zeros = np.ones(16), np.zeros(16)
    alone_ln = layernorm_forward(z_layer[3:4], ones, zeros)[0][0]
    alone_gn = groupnorm_forward(z_layer[3:4], ones, zeros, 4)[0][0]
    np.testing.assert_allclose(companions.reference["layer"], alone_ln, atol=1e-12)
    for i, m in enumerate(companions.sizes):
        outputs = companions.outputs[m]
        assert outputs["batch"].shape == (120, 16)
        np.testing.assert_allclose(outputs["layer"], np.broadcast_to(alone_ln, (120, 16)),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(outputs["group"], np.broadcast_to(alone_gn, (120, 16)),
                                   rtol=0, atol=1e-12)
        assert companions.spreads["layer"][i] < 1e-12 and companions.spreads["group"][i] < 1e-12
        assert companions.max_change["layer"][i] < 1e-12


def test_bn_output_moves_with_the_batch_and_shrinks_like_one_over_sqrt_m(companions, z_layer):
    spreads = companions.spreads["batch"]
    assert np.all(np.diff(spreads) < 0)
    slope = np.polyfit(np.log(companions.sizes[1:]), np.log(spreads[1:]), 1)[0]
    assert -0.65 < slope < -0.35  # about -1/2
    # At m = 2 each unit's z_norm is +-1 (up to eps): the companion only decides the sign.
    at2 = companions.outputs[2]["batch"]
    assert np.mean(np.abs(np.abs(at2) - 1) < 0.01) > 0.9
    # The reference is the example normalized with the whole population's statistics, and a
    # batch's output is BN of that batch: check one draw by hand.
    mu, var = z_layer.mean(axis=0), z_layer.var(axis=0)
    np.testing.assert_allclose(companions.reference["batch"], (z_layer[3] - mu) / np.sqrt(var + 1e-5))
    np.testing.assert_allclose(companions.spreads["batch"][1],
                               companions.outputs[4]["batch"].std(axis=0).mean())
    assert companions.max_change["batch"][0] == pytest.approx(
        np.max(np.abs(at2 - companions.reference["batch"])))


def test_companions_are_seeded_and_check_their_input(z_layer):
    small = dict(batch_sizes=(2, 4), draws=5)
    a = experiments.normalization_companions(z_layer, seed=1, **small)
    b = experiments.normalization_companions(z_layer, seed=1, **small)
    np.testing.assert_array_equal(a.outputs[4]["batch"], b.outputs[4]["batch"])
    with pytest.raises(ValueError, match="batch sizes"):
        experiments.normalization_companions(z_layer, batch_sizes=(1, 4))
    with pytest.raises(ValueError, match="index"):
        experiments.normalization_companions(z_layer, index=400)
    with pytest.raises(ValueError, match="groups must divide"):
        experiments.normalization_companions(z_layer, groups=5, batch_sizes=(2,), draws=3)
