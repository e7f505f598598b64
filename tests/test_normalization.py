"""helpers.normalization: layer norm and group norm against formulas, Keras and numerical gradients.

Expected values are written out here in float64 from the definitions (Ba et al. 2016; Wu & He
2018), and compared with keras.layers.LayerNormalization and keras.layers.GroupNormalization.
"""

import numpy as np
import pytest
import tensorflow as tf

from helpers.batchnorm import batchnorm_forward
from helpers.gradcheck import numerical_gradient_array, relative_error
from helpers.normalization import (
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

keras = tf.keras

DENSE, NHWC = (12, 8), (3, 4, 5, 6)
TOL = {np.float64: 1e-12, np.float32: 2e-5}


def make_case(shape, dtype=np.float64, seed=0):
    """z with a different offset and spread per example (so per-example statistics matter)."""
    rng = np.random.default_rng(seed)
    lead = (shape[0],) + (1,) * (len(shape) - 1)
    z = rng.normal(size=shape) * rng.uniform(0.5, 3.0, lead) + rng.normal(0.0, 4.0, lead)
    C = shape[-1]
    gamma, beta = rng.uniform(0.5, 2.0, C), rng.normal(size=C)
    return z.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


def group_formula(z, gamma, beta, groups, eps):
    """Group norm written out: per example and group of C / G neighbouring channels."""
    z = np.asarray(z, dtype=np.float64)
    N, C = z.shape[0], z.shape[-1]
    out = np.empty_like(z)
    size = C // groups
    for i in range(N):
        for g in range(groups):
            block = z[i, ..., g * size : (g + 1) * size]
            mu = block.sum() / block.size
            var = ((block - mu) ** 2).sum() / block.size
            out[i, ..., g * size : (g + 1) * size] = (block - mu) / np.sqrt(var + eps)
    return out * gamma + beta


# ----------------------------------------------------------------------------- formulas
@pytest.mark.parametrize("shape", [DENSE, NHWC], ids=["dense", "nhwc"])
def test_layernorm_matches_formula_and_is_groupnorm_with_one_group(shape):
    z, gamma, beta = make_case(shape)
    out, cache = layernorm_forward(z, gamma, beta, eps=1e-5)
    np.testing.assert_allclose(out, group_formula(z, gamma, beta, 1, 1e-5), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out, groupnorm_forward(z, gamma, beta, 1)[0], rtol=0, atol=0)
    axes = tuple(range(1, z.ndim))
    np.testing.assert_allclose(cache["mu"][:, 0], z.mean(axis=axes), atol=1e-12)
    np.testing.assert_allclose(cache["var"][:, 0], z.var(axis=axes), atol=1e-10)


@pytest.mark.parametrize("shape, groups", [(DENSE, 2), (DENSE, 4), (NHWC, 2), (NHWC, 3), (NHWC, 6)])
def test_groupnorm_matches_formula(shape, groups):
    z, gamma, beta = make_case(shape, seed=1)
    out, cache = groupnorm_forward(z, gamma, beta, groups, eps=1e-3)
    np.testing.assert_allclose(out, group_formula(z, gamma, beta, groups, 1e-3), atol=1e-12)
    assert cache["mu"].shape == cache["var"].shape == (shape[0], groups)


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_an_examples_output_does_not_depend_on_its_batch(norm):
    z, gamma, beta = make_case(NHWC, seed=2)
    f = (lambda x: layernorm_forward(x, gamma, beta)[0]) if norm == "layer" else (
        lambda x: groupnorm_forward(x, gamma, beta, 3)[0])
    alone = f(z[:1])  # a batch of one works
    others = make_case(NHWC, seed=3)[0]
    with_others = f(np.concatenate([z[:1], others]))
    np.testing.assert_allclose(alone[0], with_others[0], rtol=0, atol=1e-12)


def test_per_example_output_has_mean_beta_when_gamma_constant():
    z, _, _ = make_case(DENSE, seed=4)
    out, _ = layernorm_forward(z, np.full(8, 2.0), np.full(8, 0.5), eps=1e-12)
    np.testing.assert_allclose(out.mean(axis=1), 0.5, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 2.0, rtol=1e-6)


def test_constant_example_gives_beta():
    z = np.full((2, 6), 3.0)
    beta = np.arange(6.0)
    out, _ = layernorm_forward(z, np.full(6, 5.0), beta)
    np.testing.assert_allclose(out, np.broadcast_to(beta, (2, 6)), atol=1e-12)


def test_float16_is_computed_in_float64_and_returned_as_float16():
    z, gamma, beta = make_case(NHWC, np.float16, seed=5)
    out, cache = groupnorm_forward(z, gamma, beta, 2)
    assert out.dtype == np.float16 and cache["z_norm"].dtype == np.float64
    ref = group_formula(z, gamma.astype(np.float64), beta.astype(np.float64), 2, 1e-5)
    assert np.max(np.abs(out.astype(np.float64) - ref)) < 2e-2
    grads = groupnorm_backward(np.ones_like(z), cache)
    assert all(g.dtype == np.float16 for g in grads)


def test_large_offset_stays_accurate_in_float32():
    rng = np.random.default_rng(6)
    z = (1e4 + rng.standard_normal((16, 64))).astype(np.float32)
    out, _ = layernorm_forward(z, np.ones(64, np.float32), np.zeros(64, np.float32))
    ref = group_formula(z, np.ones(64), np.zeros(64), 1, 1e-5)
    assert np.max(np.abs(out - ref)) < 1e-3


# ----------------------------------------------------------------------------- Keras
def keras_layer(kind, shape, dtype, gamma, beta, eps, groups=None):
    name = np.dtype(dtype).name
    if kind == "layer":
        axis = -1 if len(shape) == 2 else [1, 2, 3]
        layer = keras.layers.LayerNormalization(axis=axis, epsilon=eps, dtype=name)
    else:
        layer = keras.layers.GroupNormalization(groups=groups, axis=-1, epsilon=eps, dtype=name)
    layer.build(shape)
    # Keras' LayerNormalization over (H, W, C) has one gamma per (h, w, c); ours one per channel.
    layer.gamma.assign(np.broadcast_to(gamma, tuple(layer.gamma.shape)))
    layer.beta.assign(np.broadcast_to(beta, tuple(layer.beta.shape)))
    return layer


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [DENSE, NHWC], ids=["dense", "nhwc"])
@pytest.mark.parametrize("kind, groups", [("layer", None), ("group", 2), ("group", 4)])
def test_forward_matches_keras(kind, groups, shape, dtype):
    if kind == "group" and shape[-1] % groups:
        groups = 3  # NHWC has 6 channels
    z, gamma, beta = make_case(shape, dtype, seed=7)
    eps = 1e-3  # Keras' default
    layer = keras_layer(kind, shape, dtype, gamma, beta, eps, groups)
    theirs = keras.ops.convert_to_numpy(layer(z))
    ours = (layernorm_forward(z, gamma, beta, eps)[0] if kind == "layer"
            else groupnorm_forward(z, gamma, beta, groups, eps)[0])
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL[dtype] * max(1.0, np.abs(theirs).max()))


