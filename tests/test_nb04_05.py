"""Notebooks 04 and 05: their exercise checkers and slider explorers, driven without a browser.

Checkers: the right answer passes; each common mistake, written out here as a student would, fails
with its own hint; broken functions (raising, None, wrong shape, NaN) fail without raising.
Explorers: compute() is compared with numbers worked out here independently (the lecture's formulas,
sampling theory, helpers.batchnorm's update), and moving a control re-renders the image.
"""

import itertools

import numpy as np
import pytest

from helpers.batchnorm import update_running_stats as helpers_update
from helpers.checks import (
    check_batchnorm_backward,
    check_batchnorm_inference,
    check_update_running_stats,
)
from helpers.widgets import MiniBatchNoiseExplorer, OptimizerExplorer, RunningAverageExplorer


# ----------------------------------------------------------------------------- batchnorm_backward
def _parts(cache):
    return cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]


def backward_staged(dz_tilde, cache):
    """The right answer, written the long way: through dvar and dmu, from mu and var."""
    z_norm, gamma, inv_std, m = _parts(cache)
    dbeta = dz_tilde.sum(axis=0)
    dgamma = (dz_tilde * z_norm).sum(axis=0)
    dz_norm = dz_tilde * gamma
    z_centered = z_norm / inv_std
    dvar = np.sum(dz_norm * z_centered, axis=0) * -0.5 * inv_std**3
    dmu = -np.sum(dz_norm * inv_std, axis=0)
    dz = dz_norm * inv_std + dvar * 2 * z_centered / m + dmu / m
    return dz, dgamma, dbeta


def backward_no_mean_branch(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - z_norm * (dz_norm * z_norm).sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_no_var_branch(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_wrong_axis(dz_tilde, cache):
    z_norm, gamma, inv_std, m = _parts(cache)
    dz_norm = gamma * dz_tilde
    dz = inv_std / m * (m * dz_norm - dz_norm.sum(axis=1, keepdims=True)
                        - z_norm * (dz_norm * z_norm).sum(axis=1, keepdims=True))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def backward_params_wrong_axis(dz_tilde, cache):
    dz, _, _ = backward_staged(dz_tilde, cache)
    return dz, (dz_tilde * cache["z_norm"]).sum(axis=1), dz_tilde.sum(axis=1)


def backward_swapped(dz_tilde, cache):
    dz, dgamma, dbeta = backward_staged(dz_tilde, cache)
    return dz, dbeta, dgamma


def backward_no_gamma(dz_tilde, cache):
    z_norm, _, inv_std, m = _parts(cache)
    dz = inv_std / m * (m * dz_tilde - dz_tilde.sum(axis=0)
                        - z_norm * (dz_tilde * z_norm).sum(axis=0))
    return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)


def test_backward_right_answer_passes_with_gradcheck_report(capsys):
    assert check_batchnorm_backward(backward_staged) is True
    out = capsys.readouterr().out
    assert "All 4 checks passed." in out
    assert "relative error against the numerical gradient" in out and "below 1e-8" in out


@pytest.mark.parametrize("fn, hint", [
    (backward_no_mean_branch, "mean branch is missing"),
    (backward_no_var_branch, "variance branch is missing"),
    (backward_wrong_axis, "wrong axis"),
    (backward_params_wrong_axis, "reduce over the batch, axis=0"),
    (backward_swapped, "dgamma and dbeta are swapped"),
    (backward_no_gamma, "gamma is missing from dz"),
])
def test_backward_mistakes_get_their_hint(fn, hint, capsys):
    assert check_batchnorm_backward(fn) is False
    assert hint in capsys.readouterr().out


def backward_raises(dz_tilde, cache):
    raise KeyError("x_hat")


@pytest.mark.parametrize("fn, message", [
    (backward_raises, "raised KeyError"),
    (lambda d, c: None, "returned None"),
    (lambda d, c: (d[:1], d.sum(axis=0), d.sum(axis=0)), "dz has shape"),
    (lambda d, c: (d * np.nan, d.sum(axis=0), d.sum(axis=0)), "contains NaN"),
    (lambda d, c: np.zeros_like(d), "expected a tuple of 3"),
    (lambda d, c: (np.zeros_like(d), np.zeros(d.shape[1]), np.zeros(d.shape[1])),
     "gradient check failed"),
    ("not a function", "pass the function itself"),
])
def test_backward_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batchnorm_backward(fn) is False
    assert message in capsys.readouterr().out


def test_backward_student_cannot_spoil_the_cache_for_later_cases(capsys):
    def mutating(dz_tilde, cache):
        result = backward_staged(dz_tilde, cache)
        cache["z_norm"][:] = 0.0  # vandalism: later cases must still be checked on fresh data
        return result

    assert check_batchnorm_backward(mutating) is True


# ----------------------------------------------------------------------------- running stats
def running_right(running_mean, running_var, z, momentum=0.9):
    mu = z.sum(axis=0) / z.shape[0]
    var = ((z - mu) ** 2).sum(axis=0) / z.shape[0]
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var


def running_pytorch(running_mean, running_var, z, momentum=0.9):
    return ((1 - momentum) * running_mean + momentum * z.mean(axis=0),
            (1 - momentum) * running_var + momentum * z.var(axis=0))


def running_unbiased(running_mean, running_var, z, momentum=0.9):
    return (momentum * running_mean + (1 - momentum) * z.mean(axis=0),
            momentum * running_var + (1 - momentum) * z.var(axis=0, ddof=1))


def running_fixed_momentum(running_mean, running_var, z, momentum=0.9):
    return running_right(running_mean, running_var, z, 0.9)


def running_in_place(running_mean, running_var, z, momentum=0.9):
    new_mean, new_var = running_right(running_mean, running_var, z, momentum)
    running_mean[:] = new_mean
    running_var[:] = new_var
    return running_mean, running_var


def test_running_right_answer_passes(capsys):
    assert check_update_running_stats(running_right) is True
    assert "All 3 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", [
    (running_pytorch, "momentum is reversed"),
    (running_unbiased, "unbiased variance"),
    (running_fixed_momentum, "momentum was fixed at 0.9"),
    (running_in_place, "changed its input running_mean in place"),
    (lambda rm, rv, z, momentum=0.9: (z.mean(axis=0), z.var(axis=0)), "batch statistics alone"),
    (lambda rm, rv, z, momentum=0.9: running_right(rm, rv, z, momentum)[::-1], "swapped"),
    (lambda rm, rv, z, momentum=0.9: (z.mean(axis=1), z.var(axis=1)), "axis=0"),
])
def test_running_mistakes_get_their_hint(fn, hint, capsys):
    assert check_update_running_stats(fn) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda *a, **k: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a, **k: None, "returned None"),
    (lambda rm, rv, z, momentum=0.9: (rm[:1], rv), "has shape"),
    (lambda rm, rv, z, momentum=0.9: (rm * np.nan, rv), "contains NaN"),
])
def test_running_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_update_running_stats(fn) is False
    assert message in capsys.readouterr().out


