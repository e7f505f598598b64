"""Exercise checkers: run the student's function on several cases and say what is wrong.

A checker never raises because the student's code did: it prints what it found and a hint, and
returns True (all checks passed) or False. It compares with the reference implementation in
`helpers`, computed inside the checker on fresh data, so returning hard-coded arrays cannot pass.

The reusable pieces, for the checkers of later notebooks:
    Case                 one input: a description, positional args, keyword args
    call_safely          run the student's function, catching any exception
    output_tuple_problem is the result a tuple of the expected length?
    array_problem        is a value an ndarray of the expected shape, with finite numbers?
    difference_problem   does an array match the reference?
    matching_mistake     which known mistake would have produced exactly these outputs?
    run_cases            loop over cases, print the first problem or "All N checks passed."
"""

from typing import NamedTuple

import numpy as np

from helpers import batchnorm, data

__all__ = [
    "Case",
    "array_problem",
    "call_safely",
    "check_batchnorm_forward",
    "check_identity_gamma_beta",
    "check_normalize_inputs",
    "check_numerical_gradient",
    "difference_problem",
    "matching_mistake",
    "output_tuple_problem",
    "run_cases",
]

RTOL, ATOL = 1e-6, 1e-9  # float64 round-off is ~1e-15; real mistakes differ far more


# ----------------------------------------------------------------------------- reusable pieces
class Case(NamedTuple):
    """One input for the student's function: fn(*args, **kwargs)."""

    description: str
    args: tuple
    kwargs: dict


def call_safely(fn, case, arg_names=None):
    """Run fn(*case.args, **case.kwargs) on copies of the arrays.

    Returns (result, problem): problem is None if the call returned, else a message naming the
    exception. Also reports a function that changed its input arrays in place (arg_names name
    the positional arguments in that message).
    """
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in case.args]
    try:
        result = fn(*copies, **case.kwargs)
    except Exception as error:  # noqa: BLE001 - any mistake in student code becomes a hint
        hint = "Run your function yourself on a small array and read the traceback."
        if "unexpected keyword argument" in str(error):
            hint = "Keep the function signature given in the exercise, including its defaults."
        elif "NoneType" in str(error):
            hint = ("An argument may be None (e.g. X_test=None when there is no test set): "
                    "check for None before computing with it.")
        elif "broadcast" in str(error):
            hint = ("The shapes do not line up. Statistics are per feature: compute them over "
                    "the examples, axis=0, giving shape (n,), which broadcasts against (m, n).")
        return None, f"Your function raised {type(error).__name__}: {error}\n  Hint: {hint}"
    names = arg_names or [f"argument {i + 1}" for i in range(len(case.args))]
    for name, original, passed in zip(names, case.args, copies):
        if isinstance(original, np.ndarray) and not np.array_equal(original, passed, equal_nan=True):
            return None, (
                f"Your function changed its input {name} in place.\n"
                f"  Hint: the caller's data must stay untouched. `X = X - mu` makes a new array; "
                f"`X -= mu` (or `X[...] = ...`) overwrites the caller's array.")
    return result, None


def output_tuple_problem(result, names):
    """None if result is a tuple/list with one entry per name, else a message and hint."""
    expected = f"a tuple of {len(names)}: ({', '.join(names)})"
    if result is None:
        return (f"Your function returned None, expected {expected}.\n"
                f"  Hint: did you forget the `return` statement?")
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = (f"a {type(result).__name__} of length {len(result)}"
               if isinstance(result, (tuple, list)) else f"a {type(result).__name__}")
        return (f"Your function returned {got}, expected {expected}.\n"
                f"  Hint: end with `return {', '.join(names)}`.")
    return None


