"""The other layers of a network: dense, activations, softmax cross-entropy.

Same style as `helpers.batchnorm`: every layer is a pair of plain functions,
`*_forward(...) -> (out, cache)` and `*_backward(dout, cache) -> gradients`.
Examples lie along axis 0 (TensorFlow's layout): x has shape (m, n_in), and a dense layer
computes z = x @ W + b with W of shape (n_in, n_out) and b of shape (n_out,).
"""

import numpy as np

from helpers import validation

__all__ = [
    "dense_forward",
    "dense_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "relu_forward",
    "relu_backward",
    "ACTIVATIONS",
    "softmax_cross_entropy",
]


# ----------------------------------------------------------------------------- dense
def dense_forward(x, W, b=None):
    """z = x @ W + b.

    Inputs:  x (m, n_in); W (n_in, n_out); b (n_out,) or None (no bias, as before batch norm).
    Returns: z (m, n_out), cache.
    """
    x = validation.float_array(x, "x", ndim=2)
    W = validation.float_array(W, "W", ndim=2)
    if x.shape[1] != W.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features per example but W expects {W.shape[0]} "
            f"(x {x.shape} @ W {W.shape}); W must have shape (n_in, n_out)."
        )
    z = x @ W
    if b is not None:
        b = validation.float_array(b, "b")
        if b.shape != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},), one per unit; got {b.shape}.")
        z = z + b
    return z, (x, W, b is not None)


def dense_backward(dz, cache):
    """Inputs: dz (m, n_out), cache.

    Returns: dx (m, n_in), dW (n_in, n_out), db (n_out,) or None.
    """
    x, W, has_bias = cache
    dz = validation.float_array(dz, "dz", ndim=2)
    if dz.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dz must have shape {(x.shape[0], W.shape[1])}; got {dz.shape}.")
    db = dz.sum(axis=0) if has_bias else None
    return dz @ W.T, x.T @ dz, db


# ----------------------------------------------------------------------------- activations
def sigmoid_forward(z):
    """a = 1 / (1 + exp(-z)), any shape. Returns (a, cache)."""
    z = validation.float_array(z, "z")
    # Written with exp(-|z|) so that large |z| never overflows.
    e = np.exp(-np.abs(z))
    a = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return a, a


def sigmoid_backward(da, cache):
    """dz = da * a * (1 - a): the slope is at most 1/4, at z = 0."""
    a = cache
    return validation.same_shape(da, a, "da") * a * (1 - a)


def tanh_forward(z):
    """a = tanh(z), any shape. Returns (a, cache)."""
    a = np.tanh(validation.float_array(z, "z"))
    return a, a


def tanh_backward(da, cache):
    """dz = da * (1 - a**2): the slope is 1 at z = 0 and vanishes as |z| grows."""
    a = cache
    return validation.same_shape(da, a, "da") * (1 - a * a)


def relu_forward(z):
    """a = max(z, 0), any shape. Returns (a, cache)."""
    z = validation.float_array(z, "z")
    return np.maximum(z, 0), z


def relu_backward(da, cache):
    """dz = da where z > 0, else 0 (a unit that is always negative learns nothing: 'dead')."""
    z = cache
    return validation.same_shape(da, z, "da") * (z > 0)


ACTIVATIONS = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
}


# ----------------------------------------------------------------------------- loss
def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Inputs:  logits (m, k); y (m,) integer class labels in 0..k-1.
    Returns: (loss, dlogits) with loss a float and dlogits (m, k).
    """
    logits = validation.float_array(logits, "logits", ndim=2)
    m, k = logits.shape
    if m == 0:
        raise ValueError("logits is empty; need at least one example.")
    y = validation.labels(y, m, classes=k)
    # Subtracting the row maximum changes nothing mathematically and keeps exp() finite.
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(m), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(m), y] -= 1
    return float(loss), dlogits / m
