"""helpers.folding: a dense or conv layer followed by BN at inference is one layer, exactly.

Expected values come from helpers.batchnorm.batchnorm_inference applied after the layer, or from
a convolution written out with loops, never from the fold itself.
"""

import numpy as np
import pytest

from helpers import batchnorm, folding
from helpers.network import MLP


def bn_layer(rng, n_out, var_low=0.1):
    return (rng.uniform(0.5, 2.0, n_out), rng.normal(size=n_out), rng.normal(0.0, 2.0, n_out),
            rng.uniform(var_low, 4.0, n_out))


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_folded_dense_layer_equals_the_layer_then_bn_at_inference(with_bias, eps):
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(7, 5)), rng.normal(1.0, 3.0, size=(20, 7))
    b = rng.normal(size=5) if with_bias else None
    gamma, beta, mean, var = bn_layer(rng, 5)
    W_f, b_f = folding.fold_batchnorm(W, b, gamma, beta, mean, var, eps)
    z = x @ W + (0.0 if b is None else b)
    expected = batchnorm.batchnorm_inference(z, gamma, beta, mean, var, eps)
    np.testing.assert_allclose(x @ W_f + b_f, expected, rtol=0, atol=1e-12)
    assert W_f.shape == W.shape and b_f.shape == (5,)


def test_fold_scales_columns_not_rows():
    # A square W: scaling rows would give the right shapes and the wrong numbers.
    W = np.arange(9.0).reshape(3, 3)
    gamma = np.array([1.0, 2.0, 3.0])
    W_f, _ = folding.fold_batchnorm(W, None, gamma, np.zeros(3), np.zeros(3), np.ones(3))
    np.testing.assert_allclose(W_f, W * gamma / np.sqrt(1 + 1e-5), rtol=1e-12)   # column j * s_j


def naive_conv(x, kernel, bias):
    N, H, W, _ = x.shape
    kh, kw, _, c_out = kernel.shape
    out = np.zeros((N, H - kh + 1, W - kw + 1, c_out))
    for i in range(H - kh + 1):
        for j in range(W - kw + 1):
            patch = x[:, i:i + kh, j:j + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    return out


def test_conv2d_is_a_valid_stride_one_convolution():
    rng = np.random.default_rng(1)
    x, kernel, bias = rng.normal(size=(3, 6, 5, 2)), rng.normal(size=(3, 2, 2, 4)), rng.normal(size=4)
    np.testing.assert_allclose(folding.conv2d(x, kernel, bias), naive_conv(x, kernel, bias),
                               rtol=0, atol=1e-12)


def test_folded_conv_equals_conv_then_nhwc_bn_at_inference():
    rng = np.random.default_rng(2)
    x, kernel, bias = rng.normal(size=(4, 8, 8, 3)), rng.normal(size=(3, 3, 3, 5)), rng.normal(size=5)
    gamma, beta, mean, var = bn_layer(rng, 5)
    expected = batchnorm.batchnorm_inference(naive_conv(x, kernel, bias), gamma, beta, mean, var,
                                             axes=(0, 1, 2))
    kernel_f, bias_f = folding.fold_batchnorm(kernel, bias, gamma, beta, mean, var)
    np.testing.assert_allclose(naive_conv(x, kernel_f, bias_f), expected, rtol=0, atol=1e-11)


def test_folded_network_computes_the_bn_networks_inference_mode():
    rng = np.random.default_rng(3)
    net = MLP((6, 5, 4, 3), norm="batch")
    params, state = net.init(seed=1)
    params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in params.items()}  # gamma != 1
    state = {k: (np.abs(v) + rng.uniform(0.2, 2.0, v.shape) if "var" in k
                 else rng.normal(size=v.shape)) for k, v in state.items()}
    X = rng.normal(size=(9, 6))
    folded = folding.fold_network(net, params, state)
    plain = folding.folded_net(net)
    assert plain.norm == "none" and set(folded) == set(plain.param_shapes())
    np.testing.assert_allclose(plain.forward(folded, {}, X, False)[0],
                               net.forward(params, state, X, False)[0], rtol=0, atol=1e-12)


def test_float32_in_float32_out():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(3, 2)).astype(np.float32)
    gamma, beta, mean, var = (a.astype(np.float32) for a in bn_layer(rng, 2))
    W_f, b_f = folding.fold_batchnorm(W, None, gamma, beta, mean, var)
    assert W_f.dtype == np.float32 and b_f.dtype == np.float32


@pytest.mark.parametrize("kwargs, match", [
    ({"W": np.ones((2, 3, 4))}, "W must be dense"),
    ({"gamma": np.ones(4)}, "gamma"),
    ({"running_var": -np.ones(3)}, "negative"),
    ({"b": np.ones(2)}, "b must have shape"),
    ({"eps": -1.0}, "eps"),
])
def test_bad_arguments_are_named(kwargs, match):
    args = {"W": np.ones((2, 3)), "b": None, "gamma": np.ones(3), "beta": np.zeros(3),
            "running_mean": np.zeros(3), "running_var": np.ones(3), "eps": 1e-5, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        folding.fold_batchnorm(**args)


def test_folding_refuses_networks_without_bn_right_after_the_dense_layer():
    with pytest.raises(ValueError, match="placement"):
        folding.folded_net(MLP((4, 3, 2), norm="batch", placement="after"))
    with pytest.raises(ValueError, match="norm"):
        folding.folded_net(MLP((4, 3, 2), norm="layer"))