def array_problem(name, value, shape):
    """None if value is a NumPy array of this shape holding finite numbers, else a message."""
    if not isinstance(value, np.ndarray):
        return (f"{name} is a {type(value).__name__}, expected a NumPy array of shape {shape}.\n"
                f"  Hint: compute it with NumPy operations on the input arrays "
                f"(np.mean, np.var, np.sqrt, -, /), which return arrays.")
    if value.shape != shape:
        hint = "Check which axis you averaged over and whether the result keeps that axis."
        if len(shape) == 1 and value.shape == (1,) + shape:
            hint = "Drop keepdims=True: mu and sigma have one entry per feature, shape (n,)."
        return f"{name} has shape {value.shape}, expected {shape}.\n  Hint: {hint}"
    if not np.issubdtype(value.dtype, np.number):
        return f"{name} has dtype {value.dtype}, expected floating-point numbers."
    if not np.all(np.isfinite(value)):
        return (f"{name} contains NaN or inf.\n"
                f"  Hint: 0 / 0 gives NaN. A feature whose values are all equal has variance 0: "
                f"divide by np.sqrt(var + eps), with eps inside the square root. A single "
                f"example normalized with its own statistics also has variance 0: use the "
                f"training set's mu and sigma.")
    return None


def difference_problem(name, value, expected):
    """None if value matches expected (to round-off), else a message with the largest error."""
    if np.allclose(value, expected, rtol=RTOL, atol=ATOL):
        return None
    largest = np.max(np.abs(np.asarray(value, dtype=np.float64) - expected))
    return f"{name} differs from the expected values (largest difference {largest:.3g})."


def matching_mistake(outputs, mistakes):
    """The hint of the first known mistake whose outputs all match `outputs`, else None.

    outputs: tuple of arrays (None entries are skipped);
    mistakes: list of (hint, mistaken_outputs) with the same layout.
    """
    for hint, mistaken in mistakes:
        pairs = [(o, m) for o, m in zip(outputs, mistaken) if o is not None and m is not None]
        with np.errstate(all="ignore"):
            if pairs and all(
                np.shape(o) == np.shape(m) and np.allclose(o, m, rtol=RTOL, atol=ATOL)
                for o, m in pairs
            ):
                return hint
    return None


def run_cases(fn, cases, check_case):
    """Check fn on each case with check_case(fn, case) -> problem message or None.

    Prints the first problem (with the case's description) or "All N checks passed.", and
    returns True/False. Never raises, whatever fn does.
    """
    if not callable(fn):
        print(f"Expected your function, got {type(fn).__name__} {fn!r}.\n"
              f"  Hint: pass the function itself, without calling it: check(my_function).")
        return False
    for number, case in enumerate(cases, start=1):
        try:
            problem = check_case(fn, case)
        except Exception as error:  # noqa: BLE001 - e.g. an output we cannot compare
            problem = (f"Your output could not be checked ({type(error).__name__}: {error}).\n"
                       f"  Hint: return float NumPy arrays of the documented shapes.")
        if problem:
            print(f"Check {number} of {len(cases)} failed: {case.description}\n  {problem}")
            return False
    print(f"All {len(cases)} checks passed.")
    return True


# ----------------------------------------------------------------------------- normalize_inputs
_NORMALIZE_OUTPUTS = ("X_train_norm", "X_test_norm", "mu", "sigma")