# ----------------------------------------------------------------------------- inference
def inference_right(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta


def inference_batch_stats(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta


def inference_eps_outside(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (z - running_mean) / (np.sqrt(running_var) + eps) + beta


def test_inference_right_answer_passes(capsys):
    assert check_batchnorm_inference(inference_right) is True
    assert "All 3 checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("fn, hint", [
    (inference_batch_stats, "batch's own mean and variance"),
    (inference_eps_outside, "eps is outside the square root"),
    (lambda z, g, b, rm, rv, eps=1e-5: b * (z - rm) / np.sqrt(rv + eps) + g, "swapped"),
    (lambda z, g, b, rm, rv, eps=1e-5: (z - rm) / np.sqrt(rv + eps), "returned z_norm"),
])
def test_inference_mistakes_get_their_hint(fn, hint, capsys):
    assert check_batchnorm_inference(fn) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda *a, **k: {}["z"], "raised KeyError"),
    (lambda *a, **k: None, "returned None"),
    (lambda z, *a, **k: z[:, :1], "has shape"),
    (lambda z, *a, **k: z * np.nan, "contains NaN"),
])
def test_inference_broken_functions_fail_without_raising(fn, message, capsys):
    assert check_batchnorm_inference(fn) is False
    assert message in capsys.readouterr().out


# ----------------------------------------------------------------------------- OptimizerExplorer
@pytest.fixture(scope="module")
def histories():
    """Made-up training histories: 6 epochs, with and without BN, for two optimizers."""
    rng = np.random.default_rng(0)
    out = {}
    for name in ("gd", "adam"):
        for bn in (True, False):
            loss = np.sort(rng.uniform(0.1, 2.0, 6))[::-1]
            val = np.sort(rng.uniform(0.5, 0.97, 6))
            out[name, bn] = {"loss": loss, "train_acc": val + 0.02, "val_acc": val}
    return out


def test_optimizer_explorer_looks_up_the_chosen_run(histories):
    explorer = OptimizerExplorer(histories, target_acc=0.8)
    explorer.sliders["optimizer"].value = "gd"
    explorer.sliders["bn"].value = "without BN"
    r = explorer.result
    h, other = histories["gd", False], histories["gd", True]
    assert (r["optimizer"], r["bn"]) == ("gd", False)
    np.testing.assert_array_equal(r["loss"], h["loss"])
    assert r["final_val_acc"] == h["val_acc"][-1] and r["final_loss"] == h["loss"][-1]
    assert r["other"]["final_val_acc"] == other["val_acc"][-1]
    first = next((e + 1 for e, a in enumerate(h["val_acc"]) if a >= 0.8), None)
    assert r["epochs_to_target"] == first
    assert "gd without BN" in explorer.readout.value


def test_optimizer_explorer_redraws_the_image(histories):
    explorer = OptimizerExplorer(histories)
    before = explorer.image.value
    explorer.sliders["optimizer"].value = "gd"
    assert explorer.image.value != before and len(explorer.redraw_ms) == 2


