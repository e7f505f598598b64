"""Why input normalization helps gradient descent: the math behind notebook 01.

The model is a linear least-squares fit on the input features (two of them in the notebook):

    y_hat = X @ w + b                                   X: (m, n), w: (n,), b: a number
    L(w, b) = 1 / (2 m) * sum_i (y_hat_i - t_i) ** 2     t: (m,) targets

We keep all parameters in one vector theta = (w_1, ..., w_n, b), shape (n + 1,), and write
A = [X, 1] (the "design matrix", shape (m, n + 1)) so that y_hat = A @ theta.

Why least squares and not the lecture's logistic regression? Its loss is *exactly* quadratic:

    L(theta) = L* + 1/2 (theta - theta*)^T H (theta - theta*),   H = A^T A / m   (the Hessian)

so its contours are exact ellipses, gradient descent is stable exactly when lr < 2 / lambda_max
(the largest eigenvalue of H), and the number of steps it needs grows with the condition number
kappa = lambda_max / lambda_min. Logistic regression behaves the same way near its minimum, only
approximately.

The bias b is a parameter like the weights, so H includes it: with uncentred inputs (raw
features, whose means are far from 0) the column of ones in A is nearly parallel to the feature
columns, which makes H badly conditioned even before the features' different scales are counted.
Normalization fixes both: subtracting the mean decouples b from w, dividing by the standard
deviation equalizes the scales.

Every function checks its input and raises ValueError/TypeError naming the argument.
"""

import math
from typing import NamedTuple

import numpy as np

from helpers import validation

__all__ = [
    "GDResult",
    "condition_number",
    "design_matrix",
    "gradient",
    "gradient_descent",
    "hessian",
    "hessian_eigenvalues",
    "level_set",
    "loss",
    "loss_grid",
    "optimum",
    "predicted_steps",
    "stable_learning_rate",
]


# ----------------------------------------------------------------------------- checks
def _check_X(X, name="X"):
    X = validation.number_array(X, name)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{name} must be 2-D with shape (m, n), one example per row, got shape {X.shape}"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain only finite numbers, got NaN or inf")
    return X.astype(np.float64)


def _check_t(t, X):
    t = validation.number_array(t, "t")
    if t.shape != (X.shape[0],):
        raise ValueError(
            f"t must have shape (m,) = ({X.shape[0]},), one target per row of X, "
            f"got shape {t.shape}"
        )
    return t.astype(np.float64)


def _check_theta(theta, X, name="theta"):
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (X.shape[1] + 1,):
        raise ValueError(
            f"{name} must have shape (n + 1,) = ({X.shape[1] + 1},): the n weights, then the "
            f"bias b; got shape {theta.shape}"
        )
    return theta


# ----------------------------------------------------------------------------- the model
def design_matrix(X):
    """A = [X, 1]: X (m, n) with a column of ones appended for the bias; returns (m, n + 1)."""
    X = _check_X(X)
    return np.hstack([X, np.ones((X.shape[0], 1))])


def loss(theta, X, t):
    """L(theta) = 1/(2m) * sum (A @ theta - t)**2, a float.

    theta: (n + 1,) = (w_1, ..., w_n, b); X: (m, n); t: (m,).
    """
    X = _check_X(X)
    t = _check_t(t, X)
    theta = _check_theta(theta, X)
    residual = design_matrix(X) @ theta - t
    return float(residual @ residual / (2 * X.shape[0]))


def gradient(theta, X, t):
    """dL/dtheta = A^T (A @ theta - t) / m, shape (n + 1,): (dL/dw_1, ..., dL/dw_n, dL/db)."""
    X = _check_X(X)
    t = _check_t(t, X)
    theta = _check_theta(theta, X)
    A = design_matrix(X)
    return A.T @ (A @ theta - t) / X.shape[0]


def hessian(X):
    """H = A^T A / m, shape (n + 1, n + 1). It does not depend on theta or t: L is quadratic.

    H[i, j] = mean of x_i * x_j (x_{n+1} = 1 for the bias), so large or uncentred features
    make large entries.
    """
    A = design_matrix(X)
    return A.T @ A / A.shape[0]