def _normalize_cases():
    """Inputs that, together, tell the right formula apart from each common mistake."""
    rng = np.random.default_rng(2024)

    def features(m, scales, offsets):
        return rng.normal(size=(m, len(scales))) * np.asarray(scales) + np.asarray(offsets)

    train = features(40, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])
    wide_scales, wide_offsets = [1e-3, 0.1, 1.0, 20.0, 1e3], [1e3, -500.0, 0.0, 20.0, 1e3]
    constant = np.column_stack([features(30, [0.05, 2.0], [1.0, -3.0]), np.full(30, 7.0)])
    return [
        Case("5 examples x 3 features, no test set (X_test=None)",
             (features(5, [1.0, 10.0, 0.5], [0.0, 5.0, -2.0]), None), {}),
        Case("40 x 4 training set, 10 test examples from the same distribution",
             (train, features(10, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])), {}),
        Case("test set from a different distribution (shifted and wider than training)",
             (train, features(12, [2.0, 30.0, 1.0, 6.0], [3.0, 80.0, 0.0, 1.0])), {}),
        Case("a test set of a single example",
             (train, features(1, [1.0, 10.0, 0.5, 3.0], [0.0, 50.0, -2.0, 7.0])), {}),
        Case("offsets up to 1e3 and scales from 1e-3 to 1e3",
             (features(60, wide_scales, wide_offsets), features(15, wide_scales, wide_offsets)),
             {}),
        Case("a constant feature (variance 0) and eps=1e-3 passed by keyword",
             (constant, constant[:6] + 0.01), {"eps": 1e-3}),
    ]


def _mistaken_normalizations(X_train, X_test, eps):
    """(hint, outputs) for each common mistake, outputs laid out like normalize_inputs'."""

    def apply(mu, sigma, own_test_stats=False, axis=0):
        if X_test is None:
            test = None
        elif own_test_stats:  # the test set's own statistics, computed the same (right) way
            test = (X_test - X_test.mean(axis=axis, keepdims=True)) / np.sqrt(
                X_test.var(axis=axis, keepdims=True) + eps)
        else:
            test = (X_test - mu) / sigma
        return (X_train - mu) / sigma, test, mu, sigma

    mu, var = X_train.mean(axis=0), X_train.var(axis=0)
    sigma = np.sqrt(var + eps)
    m = X_train.shape[0]
    row_mu = X_train.mean(axis=1, keepdims=True)
    row_sigma = np.sqrt(X_train.var(axis=1, keepdims=True) + eps)
    with np.errstate(all="ignore"):
        return [
            (("X_test was normalized with its own mean and variance. Normalize the test set with "
              "the TRAINING set's mu and sigma: the model was trained on that transformation, and "
              "a test set's own statistics depend on which examples happen to be in it (one "
              "example alone has variance 0)."), apply(mu, sigma, own_test_stats=True)),
            (("You used the unbiased variance (ddof=1, dividing by m - 1). Use the population "
              "variance, np.var(X, axis=0) with the default ddof=0 (divide by m), as batch "
              "normalization and TensorFlow do."),
             apply(mu, np.sqrt(X_train.var(axis=0, ddof=min(1, m - 1)) + eps))),
            (("You computed the statistics per example (over axis=1, along a row). Normalize "
              "per feature: average over the examples, axis=0, one mu and sigma per column."),
             (((X_train - row_mu) / row_sigma), None if X_test is None else
              (X_test - X_test.mean(axis=1, keepdims=True))
              / np.sqrt(X_test.var(axis=1, keepdims=True) + eps), None, None)),
            (("The mean was not subtracted. Normalization is (X - mu) / sigma: subtract the "
              "training mean first, so every feature is centred at 0."), apply(0.0, sigma)),
            (("You did not divide by the standard deviation. After subtracting mu, divide by "
              "sigma = np.sqrt(var + eps) so every feature has variance 1."), apply(mu, 1.0)),
            (("eps is missing: divide by np.sqrt(var + eps). eps keeps a feature with (almost) "
              "zero variance from dividing by (almost) zero."), apply(mu, np.sqrt(var))),
            (("eps is outside the square root. Use np.sqrt(var + eps), not np.sqrt(var) + eps: "
              "the same formula as batch normalization."), apply(mu, np.sqrt(var) + eps)),
            (("You divided by the variance. Divide by the standard deviation, "
              "np.sqrt(var + eps)."), apply(mu, var + eps)),
            (("eps was not taken from the argument. Use the eps your function receives "
              "instead of a fixed number."), apply(mu, np.sqrt(var + 1e-8))),
        ]