def test_optimizer_explorer_rejects_incomplete_histories(histories):
    with pytest.raises(ValueError, match="with and one without BN"):
        OptimizerExplorer({("gd", True): histories["gd", True]})
    with pytest.raises(ValueError, match="val_acc"):
        OptimizerExplorer({("gd", True): {"loss": [1.0]}, ("gd", False): {"loss": [1.0]}})


# ----------------------------------------------------------------------------- MiniBatchNoiseExplorer
@pytest.fixture(scope="module")
def population():
    return np.random.default_rng(3).gamma(2.0, 1.5, size=400)  # skewed, like a real unit


@pytest.fixture(scope="module")
def noise(population):
    index = int(np.argmin(np.abs(population - (population.mean() + 1.2 * population.std()))))
    return MiniBatchNoiseExplorer(population, index=index, batch_sizes=(2, 8, 32, 128),
                                  draws=6000, seed=1)


def test_additive_part_follows_sampling_without_replacement(noise, population):
    z0 = population[noise.index]
    others = np.delete(population, noise.index)
    N, s2 = others.size, others.var()
    sigma = np.sqrt(population.var() + 1e-5)
    for m in noise.sizes:
        k = m - 1
        var_sum = k * s2 * (N - k) / (N - 1)  # variance of a sum of k draws without replacement
        r = noise.compute({"m": m})
        assert r["spread_additive"] == pytest.approx(np.sqrt(var_sum) / m / sigma, rel=0.05)
        expected_mean = (z0 - (z0 + k * others.mean()) / m) / sigma
        assert r["mean_additive"] == pytest.approx(expected_mean, abs=0.03)


def test_batch_of_two_gives_plus_or_minus_one(noise, population):
    # With a companion c, z0 - mu_B = (z0 - c) / 2 and var_B = ((z0 - c) / 2)**2: the normalized
    # value is +-1, shrunk only by eps where z0 and c nearly coincide.
    values = noise.values[2]
    half_gap = values["additive"] * np.sqrt(population.var() + 1e-5)  # (z0 - c) / 2
    np.testing.assert_allclose(values["total"], half_gap / np.sqrt(half_gap**2 + 1e-5), atol=1e-9)
    assert np.mean(np.abs(np.abs(values["total"]) - 1) < 1e-3) > 0.95


def test_noise_shrinks_with_the_batch_size(noise):
    spreads = [noise.compute({"m": m})["spread_total"] for m in noise.sizes[1:]]
    assert all(a > b for a, b in itertools.pairwise(spreads))
    assert -0.65 < noise.slopes["total"] < -0.4
    exact = (noise.z0 - noise.z.mean()) / np.sqrt(noise.z.var() + 1e-5)
    assert noise.compute({"m": 8})["exact"] == pytest.approx(exact)


def test_noise_slider_redraws(noise):
    before = noise.image.value
    noise.sliders["m"].value = 128
    assert noise.result["m"] == 128 and noise.image.value != before
    assert f"{noise.result['spread_total']:.3f}" in noise.readout.value


# ----------------------------------------------------------------------------- RunningAverageExplorer
@pytest.fixture(scope="module")
def stream():
    rng = np.random.default_rng(5)
    means, stds = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 0.5])
    batches = [rng.normal(size=(32, 3)) * stds + means for _ in range(150)]
    return (np.array([b.mean(axis=0) for b in batches]), np.array([b.var(axis=0) for b in batches]),
            means, stds**2)


@pytest.mark.parametrize("momentum", [0.5, 0.9, 0.99])
def test_running_averages_match_helpers_update(stream, momentum):
    batch_means, batch_vars, mean, var = stream
    explorer = RunningAverageExplorer(batch_means, batch_vars, mean, var, unit=1)
    r = explorer.compute({"momentum": momentum})
    rm, rv = np.zeros(3), np.ones(3)
    for bm, bv in zip(batch_means, batch_vars):
        rm, rv = helpers_update(rm, rv, bm, bv, momentum)
    np.testing.assert_allclose(r["running_mean"][-1], rm, rtol=1e-12)
    np.testing.assert_allclose(r["running_var"][-1], rv, rtol=1e-12)
    assert r["final_mean_error"] == pytest.approx(np.mean(np.abs(rm - mean) / np.sqrt(var)))
    assert r["final_var_error"] == pytest.approx(np.mean(np.abs(rv - var) / var))
    assert r["start_weight"] == pytest.approx(momentum**150)


def test_high_momentum_is_still_far_off_after_few_steps(stream):
    explorer = RunningAverageExplorer(*stream)
    slow, fast = explorer.compute({"momentum": 0.999}), explorer.compute({"momentum": 0.9})
    assert slow["steps_to_tol"] is None and slow["final_var_error"] > 0.2
    assert fast["steps_to_tol"] is not None and fast["final_mean_error"] < 0.1


def test_momentum_slider_redraws(stream):
    explorer = RunningAverageExplorer(*stream)
    before = explorer.image.value
    explorer.sliders["momentum"].value = 0.99
    assert explorer.result["momentum"] == 0.99 and explorer.image.value != before
    assert "momentum 0.99" in explorer.readout.value