def hessian_eigenvalues(X):
    """Eigenvalues of H, ascending, shape (n + 1,). All >= 0 (H is a Gram matrix)."""
    return np.linalg.eigvalsh(hessian(X))


def condition_number(X):
    """kappa = lambda_max / lambda_min of H: 1 for a round bowl, large for a narrow valley.

    Gradient descent needs roughly kappa steps to shrink the error by a constant factor.
    Returns inf if lambda_min is 0 (a feature that is constant or a copy of another).
    """
    eig = hessian_eigenvalues(X)
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def stable_learning_rate(X):
    """The largest stable learning rate, 2 / lambda_max (a float).

    One gradient-descent step multiplies the error along the eigenvector with eigenvalue lambda
    by (1 - lr * lambda); it shrinks only if |1 - lr * lambda| < 1, i.e. lr < 2 / lambda.
    The steepest direction sets the limit.
    """
    return float(2.0 / hessian_eigenvalues(X)[-1])


def optimum(X, t):
    """The least-squares solution: returns (theta_star (n + 1,), loss_star float)."""
    X = _check_X(X)
    t = _check_t(t, X)
    theta_star = np.linalg.lstsq(design_matrix(X), t, rcond=None)[0]
    return theta_star, loss(theta_star, X, t)


# ----------------------------------------------------------------------------- gradient descent
class GDResult(NamedTuple):
    """What `gradient_descent` returns.

    thetas: (k + 1, n + 1), the parameters before the first step and after each of k steps.
    losses: (k + 1,), the loss at each of those points.
    steps_to_tol: the first step count at which loss - loss_star <= tol, or None if never reached.
    diverged: True if the loss blew up (grew 1e6-fold or became inf/NaN) and the run was stopped.
    """

    thetas: np.ndarray
    losses: np.ndarray
    steps_to_tol: int | None
    diverged: bool


def gradient_descent(X, t, lr, theta0=None, max_steps=1000, tol=1e-6):
    """Run theta <- theta - lr * dL/dtheta from theta0 (default: all zeros).

    X: (m, n); t: (m,); lr > 0; theta0: (n + 1,); max_steps: int >= 1; tol > 0.
    Stops after max_steps steps, or earlier if the loss diverges. It keeps going after reaching
    tol, so the whole path up to max_steps can be drawn; steps_to_tol records when it got there.
    Returns a GDResult (see there for shapes).
    """
    X = _check_X(X)
    t = _check_t(t, X)
    lr = validation.real(lr, "lr", low=0)
    max_steps = validation.integer(max_steps, "max_steps", low=1)
    tol = validation.real(tol, "tol", low=0)
    theta = np.zeros(X.shape[1] + 1) if theta0 is None else _check_theta(theta0, X, "theta0")

    A = design_matrix(X)
    m = X.shape[0]
    loss_star = optimum(X, t)[1]

    thetas, losses = [], []
    steps_to_tol, diverged = None, False
    for step in range(max_steps + 1):
        # The residual at theta gives both its loss (the formula of `loss`, without re-checking
        # the inputs every step) and the gradient of the step from it: half the work of
        # computing them apart, the same numbers to the last bit.
        residual = A @ theta - t
        current = float(residual @ residual) / (2 * m)
        thetas.append(theta)
        losses.append(current)
        if steps_to_tol is None and current - loss_star <= tol:
            steps_to_tol = step
        if step > 0 and (not math.isfinite(current) or current > 1e6 * (losses[0] + 1.0)):
            diverged = True
            break
        if step < max_steps:
            theta = theta - lr * (A.T @ residual / m)
    return GDResult(np.array(thetas), np.array(losses), steps_to_tol, diverged)