def _check_normalize_case(fn, case):
    X_train, X_test = case.args
    eps = case.kwargs.get("eps", 1e-8)
    expected = data.normalize_inputs(X_train.copy(), None if X_test is None else X_test.copy(),
                                     **case.kwargs)
    result, problem = call_safely(fn, case, ("X_train", "X_test"))
    if problem:
        return problem
    problem = output_tuple_problem(result, _NORMALIZE_OUTPUTS)
    if problem:
        return problem
    X_train_norm, X_test_norm, mu, sigma = result

    # The normalized arrays first: most mistakes show up there.
    problem = array_problem("X_train_norm", X_train_norm, X_train.shape)
    if X_test is None and X_test_norm is not None:
        return (f"X_test_norm is a {type(X_test_norm).__name__}, but X_test was None.\n"
                f"  Hint: when there is no test set, return None in its place.")
    if not problem and X_test is not None:
        problem = array_problem("X_test_norm", X_test_norm, X_test.shape)
    if problem:
        return problem
    problem = (difference_problem("X_train_norm", X_train_norm, expected[0])
               or (X_test is not None
                   and difference_problem("X_test_norm", X_test_norm, expected[1])))
    if problem:
        hint = matching_mistake((X_train_norm, X_test_norm),
                                _mistaken_normalizations(X_train, X_test, eps))
        return f"{problem}\n  Hint: {hint or 'compare your formula with (X - mu) / np.sqrt(var + eps).'}"

    # Then the statistics the function reports.
    n = X_train.shape[1]
    for name, value, reference in (("mu", mu, expected[2]), ("sigma", sigma, expected[3])):
        problem = array_problem(name, value, (n,)) or difference_problem(name, value, reference)
        if problem:
            return (f"{problem}\n  Hint: return mu = the training mean per feature and "
                    f"sigma = np.sqrt(var + eps), the numbers you divided by, shape ({n},).")
    return None