@pytest.mark.parametrize("shape", [DENSE, NHWC], ids=["dense", "nhwc"])
@pytest.mark.parametrize("kind, groups", [("layer", None), ("group", 2)])
def test_backward_matches_keras_gradient_tape(kind, groups, shape):
    z, gamma, beta = make_case(shape, seed=8)
    rng = np.random.default_rng(9)
    dout = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, shape)
    eps = 1e-3
    if kind == "layer":
        _, cache = layernorm_forward(z, gamma, beta, eps)
        dz, dgamma, dbeta = layernorm_backward(dout, cache)
    else:
        _, cache = groupnorm_forward(z, gamma, beta, groups, eps)
        dz, dgamma, dbeta = groupnorm_backward(dout, cache)
    layer = keras_layer(kind, shape, np.float64, gamma, beta, eps, groups)
    tz = tf.Variable(z)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tz) * dout)
    tdz, tdg, tdb = (g.numpy() for g in tape.gradient(loss, [tz, layer.gamma, layer.beta]))
    sum_to_channels = tuple(range(tdg.ndim - 1))  # Keras' per-(h, w, c) gamma -> per channel
    np.testing.assert_allclose(dz, tdz, rtol=0, atol=1e-10 * np.abs(tdz).max())
    np.testing.assert_allclose(dgamma, tdg.sum(axis=sum_to_channels), atol=1e-10)
    np.testing.assert_allclose(dbeta, tdb.sum(axis=sum_to_channels), atol=1e-10)


# ----------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("shape, groups", [((5, 6), 1), ((5, 8), 2), ((2, 3, 2, 4), 1),
                                           ((2, 3, 2, 4), 2), ((2, 2, 2, 4), 4)],
                         ids=["ln-dense", "gn-dense", "ln-nhwc", "gn-nhwc", "instance-nhwc"])
