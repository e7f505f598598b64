"""helpers.regularization: the generalization gap with and without BN, over seeds."""

import numpy as np
import pytest

from helpers.network import MLP, train
from helpers.optimizers import Adam
from helpers.regularization import gap_vs_batch_size


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 2.0, size=(3, 5))
    y = rng.integers(0, 3, size=130)
    X = centres[y] + rng.normal(size=(130, 5))
    return X[:100], y[:100], X[100:], y[100:]


@pytest.fixture(scope="module")
def sweep(blobs):
    return gap_vs_batch_size(*blobs, epochs={8: 2, 32: 5}, seeds=(0, 3), hidden=(6,),
                             learning_rate=0.01)


def test_each_run_is_the_course_training_loop(blobs, sweep):
    X, y, X_val, y_val = blobs
    assert sweep.batch_sizes == (8, 32) and sweep.seeds == (0, 3)
    assert sweep.steps == {8: 2 * 12, 32: 5 * 3}      # 100 // 8 = 12, 100 // 32 = 3 per epoch
    for m in (8, 32):
        for norm in ("batch", "none"):
            net = MLP((5, 6, 3), activation="relu", norm=norm)
            params, state = net.init(seed=3)
            params, state, _ = train(net, params, state, X, y, Adam(0.01),
                                     epochs=sweep.epochs[m], batch_size=m, seed=3)
            train_acc = net.accuracy(params, state, X, y)
            val_acc = net.accuracy(params, state, X_val, y_val)
            assert sweep.train_acc[m, norm].values[1] == pytest.approx(train_acc)
            assert sweep.val_acc[m, norm].values[1] == pytest.approx(val_acc)
            assert sweep.gap[m, norm].values[1] == pytest.approx(train_acc - val_acc)
            _, trained_params, _ = sweep.trained[m, norm, 3]
            np.testing.assert_array_equal(trained_params["W1"], params["W1"])


def test_differences_are_paired_by_seed(sweep):
    for m in sweep.batch_sizes:
        np.testing.assert_allclose(sweep.gap_difference[m].values,
                                   sweep.gap[m, "batch"].values - sweep.gap[m, "none"].values)
        np.testing.assert_allclose(sweep.val_difference[m].values,
                                   sweep.val_acc[m, "batch"].values
                                   - sweep.val_acc[m, "none"].values)
        assert sweep.gap[m, "batch"].percent and len(sweep.gap[m, "batch"].values) == 2


def test_both_arms_of_a_seed_start_from_the_same_weights():
    bn, plain = MLP((5, 6, 3), norm="batch"), MLP((5, 6, 3), norm="none")
    for seed in (0, 3):
        np.testing.assert_array_equal(bn.init(seed)[0]["W1"], plain.init(seed)[0]["W1"])
        np.testing.assert_array_equal(bn.init(seed)[0]["W2"], plain.init(seed)[0]["W2"])


def test_bad_arguments_are_named(blobs):
    with pytest.raises(TypeError, match="epochs must be a non-empty dict"):
        gap_vs_batch_size(*blobs, epochs=10)
    with pytest.raises(ValueError, match="batch size"):
        gap_vs_batch_size(*blobs, epochs={500: 1})
    with pytest.raises(ValueError, match="seeds is empty"):
        gap_vs_batch_size(*blobs, epochs={8: 1}, seeds=())
    with pytest.raises(ValueError, match="norms"):
        gap_vs_batch_size(*blobs, epochs={8: 1}, norms=("dropout",))