def check_normalize_inputs(fn):
    """Check a student's normalize_inputs(X_train, X_test=None, eps=1e-8).

    Expected: (X_train_norm (m, n), X_test_norm (k, n) or None, mu (n,), sigma (n,)) with mu and
    the population variance var from X_train only, sigma = sqrt(var + eps), and both sets
    normalized as (X - mu) / sigma (see helpers.data.normalize_inputs).
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    return run_cases(fn, _normalize_cases(), _check_normalize_case)


# ----------------------------------------------------------------------------- batchnorm_forward
def _import_tensorflow():
    """TensorFlow if it can be imported, else None and a note (the checker then uses helpers only).

    Imported here, on first use, so that `import helpers.checks` stays fast.
    """
    try:
        import tensorflow as tf
    except Exception as error:  # noqa: BLE001 - missing or broken install: use helpers only
        print(f"Note: TensorFlow could not be imported ({type(error).__name__}), so your function "
              f"is compared with helpers.batchnorm only.")
        return None
    return tf


def _bn_cases():
    """Inputs that, together, tell the right formula apart from each common mistake."""
    rng = np.random.default_rng(2025)

    def units(m, means, stds):
        return rng.normal(size=(m, len(means))) * np.asarray(stds) + np.asarray(means)

    n = 5
    gamma, beta = rng.uniform(0.5, 2.0, size=n), rng.uniform(-1.0, 1.0, size=n)
    small_var = units(20, [3.0, -1.0, 0.5], [0.01, 1.0, 2.0])  # unit 0: variance ~1e-4
    constant = np.column_stack([units(8, [2.0, -4.0], [1.0, 3.0]), np.full(8, 0.5)])
    return [
        Case("the 4 x 3 example above: gamma = 1, beta = 0",
             (np.array([[1.0, 2.0, -3.0], [3.0, 2.5, 0.0], [5.0, 1.0, 3.0], [7.0, 0.5, 4.0]]),
              np.ones(3), np.zeros(3)), {}),
        Case("16 examples x 5 units with different means and spreads, gamma and beta per unit",
             (units(16, [0.0, 5.0, -3.0, 10.0, 1.0], [1.0, 0.5, 4.0, 2.0, 10.0]), gamma, beta),
             {}),
        Case("a batch of 3 examples (m and m - 1 differ most)",
             (units(3, [1.0, -2.0, 0.0, 4.0], [2.0, 1.0, 0.5, 3.0]),
              np.array([1.5, 0.5, 2.0, 1.0]), np.array([0.3, -0.2, 1.0, -1.0])), {}),
        Case("a unit with tiny variance (about 1e-4) and eps=1e-2 passed by keyword",
             (small_var, np.array([2.0, 1.0, 0.5]), np.array([1.0, 0.0, -1.0])), {"eps": 1e-2}),
        Case("a constant unit (variance 0, like a dead ReLU) with the default eps",
             (constant, np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.5, 0.25])), {}),
        Case("a single unit, shape (32, 1), far from 0 (mean 100)",
             (units(32, [100.0], [5.0]), np.array([0.8]), np.array([-0.4])), {}),
    ]


def _bn_formula(z, gamma, beta, eps, axis=0, ddof=0, sqrt_eps=True, scale=True):
    """Batch norm written out, with switches that reproduce the common mistakes."""
    mu = z.mean(axis=axis, keepdims=True)
    var = z.var(axis=axis, ddof=ddof, keepdims=True)
    spread = np.sqrt(var + eps) if sqrt_eps else np.sqrt(var) + eps
    z_norm = (z - mu) / spread if scale else z - mu
    return gamma * z_norm + beta


def _mistaken_batchnorms(z, gamma, beta, eps):
    """(hint, (z_tilde,)) for each common mistake, in the order they are looked for."""
    m = z.shape[0]
    with np.errstate(all="ignore"):
        z_norm = _bn_formula(z, 1.0, 0.0, eps)
        return [
            (("You returned z_norm. Finish with z_tilde = gamma * z_norm + beta: gamma and beta "
             "give each unit the mean and spread the network learns."), (z_norm,)),
            (("gamma and beta are swapped: gamma multiplies z_norm (the scale) and beta is added "
             "(the shift), z_tilde = gamma * z_norm + beta."), (beta * z_norm + gamma,)),
            (("You used the unbiased variance (ddof=1, dividing by m - 1). Batch norm and "
             "TensorFlow use the batch's own variance, np.var(z, axis=0) with the default ddof=0 "
             "(divide by m)."), (_bn_formula(z, gamma, beta, eps, ddof=min(1, m - 1)),)),
            (("eps is outside the square root: divide by np.sqrt(var + eps), not "
             "np.sqrt(var) + eps."), (_bn_formula(z, gamma, beta, eps, sqrt_eps=False),)),
            (("eps is missing (or much smaller than the eps argument): divide by "
             "np.sqrt(var + eps) with the eps your function receives. eps keeps a unit with "
             "(almost) zero variance from dividing by (almost) zero."),
             (_bn_formula(z, gamma, beta, 0.0),)),
            *[(f"eps was fixed at {fixed:g}: use the eps your function receives as an argument.",
               (_bn_formula(z, gamma, beta, fixed),)) for fixed in (1e-5, 1e-3) if fixed != eps],
            (("The statistics were computed over the wrong axis (axis=1, across the units of one "
             "example). Batch norm averages each unit over the batch: axis=0, one mu and one var "
             "per unit, shape (n,)."),
             (_bn_formula(z, gamma, beta, eps, axis=1),)),
            ("You divided by the variance. Divide by the standard deviation, np.sqrt(var + eps).",
             (gamma * (z - z.mean(axis=0)) / (z.var(axis=0) + eps) + beta,)),
            (("You did not divide by the standard deviation: "
             "z_norm = (z - mu) / np.sqrt(var + eps)."),
             (_bn_formula(z, gamma, beta, eps, scale=False),)),
            ("The mean was not subtracted: z_norm = (z - mu) / np.sqrt(var + eps).",
             (gamma * z / np.sqrt(z.var(axis=0) + eps) + beta,)),
        ]


_BN_NAN_HINT = ("A unit whose values are all equal (variance 0, like a dead ReLU) gives 0 / 0. "
                "Divide by np.sqrt(var + eps), with the eps your function receives.")


def _bn_hint(problem, marker, hint):
    """Replace call_safely's generic hint by a batch-norm one when the message contains marker."""
    if marker in problem:
        return problem.split("\n  Hint:")[0] + f"\n  Hint: {hint}"
    return problem


