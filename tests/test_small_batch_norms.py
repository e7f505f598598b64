"""helpers.small_batch_norms: ghost BN and batch renorm against batch norm and numerical gradients.

References: helpers.batchnorm (ghost BN with one ghost batch, renorm with r = 1, d = 0), the
inference formula (renorm unclipped), helpers.gradcheck's centred differences, and
helpers.small_batches.train_stack for the trainer.
"""

import numpy as np
import pytest

from helpers import batchnorm, data
from helpers import small_batch_norms as sbn
from helpers.gradcheck import numerical_gradient_array, relative_error
from helpers.network import MLP
from helpers.optimizers import Adam
from helpers.small_batches import train_stack

TOL = 1e-8


def layer(seed=0, m=12, n=4):
    rng = np.random.default_rng(seed)
    return (rng.normal(1.0, 2.0, (m, n)), rng.uniform(0.5, 2.0, n), rng.normal(size=n),
            rng.normal(size=(m, n)))


def check_gradients(forward, analytic, z, gamma, beta, dout):
    for x, grad in zip((z, gamma, beta), analytic):
        numeric = numerical_gradient_array(forward, x, dout)
        assert relative_error(grad, numeric) < TOL


def test_ghost_bn_with_one_ghost_batch_is_batch_norm():
    z, gamma, beta, dout = layer()
    out, cache = sbn.ghost_batchnorm_forward(z, gamma, beta, ghost_size=len(z))
    ref, ref_cache = batchnorm.batchnorm_forward(z, gamma, beta)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    for got, want in zip(sbn.ghost_batchnorm_backward(dout, cache),
                         batchnorm.batchnorm_backward(dout, ref_cache)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_each_ghost_batch_is_normalized_on_its_own():
    z, gamma, beta, _ = layer()
    out, cache = sbn.ghost_batchnorm_forward(z, gamma, beta, ghost_size=4)
    for part, ghost in zip(np.split(z, 3), np.split(out, 3)):
        np.testing.assert_allclose(ghost, batchnorm.batchnorm_forward(part, gamma, beta)[0],
                                   rtol=0, atol=1e-12)
    np.testing.assert_allclose(cache["mu"], np.mean([p.mean(0) for p in np.split(z, 3)], 0))


@pytest.mark.parametrize("ghost_size", [3, 4, 6])
def test_ghost_bn_gradients_match_numerical_gradients(ghost_size):
    z, gamma, beta, dout = layer(seed=ghost_size)
    _, cache = sbn.ghost_batchnorm_forward(z, gamma, beta, ghost_size)
    check_gradients(lambda _: sbn.ghost_batchnorm_forward(z, gamma, beta, ghost_size)[0],
                    sbn.ghost_batchnorm_backward(dout, cache), z, gamma, beta, dout)


def test_batch_renorm_with_r_1_and_d_0_is_batch_norm():
    z, gamma, beta, dout = layer()
    rng = np.random.default_rng(5)
    out, cache = sbn.batch_renorm_forward(z, gamma, beta, rng.normal(size=4),
                                          rng.uniform(0.5, 2, 4), rmax=1.0, dmax=0.0)
    ref, ref_cache = batchnorm.batchnorm_forward(z, gamma, beta)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    for got, want in zip(sbn.batch_renorm_backward(dout, cache),
                         batchnorm.batchnorm_backward(dout, ref_cache)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_batch_renorm_unclipped_normalizes_like_inference():
    z, gamma, beta, _ = layer()
    mean, var = np.array([0.5, -1.0, 2.0, 0.0]), np.array([1.0, 4.0, 0.5, 2.0])
    out, _ = sbn.batch_renorm_forward(z, gamma, beta, mean, var, rmax=1e6, dmax=1e6)
    np.testing.assert_allclose(out, batchnorm.batchnorm_inference(z, gamma, beta, mean, var),
                               rtol=0, atol=1e-10)


def test_batch_renorm_clips_r_and_d():
    z, gamma, beta, _ = layer()
    _, cache = sbn.batch_renorm_forward(z, gamma, beta, np.full(4, 10.0), np.full(4, 100.0),
                                        rmax=2.0, dmax=0.5)
    assert np.all(cache["r"] == 0.5) and np.all(cache["d"] == -0.5)


def test_batch_renorm_gradients_hold_r_and_d_fixed():
    z, gamma, beta, dout = layer(seed=3)
    mean, var = np.array([0.5, 1.5, 0.8, 1.2]), np.array([3.0, 5.0, 2.0, 6.0])
    _, cache = sbn.batch_renorm_forward(z, gamma, beta, mean, var, rmax=1.5, dmax=0.5)
    r, d = cache["r"], cache["d"]
    assert np.any((r > 1 / 1.5) & (r < 1.5))          # some corrections are not clipped
    check_gradients(lambda _: sbn.batch_renorm_forward(z, gamma, beta, mean, var, r=r, d=d)[0],
                    sbn.batch_renorm_backward(dout, cache), z, gamma, beta, dout)


def test_batch_renorm_gradient_is_the_true_one_where_r_and_d_are_clipped():
    # Clipped corrections do not move with z, so the stop-gradient is the exact derivative.
    z, gamma, beta, dout = layer(seed=4)
    mean, var = np.full(4, 10.0), np.full(4, 100.0)

    def forward(_):
        return sbn.batch_renorm_forward(z, gamma, beta, mean, var, rmax=2.0, dmax=0.5)[0]

    _, cache = sbn.batch_renorm_forward(z, gamma, beta, mean, var, rmax=2.0, dmax=0.5)
    check_gradients(forward, sbn.batch_renorm_backward(dout, cache), z, gamma, beta, dout)


def test_a_stack_of_networks_is_normalized_network_by_network():
    z, gamma, beta, dout = layer(m=8)
    stack = np.stack([z, 2 * z + 1])
    out, cache = sbn.ghost_batchnorm_forward(stack, np.stack([gamma, beta]),
                                             np.stack([beta, gamma]), ghost_size=4)
    np.testing.assert_allclose(out[1], sbn.ghost_batchnorm_forward(2 * z + 1, beta, gamma, 4)[0],
                               rtol=0, atol=1e-12)
    dz, dgamma, _ = sbn.ghost_batchnorm_backward(np.stack([dout, dout]), cache)
    assert dz.shape == stack.shape and dgamma.shape == (2, 4)


@pytest.mark.parametrize("call, match", [
    (lambda z, g, b: sbn.ghost_batchnorm_forward(z, g, b, ghost_size=5), "divide"),
    (lambda z, g, b: sbn.ghost_batchnorm_forward(z, g, b, ghost_size=1), "ghost_size"),
    (lambda z, g, b: sbn.batch_renorm_forward(z, g, b, np.zeros(4), np.ones(4), rmax=0.5),
     "rmax"),
    (lambda z, g, b: sbn.batch_renorm_forward(z[:1], g, b, np.zeros(4), np.ones(4)), "at least 2"),
    (lambda z, g, b: sbn.ghost_batchnorm_forward(z, g[:3], b, ghost_size=4), "gamma"),
])
def test_bad_arguments_are_named(call, match):
    z, gamma, beta, _ = layer()
    with pytest.raises((ValueError, TypeError), match=match):
        call(z, gamma, beta)


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X_train, _, y_train, _ = data.train_test_split(d.X, d.y, seed=0)
    X_train, _, _, _ = data.normalize_inputs(X_train)
    return X_train[:120], y_train[:120]


def test_plain_variant_trains_exactly_like_the_bn_stack(digits):
    X, y = digits
    layers, seeds = (64, 16, 8, 10), (0, 3)
    run = sbn.train_variants(X, y, [sbn.Variant("bn", "batch", 4)], seeds=seeds,
                             layer_sizes=layers, epochs=2, learning_rate=lambda m: 0.003)[0]
    ref = train_stack(MLP(layers, norm="batch"), X, y, Adam(0.003), epochs=2, batch_size=4,
                      seeds=seeds)
    for name in ref.params:
        np.testing.assert_allclose(run.params[name], ref.params[name], rtol=0, atol=1e-10)
    for name in run.state:
        np.testing.assert_allclose(run.state[name], ref.state[name], rtol=0, atol=1e-10)


def test_variants_of_one_batch_size_do_not_disturb_each_other(digits):
    X, y = digits
    kw = {"seeds": (0, 1), "layer_sizes": (64, 16, 8, 10), "epochs": 1}
    alone = sbn.train_variants(X, y, [sbn.Variant("ghost", "ghost", 8, ghost_size=4)], **kw)[0]
    together = sbn.train_variants(X, y, [sbn.Variant("bn", "batch", 8),
                                         sbn.Variant("ghost", "ghost", 8, ghost_size=4),
                                         sbn.Variant("rn", "renorm", 8, warmup=2)], **kw)
    for name in alone.params:
        np.testing.assert_allclose(together[1].params[name], alone.params[name], rtol=0,
                                   atol=1e-12)
    # renorm after its warm-up differs from plain BN; ghost batches of 8 = plain BN at m = 8
    assert not np.allclose(together[2].params["W1"], together[0].params["W1"])
    full = sbn.train_variants(X, y, [sbn.Variant("g8", "ghost", 8, ghost_size=8)], **kw)[0]
    np.testing.assert_allclose(full.params["W1"], together[0].params["W1"], rtol=0, atol=1e-12)
