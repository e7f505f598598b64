"""helpers.regression: the least-squares loss, its Hessian, and gradient descent on it.

Expected values are computed here independently (normal equations, finite differences,
np.linalg on the design matrix built by hand), never copied from the implementation.
"""

import numpy as np
import pytest

from helpers import regression


def make_data(m=50, scales=(1.0, 1.0), offsets=(0.0, 0.0), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 2)) * np.asarray(scales) + np.asarray(offsets)
    t = (X / np.asarray(scales)) @ np.array([0.7, -1.3]) + 0.4 + 0.1 * rng.normal(size=m)
    return X, t


def by_hand(X, t):
    """Design matrix, Hessian, optimum and optimal loss, straight from the definitions."""
    A = np.column_stack([X, np.ones(len(X))])
    H = A.T @ A / len(X)
    theta_star = np.linalg.solve(A.T @ A, A.T @ t)  # normal equations
    r = A @ theta_star - t
    return A, H, theta_star, r @ r / (2 * len(X))


def test_loss_gradient_and_hessian_match_definitions():
    X, t = make_data()
    A, H, _, _ = by_hand(X, t)
    theta = np.array([0.3, -0.2, 1.1])
    assert regression.loss(theta, X, t) == pytest.approx(np.mean((A @ theta - t) ** 2) / 2)
    h = 1e-6  # central finite differences of the loss
    numeric = [(regression.loss(theta + h * e, X, t) - regression.loss(theta - h * e, X, t)) / (2 * h)
               for e in np.eye(3)]
    np.testing.assert_allclose(regression.gradient(theta, X, t), numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(regression.hessian(X), H, rtol=1e-12)
    np.testing.assert_allclose(regression.hessian_eigenvalues(X), np.linalg.eigvalsh(H), rtol=1e-10)


def test_optimum_solves_the_normal_equations():
    X, t = make_data(offsets=(5.0, -3.0))
    _, _, theta_star, loss_star = by_hand(X, t)
    got_theta, got_loss = regression.optimum(X, t)
    np.testing.assert_allclose(got_theta, theta_star, rtol=1e-8)
    assert got_loss == pytest.approx(loss_star, rel=1e-10)


def test_condition_number_grows_with_scale_and_offset():
    X, _ = make_data()
    base = regression.condition_number(X)
    scaled = regression.condition_number(X * [100.0, 1.0])
    shifted = regression.condition_number(X + [0.0, 50.0])
    ev = np.linalg.eigvalsh(by_hand(X * [100.0, 1.0], np.zeros(len(X)))[1])
    assert scaled == pytest.approx(ev[-1] / ev[0], rel=1e-8)
    assert scaled > 1000 * base  # spread 100x -> curvature 10^4x
    assert shifted > 100 * base  # an uncentred feature couples w and b


def test_stable_learning_rate_is_the_divergence_threshold():
    X, t = make_data(scales=(3.0, 0.5), offsets=(2.0, 1.0))
    lam_max = np.linalg.eigvalsh(by_hand(X, t)[1])[-1]
    limit = regression.stable_learning_rate(X)
    assert limit == pytest.approx(2 / lam_max, rel=1e-10)
    below = regression.gradient_descent(X, t, 0.98 * limit, max_steps=3000)
    assert not below.diverged
    assert np.all(np.diff(below.losses) <= 1e-15)  # a quadratic: the loss never goes up
    above = regression.gradient_descent(X, t, 1.02 * limit, max_steps=3000)
    assert above.diverged
    assert above.losses[-1] > 1e6 * above.losses[0]


def test_gradient_descent_reaches_the_optimum_and_counts_steps():
    X, t = make_data()
    _, _, theta_star, loss_star = by_hand(X, t)
    lr = 0.9 * regression.stable_learning_rate(X)
    run = regression.gradient_descent(X, t, lr, max_steps=500, tol=1e-10)
    np.testing.assert_allclose(run.thetas[-1], theta_star, atol=1e-5)
    assert run.thetas.shape == (501, 3) and run.losses.shape == (501,)
    k = run.steps_to_tol
    assert k is not None and run.losses[k] - loss_star <= 1e-10 < run.losses[k - 1] - loss_star
    # Replaying k steps by hand lands on the same point.
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.zeros(3)
    for _ in range(k):
        theta = theta - lr * A.T @ (A @ theta - t) / len(X)
    np.testing.assert_allclose(run.thetas[k], theta, rtol=1e-10, atol=1e-12)


def test_predicted_steps_agree_with_running_gradient_descent():
    for scales, offsets in [((1.0, 1.0), (0.0, 0.0)), ((5.0, 0.5), (3.0, 1.0)), ((1.0, 20.0), (0, 0))]:
        X, t = make_data(scales=scales, offsets=offsets)
        lr = 0.9 * regression.stable_learning_rate(X)
        run = regression.gradient_descent(X, t, lr, max_steps=20000, tol=1e-8)
        assert run.steps_to_tol is not None
        assert abs(regression.predicted_steps(X, t, lr, tol=1e-8) - run.steps_to_tol) <= 1
    assert regression.predicted_steps(X, t, 1.5 * regression.stable_learning_rate(X)) is None


def test_steps_grow_with_the_condition_number():
    X, t = make_data()
    Xn = (X - X.mean(0)) / X.std(0)
    steps, kappa = {}, {}
    for s in (10.0, 100.0, 1000.0):
        Xs = Xn * [s, 1.0]
        ev = np.linalg.eigvalsh(by_hand(Xs, t)[1])
        kappa[s] = ev[-1] / ev[0]
        steps[s] = regression.predicted_steps(Xs, t, 0.9 * regression.stable_learning_rate(Xs))
    # Once kappa is large, steps ~ kappa * log(gap / tol): 100x kappa -> about 100x the steps.
    for small, big in [(10.0, 100.0), (100.0, 1000.0)]:
        assert 0.5 < (steps[big] / steps[small]) / (kappa[big] / kappa[small]) < 2


def test_loss_grid_and_level_set_match_the_loss():
    X, t = make_data(offsets=(1.0, 2.0))
    _, H, theta_star, loss_star = by_hand(X, t)
    w1, w2 = np.linspace(-2, 2, 7), np.linspace(-1, 3, 5)
    grid = regression.loss_grid(X, t, w1, w2, b=0.5)
    assert grid.shape == (5, 7)
    for j, i in [(0, 0), (2, 3), (4, 6)]:
        assert grid[j, i] == pytest.approx(regression.loss([w1[i], w2[j], 0.5], X, t), rel=1e-10)
    points = regression.level_set(H[:2, :2], theta_star[:2], 0.25, n_points=50)
    assert points.shape == (50, 2)
    for w in points[::7]:
        gap = regression.loss([w[0], w[1], theta_star[2]], X, t) - loss_star
        assert gap == pytest.approx(0.25, rel=1e-8)


@pytest.mark.parametrize("call, error, words", [
    (lambda X, t: regression.loss([1.0, 2.0], X, t), ValueError, "theta"),
    (lambda X, t: regression.hessian(X[:, 0]), ValueError, "X must be 2-D"),
    (lambda X, t: regression.optimum(X, t[:-1]), ValueError, "t must have shape"),
    (lambda X, t: regression.gradient_descent(X, t, lr=-0.1), ValueError, "lr"),
    (lambda X, t: regression.gradient_descent(X, t, lr=0.1, max_steps=2.5), TypeError, "max_steps"),
    (lambda X, t: regression.hessian(X.astype(str)), TypeError, "dtype"),
    (lambda X, t: regression.loss_grid(np.c_[X, X], t, [0.0], [0.0], 0.0), ValueError, "2 features"),
    (lambda X, t: regression.level_set(-np.eye(2), [0, 0], 1.0), ValueError, "positive definite"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    X, t = make_data()
    with pytest.raises(error, match=words):
        call(X, t)