def _check_bn_case(fn, case, tf=None):
    z, gamma, beta = case.args
    eps = case.kwargs.get("eps", 1e-5)
    expected = batchnorm.batchnorm_forward(z, gamma, beta, **case.kwargs)[0]
    result, problem = call_safely(fn, case, ("z", "gamma", "beta"))
    if problem:
        return _bn_hint(problem, "broadcast", (
            "the shapes do not line up. mu and var are per unit: average over the examples, "
            "axis=0, giving shape (n,), which broadcasts against z of shape (m, n)."))
    if isinstance(result, (tuple, list)):
        return (f"Your function returned a {type(result).__name__} of length {len(result)}, "
                f"expected the array z_tilde alone.\n  Hint: end with `return z_tilde`.")
    if result is None:
        return "Your function returned None.\n  Hint: did you forget `return z_tilde`?"
    if isinstance(result, np.ndarray) and result.shape == z.shape and np.issubdtype(
            result.dtype, np.number) and np.any(np.isnan(result)):
        return f"z_tilde contains NaN.\n  Hint: {_BN_NAN_HINT}"
    problem = array_problem("z_tilde", result, z.shape)
    if problem:
        return problem
    problem = difference_problem("z_tilde", result, expected)
    if problem:
        hint = matching_mistake((result,), _mistaken_batchnorms(z, gamma, beta, eps)) or (
            "compare your code with the four steps: mu, var, "
            "z_norm = (z - mu) / np.sqrt(var + eps), z_tilde = gamma * z_norm + beta.")
        return f"{problem}\n  Hint: {hint}"
    if tf is not None:
        mean, variance = tf.nn.moments(tf.constant(z), axes=[0])
        reference = tf.nn.batch_normalization(tf.constant(z), mean, variance, offset=beta,
                                              scale=gamma, variance_epsilon=eps).numpy()
        problem = difference_problem("z_tilde (compared with tf.nn.batch_normalization)",
                                     result, reference)
        if problem:
            return problem + "\n  Hint: compare your formula with the lecture's four steps."
    return None


def check_batchnorm_forward(fn, use_tensorflow=True):
    """Check a student's batchnorm_forward(z, gamma, beta, eps=1e-5) -> z_tilde.

    Expected: z of shape (m, n); mu and the biased variance var per unit (over axis 0);
    z_tilde = gamma * (z - mu) / sqrt(var + eps) + beta, shape (m, n) (see
    helpers.batchnorm.batchnorm_forward, which also returns a cache). Each case is compared with
    helpers.batchnorm and, when TensorFlow can be imported (and use_tensorflow is True), with
    tf.nn.batch_normalization. Recognises the common mistakes (ddof=1, eps outside the sqrt or
    missing or fixed, wrong axis, gamma and beta swapped, returning z_norm) and prints a hint.
    Prints "All N checks passed." or the first problem; returns True/False; never raises.
    """
    tf = _import_tensorflow() if use_tensorflow else None
    cases = _bn_cases()
    passed = run_cases(fn, cases, lambda f, case: _check_bn_case(f, case, tf))
    if passed and tf is not None:
        print(f"Your z_tilde also matches tf.nn.batch_normalization on all {len(cases)} cases.")
    return passed


