"""helpers.batchnorm in NumPy alone: formulas, gradients, numerics, running stats, bad input.

Expected values are computed here independently (straight from the lecture's formulas in
float64), never copied from the implementation. TensorFlow comparisons: test_tf_reference.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.batchnorm import (
    batch_moments,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    update_running_stats,
)
from helpers.gradcheck import numerical_gradient_array, relative_error


def lecture_bn(z, gamma, beta, eps, axes):
    """The lecture's formulas, written out in float64 for comparison."""
    z = np.asarray(z, dtype=np.float64)
    mu = z.mean(axis=axes, keepdims=True)
    var = ((z - mu) ** 2).mean(axis=axes, keepdims=True)
    shape = [1 if i in axes else s for i, s in enumerate(z.shape)]
    z_norm = (z - mu) / np.sqrt(var + eps)
    return np.reshape(gamma, shape) * z_norm + np.reshape(beta, shape)


def params(rng, n, dtype=np.float64):
    gamma = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    beta = rng.normal(size=n).astype(dtype)
    return gamma, beta


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize(
    "shape, axes",
    [((8, 5), (0,)), ((2, 4, 4, 3), (0, 1, 2)), ((6, 3, 2), (0,)), ((6, 3, 2), (0, 2))],
)
def test_forward_matches_lecture_formula(shape, axes):
    rng = np.random.default_rng(0)
    z = rng.normal(3.0, 2.0, size=shape)
    kept = tuple(s for i, s in enumerate(shape) if i not in axes)
    gamma, beta = params(rng, kept)
    out, cache = batchnorm_forward(z, gamma, beta, eps=1e-5, axes=axes)
    np.testing.assert_allclose(out, lecture_bn(z, gamma, beta, 1e-5, axes), rtol=0, atol=1e-12)
    # The cache holds the batch statistics, one per unit.
    np.testing.assert_allclose(cache["mu"], z.mean(axis=axes), atol=1e-12)
    np.testing.assert_allclose(cache["var"], z.var(axis=axes), atol=1e-12)


def test_normalized_units_have_mean_zero_variance_one_then_gamma_beta():
    rng = np.random.default_rng(1)
    z = rng.normal(-7.0, 30.0, size=(256, 4))
    gamma, beta = params(rng, 4)
    _, cache = batchnorm_forward(z, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(cache["z_norm"].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(cache["z_norm"].var(axis=0), 1, atol=1e-8)  # eps << var
    out, _ = batchnorm_forward(z, gamma, beta)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-8)


def test_identity_recovery_gamma_sqrt_var_beta_mu():
    rng = np.random.default_rng(2)
    z = rng.normal(5.0, 3.0, size=(64, 6))
    eps = 1e-5
    out, _ = batchnorm_forward(z, np.sqrt(z.var(axis=0) + eps), z.mean(axis=0), eps=eps)
    np.testing.assert_allclose(out, z, atol=1e-12)


def test_batch_moments_biased_like_tf_nn_moments():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(10, 3, 3, 4))
    mu, var = batch_moments(z, axes=(0, 1, 2))
    assert mu.shape == var.shape == (4,)
    flat = z.reshape(-1, 4)
    np.testing.assert_allclose(mu, flat.sum(0) / len(flat), atol=1e-12)
    np.testing.assert_allclose(var, ((flat - flat.sum(0) / len(flat)) ** 2).sum(0) / len(flat))


def test_output_is_not_affected_by_a_bias_added_before_bn():
    # Why b is redundant under BN: the mean subtraction removes any constant per unit.
    rng = np.random.default_rng(4)
    z = rng.normal(size=(32, 5))
    gamma, beta = params(rng, 5)
    b = rng.normal(scale=10.0, size=5)
    out, _ = batchnorm_forward(z, gamma, beta)
    out_b, _ = batchnorm_forward(z + b, gamma, beta)
    np.testing.assert_allclose(out, out_b, atol=1e-10)


