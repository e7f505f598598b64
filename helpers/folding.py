"""Folding batch norm into the layer before it, for inference (notebook 09).

At inference batch norm uses fixed numbers (the running statistics, gamma, beta), so per output
unit it is an affine map of z:

    z~ = gamma * (z - running_mean) / sqrt(running_var + eps) + beta  =  z * scale + shift
    scale = gamma / sqrt(running_var + eps)                 (one number per output unit)
    shift = beta - running_mean * scale

and z = x @ W + b is affine in x too. An affine map of an affine map is one affine map:

    z~ = x @ (W * scale) + (b * scale + shift)

so the dense layer and its BN become ONE dense layer with W_folded = W * scale (every column of
W, i.e. every output unit, scaled by its own number) and b_folded = (b - running_mean) * scale +
beta. A convolution is a dense map applied at every position, with a kernel of shape
(kh, kw, C_in, C_out): the same holds with the kernel's last axis (the output channels) scaled,
since NHWC batch norm has one scale per output channel.

    W_f, b_f = fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps)
    folded_params = fold_network(net, params, state)     # an MLP with norm="none"
    z = conv2d(x, kernel, bias)                          # NHWC, 'valid', stride 1

The folded network computes the BN network's inference mode exactly (up to float round-off);
it cannot reproduce training mode, whose statistics change with every batch.
"""

import numpy as np

from helpers import validation
from helpers.network import MLP

__all__ = ["conv2d", "fold_batchnorm", "fold_network", "folded_net"]


def fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """One layer W, b followed by batch norm at inference, as one layer (W_folded, b_folded).

    Inputs:
      W: dense weights (n_in, n_out), or a conv kernel (kh, kw, C_in, C_out): the LAST axis is
         the output unit / channel that batch norm normalizes.
      b: bias (n_out,), or None for a layer without bias (as before BN in our network).
      gamma, beta, running_mean, running_var: (n_out,), the BN layer's numbers.
      eps: BN's eps (ours 1e-5, Keras' default 1e-3).
    Returns:
      W_folded (shape of W) and b_folded (n_out,), in W's dtype (computed in float64), with
      x @ W_folded + b_folded == batchnorm_inference(x @ W + b, ...) for every x.
    """
    W = validation.float_array(W, "W")
    if W.ndim not in (2, 4):
        raise ValueError(f"W must be dense (n_in, n_out) or a conv kernel (kh, kw, C_in, C_out); "
                         f"got shape {W.shape}.")
    n_out = (W.shape[-1],)
    gamma = validation.per_unit(gamma, "gamma", n_out)
    beta = validation.per_unit(beta, "beta", n_out)
    mu = validation.per_unit(running_mean, "running_mean", n_out)
    var = validation.per_unit(running_var, "running_var", n_out, nonnegative=True)
    b = np.zeros(n_out) if b is None else validation.per_unit(b, "b", n_out)
    eps = validation.eps(eps)

    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)   # (n_out,)
    W_folded = W.astype(np.float64) * scale          # broadcasts over the last axis: per OUTPUT
    b_folded = (b - mu) * scale + beta               # the mean moves through the same scale
    return W_folded.astype(W.dtype), b_folded.astype(W.dtype)


def folded_net(net):
    """The architecture of `net` without normalization: MLP(..., norm="none")."""
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a helpers.network.MLP; got {type(net).__name__}.")
    if net.norm != "batch" or net.placement != "before":
        raise ValueError(f"folding needs batch norm right after each dense layer (norm='batch', "
                         f"placement='before'); got norm={net.norm!r}, "
                         f"placement={net.placement!r}.")
    return MLP(net.layer_sizes, activation=net.activation, norm="none", eps=net.eps)


def fold_network(net, params, state):
    """params of folded_net(net) that compute net's inference mode.

    Inputs: net (norm="batch", placement="before"); params and state from net.init or training.
    Returns: a params dict for folded_net(net): "W{l}", "b{l}" for every layer.
    """
    plain = folded_net(net)
    folded = {}
    for l in net.hidden:
        folded[f"W{l}"], folded[f"b{l}"] = fold_batchnorm(
            params[f"W{l}"], None, params[f"gamma{l}"], params[f"beta{l}"],
            state[f"running_mean{l}"], state[f"running_var{l}"], net.eps)
    folded[f"W{net.L}"], folded[f"b{net.L}"] = params[f"W{net.L}"], params[f"b{net.L}"]
    assert set(folded) == set(plain.param_shapes())
    return folded


def conv2d(x, kernel, bias=None):
    """A 'valid' convolution with stride 1 in TensorFlow's NHWC layout (what Keras' Conv2D does).

    Inputs:  x (N, H, W, C_in); kernel (kh, kw, C_in, C_out); bias (C_out,) or None.
    Returns: (N, H - kh + 1, W - kw + 1, C_out): at every position, the kh x kw x C_in patch
             times the kernel, a dense layer applied to each patch.
    """
    x = validation.float_array(x, "x", ndim=4)
    kernel = validation.float_array(kernel, "kernel", ndim=4)
    kh, kw, c_in, c_out = kernel.shape
    if x.shape[3] != c_in or x.shape[1] < kh or x.shape[2] < kw:
        raise ValueError(f"x {x.shape} does not fit kernel {kernel.shape}: x needs C_in = {c_in} "
                         f"channels and at least {kh} x {kw} positions.")
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    out = np.einsum("nhwcij,ijco->nhwo", patches, kernel)   # (N, H', W', C_out)
    if bias is not None:
        out = out + validation.per_unit(bias, "bias", (c_out,))
    return out