def test_backward_passes_gradient_check(shape, groups):
    z, gamma, beta = make_case(shape, seed=10)
    assert not np.allclose(gamma, 1.0)
    rng = np.random.default_rng(11)
    dout = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, shape)  # non-uniform upstream
    forward, backward = ((layernorm_forward, layernorm_backward) if groups == 1 else
                         (lambda *a: groupnorm_forward(*a[:3], groups, a[3]), groupnorm_backward))
    _, cache = forward(z, gamma, beta, 1e-5)
    dz, dgamma, dbeta = backward(dout, cache)

    def fwd(_):  # z, gamma and beta are nudged in place by the gradient check
        return forward(z, gamma, beta, 1e-5)[0]

    errors = [relative_error(dz, numerical_gradient_array(fwd, z, dout)),
              relative_error(dgamma, numerical_gradient_array(fwd, gamma, dout)),
              relative_error(dbeta, numerical_gradient_array(fwd, beta, dout))]
    assert max(errors) < 1e-8, errors


def test_backward_invariants_per_example():
    z, gamma, beta = make_case(DENSE, seed=12)
    dout = np.random.default_rng(13).standard_normal(DENSE)
    _, cache = layernorm_forward(z, gamma, beta, eps=1e-14)
    dz, _, _ = layernorm_backward(dout, cache)
    # Shifting or scaling one example's units does not change its output: no gradient that way.
    np.testing.assert_allclose(dz.sum(axis=1), 0, atol=1e-10)
    np.testing.assert_allclose((dz * (z - z.mean(axis=1, keepdims=True))).sum(axis=1), 0, atol=1e-8)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, words", [
    (lambda: layernorm_forward(np.ones((4, 3), int), np.ones(3), np.zeros(3)), TypeError, "z must be a floating"),
    (lambda: layernorm_forward(np.ones((4, 3, 2)), np.ones(2), np.zeros(2)), ValueError, "dense (m, n) or NHWC"),
    (lambda: layernorm_forward(np.ones(5), np.ones(5), np.zeros(5)), ValueError, "got shape (5,)"),
    (lambda: layernorm_forward(np.ones((0, 3)), np.ones(3), np.zeros(3)), ValueError, "empty"),
    (lambda: layernorm_forward(np.ones((4, 1)), np.ones(1), np.zeros(1)), ValueError, "one value per example"),
    (lambda: layernorm_forward(np.ones((4, 3)), np.ones(4), np.zeros(3)), ValueError, "gamma must have shape (3,)"),
    (lambda: layernorm_forward(np.ones((4, 3)), np.ones(3), [0, np.nan, 0.0]), ValueError, "beta contains NaN"),
    (lambda: layernorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=0.0), ValueError, "eps must be positive"),
    (lambda: layernorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), eps="1e-5"), TypeError, "eps must be"),
    (lambda: groupnorm_forward(np.ones((4, 6)), np.ones(6), np.zeros(6), 4), ValueError, "Valid values: [1, 2, 3, 6]"),
    (lambda: groupnorm_forward(np.ones((4, 6)), np.ones(6), np.zeros(6), 0), ValueError, "groups must divide"),
    (lambda: groupnorm_forward(np.ones((4, 6)), np.ones(6), np.zeros(6), True), TypeError, "groups must be an int"),
    (lambda: groupnorm_forward(np.ones((4, 6)), np.ones(6), np.zeros(6), 2.0), TypeError, "groups must be an int"),
    (lambda: groupnorm_forward(np.ones((4, 6)), np.ones(6), np.zeros(6), 6), ValueError, "one value per example and group"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_backward_rejects_wrong_cache_and_gradient():
    z, gamma, beta = make_case(DENSE)
    _, ln_cache = layernorm_forward(z, gamma, beta)
    _, bn_cache = batchnorm_forward(z, gamma, beta)
    with pytest.raises(TypeError, match="layernorm_forward"):
        layernorm_backward(np.ones(DENSE), bn_cache)
    with pytest.raises(TypeError, match="groupnorm_forward"):
        groupnorm_backward(np.ones(DENSE), ln_cache)
    with pytest.raises(ValueError, match=r"dz_tilde must have the shape of z, \(12, 8\)"):
        layernorm_backward(np.ones((8, 12)), ln_cache)
    with pytest.raises(TypeError, match="dz_tilde must be a floating"):
        layernorm_backward(np.ones(DENSE, int), ln_cache)