# ----------------------------------------------------------------------------- backward
@pytest.mark.parametrize("shape, axes", [((7, 4), (0,)), ((3, 2, 2, 3), (0, 1, 2))])
def test_backward_passes_gradient_check(shape, axes):
    rng = np.random.default_rng(5)
    z = rng.normal(2.0, 3.0, size=shape)
    kept = tuple(s for i, s in enumerate(shape) if i not in axes)
    gamma, beta = params(rng, kept)
    dout = rng.normal(size=shape) * rng.uniform(0.1, 3.0, size=shape)  # non-uniform upstream
    _, cache = batchnorm_forward(z, gamma, beta, axes=axes)
    dz, dgamma, dbeta = batchnorm_backward(dout, cache)

    def fwd(_):
        return batchnorm_forward(z, gamma, beta, axes=axes)[0]

    assert relative_error(dz, numerical_gradient_array(fwd, z, dout)) < 1e-8
    assert relative_error(dgamma, numerical_gradient_array(fwd, gamma, dout)) < 1e-8
    assert relative_error(dbeta, numerical_gradient_array(fwd, beta, dout)) < 1e-8


def test_backward_invariants_sum_dz_zero_and_orthogonal_to_z_norm():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(50, 8))
    gamma, beta = params(rng, 8)
    dout = rng.normal(size=(50, 8))
    # A tiny eps: then scaling a unit's z leaves z~ unchanged (with eps, almost unchanged).
    _, cache = batchnorm_forward(z, gamma, beta, eps=1e-14)
    dz, dgamma, dbeta = batchnorm_backward(dout, cache)
    # Shifting a unit's z by a constant, or scaling it, does not change z~: no gradient that way.
    np.testing.assert_allclose(dz.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose((dz * cache["z_norm"]).sum(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(dbeta, dout.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(dgamma, (dout * cache["z_norm"]).sum(axis=0), atol=1e-12)


def test_backward_detects_a_wrong_gradient():
    # The gradient check itself must be able to fail: drop the variance branch and it does.
    rng = np.random.default_rng(7)
    z = rng.normal(size=(6, 3))
    gamma, beta = params(rng, 3)
    dout = rng.normal(size=(6, 3))
    _, cache = batchnorm_forward(z, gamma, beta)
    dz_norm = dout * gamma
    wrong = cache["inv_std"] * (dz_norm - dz_norm.mean(axis=0))  # mean branch only
    num = numerical_gradient_array(lambda _: batchnorm_forward(z, gamma, beta)[0], z, dout)
    assert relative_error(wrong, num) > 1e-3


# ----------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("m", [16, 1024, 65536])
def test_float32_stays_within_1e4_of_float64(m):
    rng = np.random.default_rng(8)
    z = rng.standard_normal((m, 16))
    gamma, beta = params(rng, 16)
    ref = lecture_bn(z, gamma, beta, 1e-5, (0,))
    out, _ = batchnorm_forward(z.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32))
    assert out.dtype == np.float32
    assert np.max(np.abs(out - ref)) < 1e-4


@pytest.mark.parametrize("offset", [1e3, 1e4, 1e5, -1e5])
def test_large_offset_keeps_variance_finite_and_accurate_in_float32(offset):
    rng = np.random.default_rng(9)
    z64 = offset + rng.standard_normal((4096, 8))
    z32 = z64.astype(np.float32)
    _, var = batch_moments(z32)
    assert np.all(np.isfinite(var)) and np.all(var >= 0)
    # Reference: the float32 data's own statistics, computed in float64.
    ref_var = z32.astype(np.float64).var(axis=0)
    np.testing.assert_allclose(var, ref_var, rtol=1e-3)
    out, _ = batchnorm_forward(z32, np.ones(8, np.float32), np.zeros(8, np.float32))
    ref = lecture_bn(z32, np.ones(8), np.zeros(8), 1e-5, (0,))
    assert np.max(np.abs(out - ref)) < 1e-3


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("value", [0.3, 7.0, 6e4])  # float16 tops out at 65504
def test_constant_column_gives_beta(dtype, value):
    z = np.full((64, 3), value, dtype=dtype)
    beta = np.array([0.5, -1.0, 2.0], dtype=dtype)
    out, cache = batchnorm_forward(z, np.full(3, 3.0, dtype), beta)
    np.testing.assert_allclose(out.astype(np.float64), np.broadcast_to(beta, (64, 3)), atol=1e-5)
    # The batch variance is 0 up to rounding in the mean (float64 arithmetic).
    assert np.all(cache["var"] <= 1e-24 * value**2)


def test_float16_is_computed_in_float64_and_returned_as_float16():
    rng = np.random.default_rng(10)
    z16 = (50 + 4 * rng.standard_normal((2048, 4))).astype(np.float16)
    gamma, beta = np.ones(4, np.float16), np.zeros(4, np.float16)
    out, cache = batchnorm_forward(z16, gamma, beta)
    assert out.dtype == np.float16
    assert cache["z_norm"].dtype == np.float64
    ref = lecture_bn(z16, np.ones(4), np.zeros(4), 1e-5, (0,))
    # float16 keeps ~3 significant digits; summing in float16 would be far worse than this.
    assert np.max(np.abs(out.astype(np.float64) - ref)) < 1e-2
    dz, dgamma, dbeta = batchnorm_backward(np.ones_like(z16), cache)
    assert dz.dtype == dgamma.dtype == dbeta.dtype == np.float16


def test_nan_in_data_stays_in_its_own_column():
    rng = np.random.default_rng(11)
    z = rng.normal(size=(16, 4))
    z[3, 1] = np.nan
    out, _ = batchnorm_forward(z, np.ones(4), np.zeros(4))
    assert np.all(np.isnan(out[:, 1]))
    other = np.delete(out, 1, axis=1)
    assert np.all(np.isfinite(other))
    np.testing.assert_allclose(other, np.delete(lecture_bn(z, np.ones(4), np.zeros(4), 1e-5, (0,)), 1, 1))


def test_forward_does_not_modify_its_inputs():
    rng = np.random.default_rng(12)
    z = rng.normal(size=(8, 3))
    gamma, beta = params(rng, 3)
    copies = [a.copy() for a in (z, gamma, beta)]
    batchnorm_forward(z, gamma, beta)
    for before, after in zip(copies, (z, gamma, beta)):
        np.testing.assert_array_equal(before, after)


# ----------------------------------------------------------------------------- property tests
shapes_and_axes = st.sampled_from(
    [((2, 3), (0,)), ((9, 1), (0,)), ((5, 7), (0,)), ((3, 2, 2, 4), (0, 1, 2)), ((4, 3, 5), (0, 1))]
)


@given(
    case=shapes_and_axes,
    offset=st.floats(-1e3, 1e3),
    scale=st.floats(1e-2, 1e2),
    seed=st.integers(0, 2**16),
)
def test_property_forward_mean_beta_std_gamma(case, offset, scale, seed):
    shape, axes = case
    rng = np.random.default_rng(seed)
    z = offset + scale * rng.standard_normal(shape)
    kept = tuple(s for i, s in enumerate(shape) if i not in axes)
    gamma, beta = params(rng, kept)
    out, _ = batchnorm_forward(z, gamma, beta, axes=axes)
    var = z.var(axis=axes)
    # Per unit: mean beta, std gamma * sqrt(var / (var + eps)) (eps shrinks it a little).
    np.testing.assert_allclose(out.mean(axis=axes), beta, atol=1e-9 * (1 + np.abs(beta)).max())
    np.testing.assert_allclose(out.std(axis=axes), gamma * np.sqrt(var / (var + 1e-5)), rtol=1e-6)
    np.testing.assert_allclose(out, lecture_bn(z, gamma, beta, 1e-5, axes), atol=1e-8)


# ----------------------------------------------------------------------------- running stats
def test_update_running_stats_is_an_exponentially_weighted_average():
    rng = np.random.default_rng(13)
    batches = [rng.normal(4.0, 2.0, size=(32, 3)) for _ in range(200)]
    rm, rv = np.zeros(3), np.ones(3)
    momentum = 0.9
    for i, zb in enumerate(batches):
        rm_new, rv_new = update_running_stats(rm, rv, zb.mean(0), zb.var(0), momentum)
        np.testing.assert_allclose(rm_new, momentum * rm + (1 - momentum) * zb.mean(0))
        rm, rv = rm_new, rv_new
    # After many batches the averages sit near the population mean 4 and variance ~4.
    np.testing.assert_allclose(rm, 4.0, atol=0.3)
    np.testing.assert_allclose(rv, 4.0 * 31 / 32, rtol=0.2)


@pytest.mark.parametrize("momentum, expect", [(0.0, "batch"), (1.0, "old")])
def test_update_running_stats_extremes(momentum, expect):
    old_m, old_v = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    bm, bv = np.array([10.0, 20.0]), np.array([30.0, 40.0])
    m, v = update_running_stats(old_m, old_v, bm, bv, momentum)
    want = (bm, bv) if expect == "batch" else (old_m, old_v)
    np.testing.assert_array_equal(m, want[0])
    np.testing.assert_array_equal(v, want[1])
    np.testing.assert_array_equal(old_m, [1.0, 2.0])  # inputs untouched


def test_inference_uses_running_stats_and_works_for_one_example():
    rng = np.random.default_rng(14)
    z = rng.normal(3.0, 2.0, size=(10, 4))
    gamma, beta = params(rng, 4)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    out = batchnorm_inference(z, gamma, beta, rm, rv, eps=1e-3)
    np.testing.assert_allclose(out, gamma * (z - rm) / np.sqrt(rv + 1e-3) + beta, atol=1e-12)
    # Each example's output depends on that example only.
    single = batchnorm_inference(z[4:5], gamma, beta, rm, rv, eps=1e-3)
    np.testing.assert_allclose(single, out[4:5], atol=1e-12)


def test_inference_with_batch_statistics_equals_training_forward():
    rng = np.random.default_rng(15)
    z = rng.normal(size=(2, 5, 5, 3))
    gamma, beta = params(rng, 3)
    out, cache = batchnorm_forward(z, gamma, beta, axes=(0, 1, 2))
    inf = batchnorm_inference(z, gamma, beta, cache["mu"], cache["var"], axes=(0, 1, 2))
    np.testing.assert_allclose(inf, out, atol=1e-12)


# ----------------------------------------------------------------------------- bad input
Z = np.zeros((4, 3))
ONE = np.ones(3)
ZERO = np.zeros(3)

BAD_INPUT = [
    # (description, call, error type, words the message must contain)
    ("int z", lambda: batchnorm_forward(np.ones((4, 3), int), ONE, ZERO), TypeError, ["z", "int64", "float"]),
    ("bool z", lambda: batchnorm_forward(np.ones((4, 3), bool), ONE, ZERO), TypeError, ["z", "bool"]),
    ("1-D z", lambda: batchnorm_forward(np.ones(4), ONE, ZERO), ValueError, ["z", "(4,)", "(m, n)"]),
    ("0-D z", lambda: batchnorm_forward(np.float64(1.0), ONE, ZERO), ValueError, ["z", "()"]),
    ("empty batch", lambda: batchnorm_forward(np.zeros((0, 3)), ONE, ZERO), ValueError, ["empty", "(0, 3)"]),
    ("no units", lambda: batchnorm_forward(np.zeros((4, 0)), ONE[:0], ZERO[:0]), ValueError, ["empty"]),
    ("batch of one", lambda: batchnorm_forward(np.ones((1, 3)), ONE, ZERO), ValueError, ["variance", "0", "batchnorm_inference"]),
    ("gamma shape", lambda: batchnorm_forward(Z, np.ones((1, 3)), ZERO), ValueError, ["gamma", "(3,)", "(1, 3)"]),
    ("beta shape", lambda: batchnorm_forward(Z, ONE, np.zeros(4)), ValueError, ["beta", "(3,)", "(4,)"]),
    ("gamma int", lambda: batchnorm_forward(Z, np.ones(3, int), ZERO), TypeError, ["gamma", "int64"]),
    ("gamma NaN", lambda: batchnorm_forward(Z, np.array([1, np.nan, 1.0]), ZERO), ValueError, ["gamma", "NaN"]),
    ("beta inf", lambda: batchnorm_forward(Z, ONE, np.array([0, np.inf, 0.0])), ValueError, ["beta", "inf"]),
    ("eps zero", lambda: batchnorm_forward(Z, ONE, ZERO, eps=0.0), ValueError, ["eps", "positive", "0.0"]),
    ("eps negative", lambda: batchnorm_forward(Z, ONE, ZERO, eps=-1e-5), ValueError, ["eps", "-1e-05"]),
    ("eps nan", lambda: batchnorm_forward(Z, ONE, ZERO, eps=float("nan")), ValueError, ["eps", "nan"]),
    ("eps inf", lambda: batchnorm_forward(Z, ONE, ZERO, eps=float("inf")), ValueError, ["eps", "inf"]),
    ("eps string", lambda: batchnorm_forward(Z, ONE, ZERO, eps="1e-5"), TypeError, ["eps", "'1e-5'"]),
    ("axes out of range", lambda: batchnorm_forward(Z, ONE, ZERO, axes=(2,)), ValueError, ["axes", "(2,)", "out of range"]),
    ("axes repeated", lambda: batchnorm_forward(np.zeros((2, 2, 3)), ONE, ZERO, axes=(0, -3)), ValueError, ["axes", "twice"]),
    ("axes all", lambda: batchnorm_forward(Z, ONE, ZERO, axes=(0, 1)), ValueError, ["axes", "every axis"]),
    ("axes empty", lambda: batchnorm_forward(Z, ONE, ZERO, axes=()), ValueError, ["axes", "at least one"]),
    ("axes float", lambda: batchnorm_forward(Z, ONE, ZERO, axes=(0.0,)), TypeError, ["axes", "int"]),
    ("nhwc gamma wrong", lambda: batchnorm_forward(np.ones((2, 3, 3, 4)), np.ones(3), np.zeros(3), axes=(0, 1, 2)), ValueError, ["gamma", "(4,)"]),
    ("backward shape", lambda: batchnorm_backward(np.ones((5, 3)), batchnorm_forward(np.eye(4, 3), ONE, ZERO)[1]), ValueError, ["dz_tilde", "(4, 3)", "(5, 3)"]),
    ("backward cache", lambda: batchnorm_backward(Z, (Z, ONE)), TypeError, ["cache", "batchnorm_forward"]),
    ("momentum > 1", lambda: update_running_stats(ZERO, ONE, ZERO, ONE, momentum=1.5), ValueError, ["momentum", "[0, 1]", "1.5"]),
    ("momentum < 0", lambda: update_running_stats(ZERO, ONE, ZERO, ONE, momentum=-0.1), ValueError, ["momentum", "-0.1"]),
    ("momentum str", lambda: update_running_stats(ZERO, ONE, ZERO, ONE, momentum="0.9"), TypeError, ["momentum"]),
    ("running shapes", lambda: update_running_stats(ZERO, np.ones(4), ZERO, ONE), ValueError, ["running_var", "(3,)", "(4,)"]),
    ("running NaN", lambda: update_running_stats(np.array([np.nan, 0, 0]), ONE, ZERO, ONE), ValueError, ["running_mean", "NaN"]),
    ("negative var", lambda: update_running_stats(ZERO, ONE, ZERO, -ONE), ValueError, ["batch_var", "negative"]),
    ("inference var", lambda: batchnorm_inference(Z, ONE, ZERO, ZERO, -ONE), ValueError, ["running_var", "negative"]),
    ("inference mean shape", lambda: batchnorm_inference(Z, ONE, ZERO, np.zeros(2), ONE), ValueError, ["running_mean", "(3,)", "(2,)"]),
    ("inference eps", lambda: batchnorm_inference(Z, ONE, ZERO, ZERO, ONE, eps=0), ValueError, ["eps"]),
]


@pytest.mark.parametrize("call, error, words", [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_list_input_of_floats_is_accepted():
    out, _ = batchnorm_forward([[1.0, 2.0], [3.0, 6.0]], [1.0, 1.0], [0.0, 0.0])
    np.testing.assert_allclose(out, [[-1, -1], [1, 1]], atol=1e-4)