# ----------------------------------------------------------------------------- identity (03)
def _identity_cases():
    rng = np.random.default_rng(3)
    return [
        Case("the 4 x 3 example above", (np.array(
            [[1.0, 2.0, -3.0], [3.0, 2.5, 0.0], [5.0, 1.0, 3.0], [7.0, 0.5, 4.0]]),), {}),
        Case("10 examples x 6 units with different means and spreads",
             (rng.normal(size=(10, 6)) * [1.0, 3.0, 0.2, 5.0, 1.0, 2.0]
              + [0.0, -4.0, 2.0, 10.0, -1.0, 0.5],), {}),
        Case("a small-variance unit and eps=0.5 passed by keyword",
             (rng.normal(size=(12, 3)) * [0.05, 1.0, 2.0] + [1.0, 0.0, -2.0],), {"eps": 0.5}),
    ]


def _mistaken_identities(z, eps):
    mu, var, m = z.mean(axis=0), z.var(axis=0), z.shape[0]
    return [
        (("gamma and beta are swapped: gamma (the scale) must undo the division, "
         "gamma = np.sqrt(var + eps); beta (the shift) must undo the subtraction, beta = mu."),
         (mu, np.sqrt(var + eps))),
        (("eps is missing from gamma: batch norm divided by np.sqrt(var + eps), so gamma must be "
         "exactly that number to undo it."), (np.sqrt(var), mu)),
        ("gamma must be the standard deviation sqrt(var + eps), not the variance.",
         (var + eps, mu)),
        ("You used the unbiased variance (ddof=1). Batch norm divides by m: np.var(z, axis=0).",
         (np.sqrt(z.var(axis=0, ddof=min(1, m - 1)) + eps), mu)),
        ("eps was not taken from the argument: use the eps your function receives.",
         (np.sqrt(var + 1e-5), mu)),
    ]


def _check_identity_case(fn, case):
    (z,) = case.args
    eps = case.kwargs.get("eps", 1e-5)
    result, problem = call_safely(fn, case, ("z",))
    problem = problem or output_tuple_problem(result, ("gamma", "beta"))
    if problem:
        return problem
    gamma, beta = result
    n = z.shape[1]
    problem = array_problem("gamma", gamma, (n,)) or array_problem("beta", beta, (n,))
    if problem:
        return problem
    mu, var = z.mean(axis=0), z.var(axis=0)
    problem = (difference_problem("gamma", gamma, np.sqrt(var + eps))
               or difference_problem("beta", beta, mu))
    if problem:
        hint = matching_mistake((gamma, beta), _mistaken_identities(z, eps)) or (
            "gamma must undo the division by sqrt(var + eps) and beta the subtraction of mu.")
        return f"{problem}\n  Hint: {hint}"
    z_tilde = batchnorm.batchnorm_forward(z, gamma, beta, **case.kwargs)[0]
    return difference_problem("batch norm with your gamma and beta (should give z back)",
                              z_tilde, z)


def check_identity_gamma_beta(fn):
    """Check a student's identity_gamma_beta(z, eps=1e-5) -> (gamma, beta).

    Expected: gamma = sqrt(var + eps) and beta = mu per unit (shape (n,)), so that batch norm
    with them returns z itself. Prints "All N checks passed." or the first problem with a hint;
    returns True/False; never raises.
    """
    return run_cases(fn, _identity_cases(), _check_identity_case)


# ----------------------------------------------------------------------------- numerical_gradient
def _bn_loss_of_bias(x, W, gamma, beta, dz_tilde):
    """f(b) = sum(z~ * dz_tilde) with z~ = batch norm of x @ W + b: its gradient in b is 0."""
    def f(b):
        return float(np.sum(batchnorm.batchnorm_forward(x @ W + b, gamma, beta)[0] * dz_tilde))

    return f