def predicted_steps(X, t, lr, theta0=None, tol=1e-6):
    """Steps gradient descent needs to reach loss - loss_star <= tol, computed without running it.

    In the eigenbasis of H the error decouples: its component c_i along eigenvector i is
    multiplied by r_i = 1 - lr * lambda_i at every step, so after k steps
        loss - loss_star = 1/2 * sum_i lambda_i * c_i**2 * r_i**(2k).
    We search for the smallest such k (exact for this quadratic loss, up to rounding), which
    works even when k is far too large to run. Returns an int, or None if lr is not stable
    (some |r_i| >= 1 along a direction the error has a component in).
    """
    X = _check_X(X)
    t = _check_t(t, X)
    lr = validation.real(lr, "lr", low=0)
    tol = validation.real(tol, "tol", low=0)
    theta = np.zeros(X.shape[1] + 1) if theta0 is None else _check_theta(theta0, X, "theta0")

    eigenvalues, eigenvectors = np.linalg.eigh(hessian(X))
    theta_star, _ = optimum(X, t)
    c = eigenvectors.T @ (theta - theta_star)
    weight = 0.5 * eigenvalues * c**2  # each direction's share of the initial gap
    r = np.abs(1.0 - lr * eigenvalues)
    active = weight > 1e-30 * max(weight.sum(), 1e-300)  # directions the error really has

    def gap(k):
        return float(np.sum(weight[active] * r[active] ** (2.0 * k)))

    if gap(0) <= tol:
        return 0
    if np.any(r[active] >= 1.0):
        return None
    high = 1
    while gap(high) > tol:  # double until we overshoot, then bisect
        high *= 2
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        if gap(mid) > tol:
            low = mid
        else:
            high = mid
    return high


# ----------------------------------------------------------------------------- contours
def loss_grid(X, t, w1_values, w2_values, b):
    """The loss over a grid of (w_1, w_2) with the bias held at b, for a model on two features.

    X: (m, 2); t: (m,); w1_values: (p,); w2_values: (q,); b: a number.
    Returns L of shape (q, p), L[j, i] = loss((w1_values[i], w2_values[j], b)), the layout
    `plt.contour(w1_values, w2_values, L)` and `imshow` expect.
    Uses the quadratic form L = 1/2 theta^T H theta - g^T theta + mean(t**2)/2, g = A^T t / m,
    so the cost does not grow with m.
    """
    X = _check_X(X)
    if X.shape[1] != 2:
        raise ValueError(f"X must have exactly 2 features for a (w1, w2) grid, got shape {X.shape}")
    t = _check_t(t, X)
    w1 = np.asarray(w1_values, dtype=np.float64)
    w2 = np.asarray(w2_values, dtype=np.float64)
    for name, values in (("w1_values", w1), ("w2_values", w2)):
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {values.shape}")
    b = validation.real(b, "b")

    A = design_matrix(X)
    H = A.T @ A / X.shape[0]
    g = A.T @ t / X.shape[0]
    W1, W2 = np.meshgrid(w1, w2)  # (q, p) each
    thetas = np.stack([W1, W2, np.full_like(W1, b)], axis=-1)  # (q, p, 3)
    quadratic = 0.5 * np.sum((thetas @ H) * thetas, axis=-1)  # theta^T H theta at each point
    return quadratic - thetas @ g + 0.5 * np.mean(t**2)


def level_set(H2, center, gap, n_points=200):
    """Points of the ellipse 1/2 (w - center)^T H2 (w - center) = gap: an exact contour line.

    H2: (2, 2) symmetric positive definite (the (w1, w2) block of H); center: (2,); gap > 0.
    Returns (n_points, 2). Along eigenvector v_i the ellipse reaches sqrt(2 gap / lambda_i) from
    the center, so a large eigenvalue makes a narrow ellipse in that direction.
    Exact at any elongation, where a contour of a sampled grid would miss a needle-thin valley.
    """
    H2 = np.asarray(H2, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    if H2.shape != (2, 2):
        raise ValueError(f"H2 must have shape (2, 2), got {H2.shape}")
    if center.shape != (2,):
        raise ValueError(f"center must have shape (2,), got {center.shape}")
    gap = validation.real(gap, "gap", low=0)
    eigenvalues, eigenvectors = np.linalg.eigh(H2)
    if eigenvalues[0] <= 0:
        raise ValueError(f"H2 must be positive definite, got eigenvalues {eigenvalues}")
    angle = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(angle), np.sin(angle)])  # (2, n_points)
    radii = np.sqrt(2.0 * gap / eigenvalues)[:, None]
    return center + (eigenvectors @ (radii * circle)).T
