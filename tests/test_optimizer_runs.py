"""helpers.optimizer_runs.train_seeds: several seeds side by side give train's numbers, run by run.

Notebook 04 trains its 40 runs (4 optimizers x BN on/off x 5 seeds) with train_seeds; its printed
numbers are only right if each stacked run is the run helpers.network.train makes.
"""

import numpy as np
import pytest

from helpers import data
from helpers.network import MLP, train
from helpers.optimizer_runs import train_seeds
from helpers.optimizers import Adam, GradientDescent, Momentum, RMSprop


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    X, X_val, y, y_val = data.train_test_split(d.X, d.y, test_fraction=0.25, seed=0)
    X, X_val, _, _ = data.normalize_inputs(X, X_val)
    return X[:300], y[:300], X_val[:100], y_val[:100]


OPTIMIZERS = [GradientDescent(0.1), Momentum(0.1, beta=0.9), RMSprop(0.003), Adam(0.003)]


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: type(o).__name__)
def test_each_stacked_run_is_the_run_train_makes(digits, optimizer, norm):
    X, y, X_val, y_val = digits
    net = MLP((64, 16, 12, 10), activation="relu", norm=norm)
    seeds = [3, 0, 7]
    stacked = train_seeds(net, optimizer, X, y, seeds, epochs=3, batch_size=32,
                          X_val=X_val, y_val=y_val)
    assert len(stacked) == len(seeds)
    for seed, (params, state, history) in zip(seeds, stacked):
        p, s, h = train(net, *net.init(seed=seed), X, y, optimizer, epochs=3, batch_size=32,
                        seed=seed, X_val=X_val, y_val=y_val)
        for ours, theirs in ((params, p), (state, s), (history, h)):
            assert set(ours) == set(theirs)
            for key in theirs:
                assert np.shape(ours[key]) == np.shape(theirs[key]), key
                np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-12,
                                           err_msg=f"seed {seed}, {key}")
        # a run is its own: another seed's run differs by far more than round-off
        assert not np.allclose(params["W1"], train_seeds(net, optimizer, X, y, [seed + 1],
                                                         epochs=1, batch_size=32)[0][0]["W1"])


def test_arguments_are_checked(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="placement"):
        train_seeds(MLP((64, 8, 10), norm="batch", placement="after"), Adam(), X, y, [0])
    with pytest.raises(ValueError, match="norm"):
        train_seeds(MLP((64, 8, 10), norm="layer"), Adam(), X, y, [0])
    with pytest.raises(ValueError, match="X_val and y_val"):
        train_seeds(MLP((64, 8, 10)), Adam(), X, y, [0], X_val=X)
    with pytest.raises(ValueError, match="at least one seed"):
        train_seeds(MLP((64, 8, 10)), Adam(), X, y, [])