def _gradient_cases():
    """(Case, true gradient) pairs; each Case's args are (f, b)."""
    rng = np.random.default_rng(4)
    x, W = rng.normal(size=(8, 3)), rng.normal(size=(3, 4))
    dout, gamma, beta = rng.normal(size=(8, 4)), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    c = rng.normal(size=5)
    b2, b3, b4 = rng.normal(size=2), rng.normal(size=5), rng.normal(size=4)
    return [
        (Case("f(b) = sum(b**2) at b = [1, -2] (gradient 2 b)",
              (lambda b: float(np.sum(b ** 2)), np.array([1.0, -2.0])), {}),
         np.array([2.0, -4.0])),
        (Case("f(b) = sum(b**3) at 2 random points (gradient 3 b**2)",
              (lambda b: float(np.sum(b ** 3)), b2), {}), 3 * b2 ** 2),
        (Case("f(b) = sum(c * sin(b)) for 5 entries (gradient c * cos(b))",
              (lambda b: float(np.sum(c * np.sin(b))), b3), {}), c * np.cos(b3)),
        (Case("f(b) = sum(z~ * dz~) with z~ = batch norm of x @ W + b (gradient 0)",
              (_bn_loss_of_bias(x, W, gamma, beta, dout), b4), {}), np.zeros(4)),
    ]


def _mistaken_gradients(f, b, h=1e-5):
    """(hint, (gradient,)) for the common mistakes of a centred difference."""
    eye = np.eye(b.size)
    with np.errstate(all="ignore"):
        central = np.array([(f(b + h * e) - f(b - h * e)) / (2 * h) for e in eye])
        return [
            (("That is a one-sided (forward) difference, (f(b + h) - f(b)) / h, whose error is "
             "about h. Use the centred difference (f(b + h) - f(b - h)) / (2 h): error about "
             "h**2."),
             (np.array([(f(b + h * e) - f(b)) / h for e in eye]),)),
            ("You divided by h; the two points b + h and b - h are 2 h apart: divide by 2 h.",
             (2 * central,)),
            (("Every entry holds the same number: you nudged all entries of b at once. Nudge one "
             "entry j at a time (a vector that is h at j and 0 elsewhere)."),
             (np.full(b.size, (f(b + h) - f(b - h)) / (2 * h)),)),
            ("The sign is flipped: (f(b + h) - f(b - h)) / (2 h), the value at b + h first.",
             (-central,)),
        ]


def _check_gradient_case(fn, case, true_gradient):
    f, b = case.args
    result, problem = call_safely(fn, case, ("f", "b"))
    if problem:
        return _bn_hint(problem, "in place", (
            "work on a copy, b_plus = b.copy(); b_plus[j] += h. Adding h and subtracting it "
            "again does not give back exactly the same float."))
    problem = array_problem("the gradient", result, b.shape)
    if problem:
        return problem
    # Centred differences with h = 1e-5 are accurate to ~1e-9 here; a real mistake is far off.
    if np.allclose(result, true_gradient, rtol=1e-6, atol=1e-7):
        return None
    largest = np.max(np.abs(np.asarray(result, dtype=np.float64) - true_gradient))
    hint = matching_mistake((result,), _mistaken_gradients(f, b)) or (
        "grad[j] = (f(b + h e_j) - f(b - h e_j)) / (2 h), one entry j at a time.")
    return (f"the gradient differs from the true gradient (largest difference {largest:.3g}).\n"
            f"  Hint: {hint}")


def check_numerical_gradient(fn):
    """Check a student's numerical_gradient(f, b, h=1e-5) -> gradient of f at b, shape of b.

    f takes a 1-D float array b and returns a float. Expected: the centred difference
    (f(b + h e_j) - f(b - h e_j)) / (2 h) for every entry j. Cases include functions with a
    known nonzero gradient and the batch-norm loss whose gradient in the bias b is 0.
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    pairs = _gradient_cases()
    truths = {id(case): truth for case, truth in pairs}
    return run_cases(fn, [case for case, _ in pairs],
                     lambda f, case: _check_gradient_case(f, case, truths[id(case)]))
