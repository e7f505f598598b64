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
    "check_batchnorm_backward",
    "check_batchnorm_forward",
    "check_batchnorm_inference",
    "check_identity_gamma_beta",
    "check_keras_port",
    "check_layernorm_forward",
    "check_normalize_inputs",
    "check_numerical_gradient",
    "check_range_width",
    "check_update_running_stats",
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


def _is_course_reference(fn):
    """True for a function imported from `helpers` itself (e.g. helpers.data.normalize_inputs).

    This stops the one-line "import the answer" submission; a wrapper written in the notebook
    around a helpers function still passes, which is why instructors should also read the code.
    """
    module = getattr(fn, "__module__", None) or ""
    return module == "helpers" or (module.startswith("helpers.") and module != "helpers.checks")


def run_cases(fn, cases, check_case):
    """Check fn on each case with check_case(fn, case) -> problem message or None.

    Prints the first problem (with the case's description) or "All N checks passed.", and
    returns True/False. Never raises, whatever fn does.
    """
    if not callable(fn):
        print(f"Expected your function, got {type(fn).__name__} {fn!r}.\n"
              f"  Hint: pass the function itself, without calling it: check(my_function).")
        return False
    if _is_course_reference(fn):
        print(f"{fn.__module__}.{fn.__name__} is the course's own reference implementation, "
              f"not your code.\n  Hint: the exercise is to write the function yourself; the "
              f"checker compares it with that reference.")
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


def _z_tilde_alone_problem(result):
    """A message if a forward exercise returned a tuple or None instead of the array z_tilde."""
    if isinstance(result, (tuple, list)):
        return (f"Your function returned a {type(result).__name__} of length {len(result)}, "
                f"expected the array z_tilde alone.\n  Hint: end with `return z_tilde`.")
    if result is None:
        return "Your function returned None.\n  Hint: did you forget `return z_tilde`?"
    return None


def _check_bn_case(fn, case, tf=None):
    z, gamma, beta = case.args
    eps = case.kwargs.get("eps", 1e-5)
    expected = batchnorm.batchnorm_forward(z, gamma, beta, **case.kwargs)[0]
    result, problem = call_safely(fn, case, ("z", "gamma", "beta"))
    if problem:
        return _bn_hint(problem, "broadcast", (
            "the shapes do not line up. mu and var are per unit: average over the examples, "
            "axis=0, giving shape (n,), which broadcasts against z of shape (m, n)."))
    problem = _z_tilde_alone_problem(result)
    if problem:
        return problem
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


# ============================================================================= notebooks 04, 05
# Self-contained section: the checkers of notebook 04 (batchnorm_backward) and notebook 05
# (update_running_stats, batchnorm_inference). They reuse the pieces at the top of this module.

# ----------------------------------------------------------------------------- batchnorm_backward
_BACKWARD_OUTPUTS = ("dz", "dgamma", "dbeta")
GRADCHECK_TOL = 1e-8  # float64 centred differences agree with a right backward pass far better


def _backward_cases():
    """(Case, eps) pairs; each Case's args are (z, gamma, beta, dz_tilde). m != n everywhere, so
    a sum over the wrong axis shows up as a wrong shape or a wrong value."""
    rng = np.random.default_rng(404)

    def units(m, means, stds):
        return rng.normal(size=(m, len(means))) * np.asarray(stds) + np.asarray(means)

    return [
        (Case("4 examples x 3 units, gamma = [1.5, 0.5, 2.0], random upstream gradient",
              (units(4, [1.0, -2.0, 0.5], [1.0, 2.0, 0.5]), np.array([1.5, 0.5, 2.0]),
               np.array([0.1, -0.3, 0.2]), rng.normal(size=(4, 3))), {}), 1e-5),
        (Case("16 examples x 5 units with different means and spreads, gamma and beta per unit",
              (units(16, [0.0, 5.0, -3.0, 10.0, 1.0], [1.0, 0.5, 4.0, 2.0, 10.0]),
               rng.uniform(0.5, 2.0, 5), rng.uniform(-1.0, 1.0, 5),
               rng.normal(size=(16, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0] + [0.5, -1.0, 0.0, 2.0, 0.3]),
              {}), 1e-5),
        (Case("a batch of 3 examples x 6 units (every example weighs a lot in mu and var)",
              (units(3, [1.0, -2.0, 0.0, 4.0, 2.0, -1.0], [2.0, 1.0, 0.5, 3.0, 1.0, 0.2]),
               rng.uniform(0.5, 3.0, 6), rng.normal(size=6), rng.normal(size=(3, 6))), {}), 1e-5),
        (Case("10 examples x 2 units, a unit with tiny variance and eps = 1e-2",
              (units(10, [3.0, -1.0], [0.05, 1.0]), np.array([2.0, 0.7]), np.array([1.0, -1.0]),
               rng.normal(size=(10, 2))), {}), 1e-2),
    ]


def _fresh_cache(z, gamma, beta, eps):
    """The cache of helpers.batchnorm.batchnorm_forward, with its own copies of every array."""
    return batchnorm.batchnorm_forward(z, gamma, beta, eps=eps)[1]


def _numerical_bn_gradients(z, gamma, beta, dout, eps):
    """(dz, dgamma, dbeta) of sum(z~ * dout) by centred differences (helpers.gradcheck)."""
    from helpers import gradcheck

    z, gamma, beta = z.copy(), gamma.copy(), beta.copy()

    def forward():
        return batchnorm.batchnorm_forward(z, gamma, beta, eps=eps)[0]

    return tuple(gradcheck.numerical_gradient_array(forward, x, dout) for x in (z, gamma, beta))


def _mistaken_backwards(cache, dout):
    """(hint, (dz, dgamma, dbeta)) for each common mistake, in the order they are looked for."""
    z_norm, gamma, inv_std, m = cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]
    dbeta, dgamma = dout.sum(axis=0), (dout * z_norm).sum(axis=0)

    def dz_from(dz_norm, mean_branch=True, var_branch=True, axis=0):
        out = m * dz_norm
        if mean_branch:
            out = out - dz_norm.sum(axis=axis, keepdims=True)
        if var_branch:
            out = out - z_norm * (dz_norm * z_norm).sum(axis=axis, keepdims=True)
        return inv_std / m * out

    right_dz = dz_from(gamma * dout)
    with np.errstate(all="ignore"):
        return [
            (("dgamma and dbeta are swapped: dbeta = sum of dz~ over the batch (beta is added), "
              "dgamma = sum of dz~ * z_norm (gamma multiplies z_norm)."),
             (right_dz, dbeta, dgamma)),
            (("The mean and variance branches are both missing: you treated mu and var as "
              "constants, dz = gamma * dz~ / sqrt(var + eps). But every z moves mu and var too; "
              "add the two paths through mu and var."),
             (dz_from(gamma * dout, False, False), dgamma, dbeta)),
            (("The mean branch is missing: z changes mu, and mu changes every z_norm. Subtract "
              "the batch average of dz_norm: dz = inv_std / m * (m * dz_norm - sum(dz_norm) - "
              "z_norm * sum(dz_norm * z_norm)), sums over the batch (axis=0)."),
             (dz_from(gamma * dout, mean_branch=False), dgamma, dbeta)),
            (("The variance branch is missing: z changes var, and var scales every z_norm. "
              "Subtract z_norm * sum(dz_norm * z_norm) as well: dz = inv_std / m * (m * dz_norm "
              "- sum(dz_norm) - z_norm * sum(dz_norm * z_norm))."),
             (dz_from(gamma * dout, var_branch=False), dgamma, dbeta)),
            (("gamma is missing from dz: z~ = gamma * z_norm + beta, so the gradient reaching "
              "z_norm is dz_norm = gamma * dz~, not dz~ itself."),
             (dz_from(dout), dgamma, dbeta)),
            (("The sums in dz run over the wrong axis (axis=1, across the units of one example). "
              "mu and var are averages over the batch: sum dz_norm over axis=0, with "
              "keepdims=True so the (1, n) result broadcasts against (m, n)."),
             (dz_from(gamma * dout, axis=1), dgamma, dbeta)),
            (("You divided by sqrt(var + eps) twice (or multiplied by the variance's inverse): "
              "inv_std in the cache is already 1 / sqrt(var + eps)."),
             (right_dz * inv_std, dgamma, dbeta)),
        ]


def _backward_shape_problem(name, value, m, n, shape):
    if isinstance(value, np.ndarray) and value.shape in ((m,), (1, m)) and shape == (n,):
        return (f"{name} has shape {value.shape}, expected {shape}.\n  Hint: {name} has one entry "
                f"per unit: reduce over the batch, axis=0 (you reduced over axis=1, the units).")
    if isinstance(value, np.ndarray) and value.shape == (1, n) and shape == (n,):
        return (f"{name} has shape {value.shape}, expected {shape}.\n  Hint: gamma and beta have "
                f"shape (n,): sum without keepdims (or reshape your result to (n,)).")
    problem = array_problem(name, value, shape)
    if problem and "NaN" in problem:
        return (f"{name} contains NaN or inf.\n  Hint: use the arrays of the cache as they are: "
                f"inv_std = 1 / sqrt(var + eps) is finite even for a unit of constant values.")
    return problem


def _check_backward_case(fn, case, eps, errors):
    z, gamma, beta, dout = case.args
    m, n = z.shape
    expected = batchnorm.batchnorm_backward(dout, _fresh_cache(z, gamma, beta, eps))
    student_case = Case(case.description, (dout, _fresh_cache(z, gamma, beta, eps)), {})
    result, problem = call_safely(fn, student_case, ("dz_tilde", "cache"))
    if problem:
        return _bn_hint(problem, "broadcast", (
            "the shapes do not line up. Sums over the batch have shape (n,); keep them as (1, n) "
            "with keepdims=True where they are combined with (m, n) arrays."))
    problem = output_tuple_problem(result, _BACKWARD_OUTPUTS)
    if problem:
        return problem
    shapes = ((m, n), (n,), (n,))
    for name, value, shape in zip(_BACKWARD_OUTPUTS, result, shapes):
        problem = _backward_shape_problem(name, value, m, n, shape)
        if problem:
            return problem
    numerical = _numerical_bn_gradients(z, gamma, beta, dout, eps)
    rel = [gradcheck_error(np.asarray(r, dtype=np.float64), g) for r, g in zip(result, numerical)]
    errors.append(rel)
    if max(rel) < GRADCHECK_TOL:
        return None
    worst = _BACKWARD_OUTPUTS[int(np.argmax(rel))]
    hint = matching_mistake(tuple(result), _mistaken_backwards(
        _fresh_cache(z, gamma, beta, eps), dout))
    if hint is None:
        wrong = [name for name, value, ref in zip(_BACKWARD_OUTPUTS, result, expected)
                 if not np.allclose(value, ref, rtol=RTOL, atol=ATOL)]
        hint = (f"{', '.join(wrong) or worst} differ from the gradient. Follow the derivation: "
                f"dbeta = sum(dz~), dgamma = sum(dz~ * z_norm), dz_norm = gamma * dz~, "
                f"dz = inv_std / m * (m * dz_norm - sum(dz_norm) - z_norm * sum(dz_norm * z_norm)).")
    return (f"gradient check failed: relative error of {worst} = {max(rel):.2g} "
            f"(must be below 1e-8).\n  Hint: {hint}")


def gradcheck_error(analytic, numerical):
    """helpers.gradcheck.relative_error, imported on first use."""
    from helpers import gradcheck

    return gradcheck.relative_error(analytic, numerical)


def check_batchnorm_backward(fn):
    """Check a student's batchnorm_backward(dz_tilde, cache) -> (dz, dgamma, dbeta).

    The student receives the cache of helpers.batchnorm.batchnorm_forward(z, gamma, beta, eps),
    a dict whose documented keys are: "z_norm" (m, n); "gamma" (n,); "inv_std" (1, n), equal to
    1 / sqrt(var + eps); "m", the batch size; "axes" = (0,) (it also holds "mu", "var", "eps").
    Expected: dz (m, n), dgamma (n,), dbeta (n,), the gradients of the loss for upstream
    gradient dz_tilde (m, n).
    Each case is a float64 gradient check (helpers.gradcheck, centred differences of
    sum(z~ * dz_tilde)) with gamma != 1 and a non-uniform upstream gradient; every relative
    error must be below 1e-8. Recognises the common mistakes (mean or variance branch missing,
    wrong axis, dgamma/dbeta swapped, gamma forgotten) and prints a hint.
    Prints the largest relative errors and "All N checks passed.", or the first problem;
    returns True/False; never raises.
    """
    pairs = _backward_cases()
    eps_of = {id(case): eps for case, eps in pairs}
    errors = []
    passed = run_cases(fn, [case for case, _ in pairs],
                       lambda f, case: _check_backward_case(f, case, eps_of[id(case)], errors))
    if passed:
        worst = np.max(np.asarray(errors), axis=0)
        print("Largest relative error against the numerical gradient: "
              + ", ".join(f"{name} {_order_of(e)}" for name, e in zip(_BACKWARD_OUTPUTS, worst))
              + " (all below 1e-8).")
    return passed


def _order_of(x):
    """A rounding-proof bound for a small positive number: '< 1e-10' style."""
    if x <= 0:
        return "0"
    return f"< 1e{int(np.floor(np.log10(x))) + 1}"


# ----------------------------------------------------------------------------- running averages (05)
_RUNNING_OUTPUTS = ("running_mean", "running_var")


def _running_cases():
    """Cases with args (running_mean, running_var, z) and momentum by keyword or default."""
    rng = np.random.default_rng(505)
    z1 = rng.normal(size=(8, 3)) * [1.0, 2.0, 0.5] + [2.0, -1.0, 0.0]
    z2 = rng.normal(size=(5, 4)) * [3.0, 0.2, 1.0, 2.0] + [10.0, 0.0, -4.0, 1.0]
    z3 = rng.normal(size=(32, 2)) * [1.0, 4.0] + [0.5, -2.0]
    return [
        Case("start of training (running mean 0, variance 1), a batch of 8 x 3, default momentum",
             (np.zeros(3), np.ones(3), z1), {}),
        Case("running statistics far from the batch's, a batch of 5 x 4, momentum=0.99",
             (np.array([1.0, 2.0, -3.0, 0.5]), np.array([0.5, 4.0, 2.0, 1.0]), z2),
             {"momentum": 0.99}),
        Case("a batch of 32 x 2, momentum=0.6 passed by keyword",
             (np.array([0.3, -1.5]), np.array([2.0, 10.0]), z3), {"momentum": 0.6}),
    ]


def _mistaken_running(rm, rv, z, momentum):
    mu, var = z.mean(axis=0), z.var(axis=0)
    m = z.shape[0]

    def blend(k, mean=mu, v=var):
        return k * rm + (1 - k) * mean, k * rv + (1 - k) * v

    return [
        (("The momentum is reversed: in Keras and in the lecture's exponentially weighted average "
          "momentum is the weight of the OLD value, new = momentum * old + (1 - momentum) * "
          "batch. (PyTorch's BatchNorm momentum means the opposite: its 0.1 is our 0.9.)"),
         blend(1 - momentum)),
        (("You used the unbiased variance (ddof=1) of the batch. Keras and helpers average the "
          "biased batch variance, np.var(z, axis=0) (ddof=0), the one the batch was normalized "
          "with. (PyTorch averages the unbiased one: another convention.)"),
         blend(momentum, v=z.var(axis=0, ddof=min(1, m - 1)))),
        ("You averaged the standard deviation; running_var is an average of variances.",
         blend(momentum, v=z.std(axis=0))),
        ("momentum was fixed at 0.9: use the momentum your function receives.", blend(0.9)),
        (("You returned the batch statistics alone: the running averages must remember the past, "
          "new = momentum * old + (1 - momentum) * batch."), (mu, var)),
        (("You returned the old running statistics unchanged: blend in the batch's, "
          "new = momentum * old + (1 - momentum) * batch."), (rm, rv)),
        ("running_mean and running_var are swapped in your return statement.",
         tuple(reversed(blend(momentum)))),
    ]


def _check_running_case(fn, case):
    rm, rv, z = case.args
    momentum = case.kwargs.get("momentum", 0.9)
    expected = batchnorm.update_running_stats(rm, rv, *batchnorm.batch_moments(z), momentum)
    result, problem = call_safely(fn, case, ("running_mean", "running_var", "z"))
    problem = problem or output_tuple_problem(result, _RUNNING_OUTPUTS)
    if problem:
        return problem
    n, m = z.shape[1], z.shape[0]
    for name, value in zip(_RUNNING_OUTPUTS, result):
        problem = _backward_shape_problem(name, value, m, n, (n,))
        if problem:
            return problem
    problem = (difference_problem("running_mean", result[0], expected[0])
               or difference_problem("running_var", result[1], expected[1]))
    if problem:
        hint = matching_mistake(tuple(result), _mistaken_running(rm, rv, z, momentum)) or (
            "mu and var of the batch over axis=0 (biased variance), then "
            "new = momentum * old + (1 - momentum) * batch for each.")
        return f"{problem}\n  Hint: {hint}"
    return None


def check_update_running_stats(fn):
    """Check a student's update_running_stats(running_mean, running_var, z, momentum=0.9).

    Expected: the batch mean and biased variance of z (m, n) over axis 0, blended into the
    running statistics (n,) as new = momentum * old + (1 - momentum) * batch (the lecture's
    exponentially weighted average; Keras' momentum), returned as (running_mean, running_var).
    Compared with helpers.batchnorm.update_running_stats on fresh data. Recognises the
    reversed (PyTorch) momentum, the unbiased variance, the std instead of the variance, a fixed
    momentum, returning only the batch's or only the old statistics, swapped outputs.
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    return run_cases(fn, _running_cases(), _check_running_case)


# ----------------------------------------------------------------------------- inference (05)
def _inference_cases():
    rng = np.random.default_rng(506)
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.2, -1.0, 0.5])
    rm, rv = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])
    return [
        Case("a batch of 6 x 3 whose statistics differ from the running ones",
             (rng.normal(size=(6, 3)) * [1.0, 2.0, 3.0] + [3.0, 0.0, -1.0], gamma, beta, rm, rv),
             {}),
        Case("a single example, shape (1, 3): inference must work for a batch of one",
             (np.array([[2.0, -1.5, 0.0]]), gamma, beta, rm, rv), {}),
        Case("a unit with a tiny running variance and eps=1e-2 passed by keyword",
             (rng.normal(size=(5, 2)) * [0.1, 1.0], np.array([1.0, 2.0]), np.array([0.0, 0.3]),
              np.array([0.05, 0.0]), np.array([1e-4, 2.0])), {"eps": 1e-2}),
    ]


def _mistaken_inferences(z, gamma, beta, rm, rv, eps):
    def bn(mean, var, sqrt_eps=True):
        spread = np.sqrt(var + eps) if sqrt_eps else np.sqrt(var) + eps
        return gamma * (z - mean) / spread + beta

    m = z.shape[0]
    with np.errstate(all="ignore"):
        return [
            (("You normalized with the batch's own mean and variance. At test time use the running "
              "averages, (z - running_mean) / sqrt(running_var + eps): then an example's output "
              "does not depend on the other examples, and a batch of one works."),
             (bn(z.mean(axis=0), z.var(axis=0)),)),
            (("You normalized with the batch's own statistics (and its unbiased variance). At test "
              "time use running_mean and running_var."),
             (bn(z.mean(axis=0), z.var(axis=0, ddof=min(1, m - 1))),)),
            ("eps is outside the square root: divide by np.sqrt(running_var + eps).",
             (bn(rm, rv, sqrt_eps=False),)),
            (("eps is missing: divide by np.sqrt(running_var + eps), with the eps your function "
              "receives."), (gamma * (z - rm) / np.sqrt(rv) + beta,)),
            *[(f"eps was fixed at {fixed:g}: use the eps your function receives.",
               (bn(rm, rv + fixed - eps),)) for fixed in (1e-5, 1e-3) if fixed != eps],
            ("gamma and beta are swapped: z~ = gamma * z_norm + beta.",
             (beta * (z - rm) / np.sqrt(rv + eps) + gamma,)),
            ("You divided by the variance; divide by the standard deviation np.sqrt(var + eps).",
             (gamma * (z - rm) / (rv + eps) + beta,)),
            ("You returned z_norm: finish with z_tilde = gamma * z_norm + beta.",
             ((z - rm) / np.sqrt(rv + eps),)),
        ]


def _check_inference_case(fn, case):
    z, gamma, beta, rm, rv = case.args
    eps = case.kwargs.get("eps", 1e-5)
    expected = batchnorm.batchnorm_inference(z, gamma, beta, rm, rv, **case.kwargs)
    result, problem = call_safely(
        fn, case, ("z", "gamma", "beta", "running_mean", "running_var"))
    if problem:
        return problem
    problem = _z_tilde_alone_problem(result)
    if problem:
        return problem
    if isinstance(result, np.ndarray) and result.shape == z.shape and np.issubdtype(
            result.dtype, np.number) and not np.all(np.isfinite(result)):
        return ("z_tilde contains NaN or inf.\n  Hint: a batch of one example has variance 0: "
                "normalize with running_mean and running_var, never with the batch's statistics.")
    problem = array_problem("z_tilde", result, z.shape) or difference_problem(
        "z_tilde", result, expected)
    if problem:
        hint = matching_mistake((result,), _mistaken_inferences(z, gamma, beta, rm, rv, eps)) or (
            "z_tilde = gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta.")
        return f"{problem}\n  Hint: {hint}"
    return None


def check_batchnorm_inference(fn):
    """Check a student's batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5).

    Expected: z_tilde = gamma * (z - running_mean) / sqrt(running_var + eps) + beta, shape of
    z (m, n), m may be 1 (see helpers.batchnorm.batchnorm_inference). Recognises batch statistics
    used at inference, eps outside the square root or missing, gamma/beta swapped, dividing by
    the variance, returning z_norm. Prints "All N checks passed." or the first problem with a
    hint; returns True/False; never raises.
    """
    return run_cases(fn, _inference_cases(), _check_inference_case)


# ----------------------------------------------------------------------------- Keras port (07)
def _keras_port_cases():
    """Seeded MLPs (bn="before") with weights and running statistics away from their defaults."""
    from helpers.network import MLP  # floor 2, imported here so `import helpers.checks` stays small

    rng = np.random.default_rng(2026)
    specs = [
        ("square hidden layers 5 -> 5 -> 5 -> 3, tanh, momentum 0.8, eps 1e-4",
         MLP((5, 5, 5, 3), activation="tanh", bn="before", momentum=0.8, eps=1e-4)),
        ("6 -> 7 -> 4 -> 3, relu, momentum 0.9, eps 1e-5",
         MLP((6, 7, 4, 3), activation="relu", bn="before", momentum=0.9, eps=1e-5)),
        ("one hidden layer 8 -> 6 -> 4, relu, momentum 0.95",
         MLP((8, 6, 4), activation="relu", bn="before", momentum=0.95)),
    ]
    cases = []
    for seed, (description, net) in enumerate(specs):
        params, state = net.init(seed=seed)
        for k in params:  # b, gamma, beta away from 0 / 1, so a mix-up shows in the outputs
            if not k.startswith("W"):
                params[k] = params[k] + rng.normal(scale=0.5, size=params[k].shape)
        for k in state:  # small variances, so that eps 1e-3 vs net.eps shows too
            state[k] = (rng.uniform(0.02, 0.5, state[k].shape) if "var" in k
                        else rng.normal(size=state[k].shape))
        X = 0.5 + 1.5 * rng.standard_normal((16, net.layer_sizes[0]))
        cases.append(Case(description, (net, params, state, X), {}))
    return cases


def _keras_layers(model, keras):
    """Every layer of the model in order, looking inside nested models."""
    out = []
    for layer in model.layers:
        out.extend(_keras_layers(layer, keras) if isinstance(layer, keras.Model) else [layer])
    return out


def _same(value, expected):
    """Weights equal to float32 precision (a float32 model is accepted)."""
    value = np.asarray(value, dtype=np.float64)
    return value.shape == np.shape(expected) and np.allclose(value, expected, rtol=1e-5, atol=1e-6)


def _keras_structure_problem(model, net, params, state, keras):
    """The first wrong layer setting or weight of the student's model, as a message, or None."""
    layers = _keras_layers(model, keras)
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    bns = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    if len(dense) != net.L or len(bns) != net.L - 1:
        return (f"Your model has {len(dense)} Dense and {len(bns)} BatchNormalization layers; this "
                f"network needs {net.L} Dense and {net.L - 1} BatchNormalization layers.\n"
                f"  Hint: per hidden layer Dense -> BatchNormalization -> Activation, then one "
                f"Dense output layer (logits, no activation).")
    for l, (d, bn) in enumerate(zip(dense, bns), start=1):
        where = f"hidden layer {l}"
        if d.use_bias:
            return (f"The Dense layer of {where} has a bias (use_bias=True) right before batch "
                    f"norm.\n  Hint: BN subtracts the batch mean, which cancels any bias, so our "
                    f"network has no b{l} and beta{l} is the shift: use Dense(..., use_bias=False).")
        if not bn.trainable:
            return (f"The BatchNormalization layer of {where} is frozen (trainable=False).\n  Hint: "
                    f"in Keras 3 a frozen BN layer always runs in inference mode (moving "
                    f"statistics), even in model(X, training=True) or fit: leave trainable=True.")
        if not (bn.center and bn.scale):
            return (f"The BatchNormalization layer of {where} has center={bn.center}, "
                    f"scale={bn.scale}.\n  Hint: keep both True: scale is gamma{l} and center is "
                    f"beta{l}.")
        if not np.isclose(bn.epsilon, net.eps, rtol=1e-6, atol=0):
            hint = (f"Keras' default epsilon is 1e-3; ours is net.eps = {net.eps:g}: pass "
                    f"epsilon=net.eps." if np.isclose(bn.epsilon, 1e-3, rtol=1e-6, atol=0) else
                    f"use this network's eps: epsilon=net.eps ({net.eps:g}), not a fixed number.")
            return (f"The BatchNormalization layer of {where} has epsilon={bn.epsilon:g}.\n"
                    f"  Hint: {hint}")
        if not np.isclose(bn.momentum, net.momentum, rtol=0, atol=1e-9):
            if np.isclose(bn.momentum, 1 - net.momentum, rtol=0, atol=1e-9):
                hint = (f"the momentum is reversed. Keras' momentum means what ours means (new = "
                        f"momentum * old + (1 - momentum) * batch): pass momentum=net.momentum "
                        f"({net.momentum:g}), not 1 - momentum (that is PyTorch's convention).")
            elif np.isclose(bn.momentum, 0.99, rtol=0, atol=1e-9):
                hint = (f"Keras' default momentum 0.99 was left in: pass momentum=net.momentum "
                        f"({net.momentum:g}).")
            else:
                hint = f"pass momentum=net.momentum ({net.momentum:g})."
            return (f"The BatchNormalization layer of {where} has momentum={bn.momentum:g}.\n"
                    f"  Hint: {hint}")
    if not dense[-1].use_bias:
        return (f"The output Dense layer has no bias.\n  Hint: the output layer is not followed "
                f"by batch norm, so it keeps its bias b{net.L}: use_bias=True (the default).")

    # The weights, layer by layer.
    for l, d in enumerate(dense, start=1):
        W = params[f"W{l}"]
        kernel = keras.ops.convert_to_numpy(d.kernel)
        if not _same(kernel, W):
            if _same(kernel.T, W):
                hint = ("it holds W transposed. Keras' kernel has our layout, (n_in, n_out) "
                        "with examples along axis 0: assign W as it is, no transpose.")
            else:
                hint = f"set the kernel to params['W{l}'] (shape {W.shape}, no transpose)."
            return f"The kernel of Dense layer {l} is not W{l}.\n  Hint: {hint}"
    if not _same(keras.ops.convert_to_numpy(dense[-1].bias), params[f"b{net.L}"]):
        return (f"The bias of the output layer is not b{net.L}.\n  Hint: set it to "
                f"params['b{net.L}'].")
    for l, bn in enumerate(bns, start=1):
        got = {name: keras.ops.convert_to_numpy(getattr(bn, name))
               for name in ("gamma", "beta", "moving_mean", "moving_variance")}
        gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
        mean, var = state[f"running_mean{l}"], state[f"running_var{l}"]
        if not (_same(got["gamma"], gamma) and _same(got["beta"], beta)):
            hint = (f"set gamma to params['gamma{l}'] (the scale) and beta to params['beta{l}'] "
                    f"(the shift).")
            if _same(got["gamma"], beta) and _same(got["beta"], gamma):
                hint = "gamma and beta are swapped. " + hint
            return f"gamma or beta of BatchNormalization layer {l} differ from ours.\n  Hint: {hint}"
        if not (_same(got["moving_mean"], mean) and _same(got["moving_variance"], var)):
            if np.all(got["moving_mean"] == 0) and np.all(got["moving_variance"] == 1):
                hint = (f"the moving statistics were not copied: they are still Keras' initial "
                        f"values (mean 0, variance 1). Set moving_mean to state['running_mean{l}'] "
                        f"and moving_variance to state['running_var{l}']: inference mode uses them.")
            elif _same(got["moving_mean"], var) and _same(got["moving_variance"], mean):
                hint = ("moving_mean and moving_variance are swapped. BatchNormalization's weights "
                        "are ordered [gamma, beta, moving_mean, moving_variance].")
            else:
                hint = (f"set moving_mean to state['running_mean{l}'] and moving_variance to "
                        f"state['running_var{l}'].")
            return (f"The moving statistics of BatchNormalization layer {l} differ from our "
                    f"running statistics.\n  Hint: {hint}")
    return None


def _logits_problem(logits, expected, mode):
    """None if the model's logits match ours, else a message (without a hint)."""
    if logits.shape != expected.shape:
        return f"In {mode} your model returned shape {logits.shape}, expected {expected.shape}."
    if not np.all(np.isfinite(logits)):
        return f"In {mode} your model's logits contain NaN or inf."
    largest = float(np.max(np.abs(logits - expected)))
    if largest <= 1e-4 * max(1.0, float(np.max(np.abs(expected)))):  # float32 models pass too
        return None
    return f"In {mode} your model's logits differ from ours (largest difference {largest:.3g})."


_ORDER_HINT = ("check the order of the layers, Dense (no bias) -> BatchNormalization -> "
               "Activation(net.activation) per hidden layer, and an output Dense without "
               "activation (it returns logits).")


def _check_keras_port_case(fn, case, keras):
    net, params, state, X = case.args
    try:
        model = fn(net, {k: v.copy() for k, v in params.items()},
                   {k: v.copy() for k, v in state.items()})
    except Exception as error:  # noqa: BLE001 - any mistake in student code becomes a hint
        hint = "Run build_keras_mlp(net, params, state) yourself and read the traceback."
        if "shape" in str(error).lower():
            hint = ("a weight has the wrong shape. Keras' kernel has our layout (n_in, n_out): "
                    "assign W as it is, no transpose. A Dense layer right before batch norm has "
                    "no bias (use_bias=False), and BatchNormalization's weights are [gamma, beta, "
                    "moving_mean, moving_variance], each of shape (n[l],).")
        return f"Your function raised {type(error).__name__}: {error}\n  Hint: {hint}"
    if model is None:
        return "Your function returned None.\n  Hint: end with `return model`."
    if not isinstance(model, keras.Model):
        return (f"Your function returned a {type(model).__name__}, expected a Keras model.\n"
                f"  Hint: build a keras.Sequential (or keras.Model) and return it.")
    problem = _keras_structure_problem(model, net, params, state, keras)
    if problem:
        return problem

    expected, new_state, _ = net.forward(params, state, X, training=False)
    expected_train, new_state, _ = net.forward(params, state, X, training=True)
    try:
        logits = keras.ops.convert_to_numpy(model(X, training=False)).astype(np.float64)
        logits_train = keras.ops.convert_to_numpy(model(X, training=True)).astype(np.float64)
    except Exception as error:  # noqa: BLE001
        return (f"Calling your model on X of shape {X.shape} raised {type(error).__name__}: "
                f"{error}\n  Hint: the model's input shape is (n_x,) = ({net.layer_sizes[0]},).")

    problem = _logits_problem(logits, expected, "inference mode (training=False)")
    if problem:
        if _logits_problem(logits, expected_train, "") is None:
            hint = ("your model normalizes with the batch's own statistics even when called with "
                    "training=False. Do not fix training=True when calling a layer: Keras passes "
                    "the model's training flag on to every BatchNormalization layer.")
        else:
            hint = _ORDER_HINT
        return f"{problem}\n  Hint: {hint}"
    problem = _logits_problem(logits_train, expected_train, "training mode (training=True)")
    if problem:
        if _logits_problem(logits_train, expected, "") is None:
            hint = ("in training mode your model used the moving statistics: the training flag "
                    "does not reach batch norm. Do not fix training=False when calling a layer, "
                    "and do not freeze BN (trainable=False); training=True must use the batch's "
                    "mean and variance.")
        else:
            hint = _ORDER_HINT
        return f"{problem}\n  Hint: {hint}"
    bns = [layer for layer in _keras_layers(model, keras)
           if isinstance(layer, keras.layers.BatchNormalization)]
    for l, bn in enumerate(bns, start=1):
        for ours, theirs in (("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            if not _same(keras.ops.convert_to_numpy(getattr(bn, theirs)), new_state[f"{ours}{l}"]):
                return (f"After one training-mode call, {theirs} of BatchNormalization layer {l} "
                        f"differs from our updated {ours}{l}.\n  Hint: pass "
                        f"momentum=net.momentum; Keras' momentum means what ours means.")
    return None


def check_keras_port(fn):
    """Check a student's build_keras_mlp(net, params, state) -> a Keras model.

    net is a helpers.network.MLP with bn="before"; params and state come from net.init (here
    with weights and running statistics moved away from their defaults). Expected: a Keras model
    with the same layers and weights, whose logits match net.forward in inference mode
    (model(X, training=False), moving statistics) and in training mode (model(X, training=True),
    batch statistics and one update of the moving statistics). A float32 model passes too.
    Recognises the common mistakes (Keras' default epsilon 1e-3 or momentum 0.99 left in,
    momentum reversed, use_bias=True before BN, W transposed, moving statistics not copied,
    training flag not reaching BN, a frozen BN layer) and prints a hint.
    Prints "All N checks passed." or the first problem; returns True/False; never raises.
    Keras is imported here, on first use, so that `import helpers.checks` stays fast.
    """
    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras
    except Exception as error:  # noqa: BLE001 - no Keras: nothing to check against
        print(f"Keras could not be imported ({type(error).__name__}: {error}), so the port "
              f"cannot be checked.\n  Hint: install the course requirements (tensorflow).")
        return False
    passed = run_cases(fn, _keras_port_cases(),
                       lambda f, case: _check_keras_port_case(f, case, keras))
    if passed:
        print("Your model's logits match helpers.network in inference and training mode, and its "
              "moving statistics follow our running averages.")
    return passed


# ----------------------------------------------------------------------------- layernorm_forward (08)
def _ln_cases():
    """Inputs that, together, tell layer norm apart from batch norm and each common mistake."""
    rng = np.random.default_rng(2028)

    def examples(m, n, scale=1.0):
        # Each example gets its own offset and spread, so per-example and per-unit statistics
        # differ (with a shared offset, averaging over the wrong axis could go unnoticed).
        return (rng.normal(size=(m, n)) * rng.uniform(0.5, 3.0, (m, 1)) * scale
                + rng.normal(0.0, 4.0, (m, 1)))

    gamma5, beta5 = rng.uniform(0.5, 2.0, 5), rng.uniform(-1.0, 1.0, 5)
    small = np.array([[1.0, 2.0, -3.0], [3.0, 2.5, 0.0], [5.0, 1.0, 3.0], [7.0, 0.5, 4.0]])
    return [
        Case("the 4 x 3 example above: gamma = 1, beta = 0", (small, np.ones(3), np.zeros(3)), {}),
        Case("8 examples x 5 units, each example with its own mean and spread, gamma and beta "
             "per unit", (examples(8, 5), gamma5, beta5), {}),
        Case("a square batch, 6 examples x 6 units (a forgotten keepdims still broadcasts here)",
             (examples(6, 6), rng.uniform(0.5, 2.0, 6), rng.uniform(-1.0, 1.0, 6)), {}),
        Case("a batch of ONE example, 1 x 7 (layer norm needs no batch)",
             (examples(1, 7), rng.uniform(0.5, 2.0, 7), rng.uniform(-1.0, 1.0, 7)), {}),
        Case("examples with tiny spread (variance about 1e-4) and eps=1e-2 passed by keyword",
             (examples(5, 4, scale=0.005), rng.uniform(0.5, 2.0, 4), rng.uniform(-1.0, 1.0, 4)),
             {"eps": 1e-2}),
        Case("an example whose units are all equal (variance 0) with the default eps",
             (np.vstack([examples(3, 4), np.full((1, 4), 2.5)]), np.array([1.0, 2.0, 0.5, 1.5]),
              np.array([0.5, -0.5, 0.25, 0.0])), {}),
    ]


def _ln_formula(z, gamma, beta, eps, axis=1, ddof=0, sqrt_eps=True, keepdims=True):
    """Layer norm written out, with switches that reproduce the common mistakes."""
    mu = z.mean(axis=axis, keepdims=keepdims)
    var = z.var(axis=axis, ddof=ddof, keepdims=keepdims)
    spread = np.sqrt(var + eps) if sqrt_eps else np.sqrt(var) + eps
    return gamma * (z - mu) / spread + beta


def _mistaken_layernorms(z, gamma, beta, eps):
    """(hint, (z_tilde,)) for each common mistake, in the order they are looked for."""
    m, n = z.shape
    with np.errstate(all="ignore"):
        mistakes = [
            (("You normalized over the batch axis (axis=0): that is batch norm, one mean per "
              "unit over the examples. Layer norm takes one mean and variance per EXAMPLE over "
              "its units: z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)."),
             (_ln_formula(z, gamma, beta, eps, axis=0),)),
            (("gamma and beta are swapped: gamma multiplies z_norm (the scale) and beta is added "
              "(the shift), z_tilde = gamma * z_norm + beta."), (_ln_formula(z, beta, gamma, eps),)),
            (("You used the unbiased variance (ddof=1, dividing by n - 1). Layer norm, like batch "
              "norm and Keras, divides by the number of values averaged: np.var(z, axis=1) with "
              "the default ddof=0."), (_ln_formula(z, gamma, beta, eps, ddof=min(1, n - 1)),)),
            (("eps is outside the square root: divide by np.sqrt(var + eps), not "
              "np.sqrt(var) + eps."), (_ln_formula(z, gamma, beta, eps, sqrt_eps=False),)),
            (("You returned z_norm. Finish with z_tilde = gamma * z_norm + beta."),
             (_ln_formula(z, 1.0, 0.0, eps),)),
            (("eps is missing (or much smaller than the eps argument): divide by "
              "np.sqrt(var + eps) with the eps your function receives."),
             (_ln_formula(z, gamma, beta, 0.0),)),
            *[(f"eps was fixed at {fixed:g}: use the eps your function receives as an argument.",
               (_ln_formula(z, gamma, beta, fixed),)) for fixed in (1e-5, 1e-3) if fixed != eps],
        ]
        if m == n:  # mu of shape (m,) broadcasts along the rows of a square z: silently wrong
            mistakes.append((
                ("Your per-example statistics lost their axis: mu = z.mean(axis=1) has shape (m,), "
                 "and z - mu then subtracts example i's mean from UNIT i. Keep the axis: "
                 "z.mean(axis=1, keepdims=True) has shape (m, 1) and lines up with the rows."),
                (_ln_formula(z, gamma, beta, eps, keepdims=False),)))
        return mistakes


def _check_ln_case(fn, case):
    # floor 2, imported here so that `import helpers.checks` stays small
    from helpers import normalization

    z, gamma, beta = case.args
    eps = case.kwargs.get("eps", 1e-5)
    expected = normalization.layernorm_forward(z, gamma, beta, **case.kwargs)[0]
    result, problem = call_safely(fn, case, ("z", "gamma", "beta"))
    if problem:
        return _bn_hint(problem, "broadcast", (
            "the shapes do not line up. Layer norm's mu and var are per example: average over "
            "the units, axis=1, with keepdims=True, giving shape (m, 1), which broadcasts "
            "against z of shape (m, n)."))
    problem = _z_tilde_alone_problem(result)
    if problem:
        return problem
    if isinstance(result, np.ndarray) and result.shape == z.shape and np.issubdtype(
            result.dtype, np.number) and np.any(np.isnan(result)):
        hint = ("An example whose units are all equal has variance 0, giving 0 / 0: divide by "
                "np.sqrt(var + eps).")
        if z.shape[0] == 1:
            hint = ("With ONE example, statistics over the batch (axis=0) have variance 0: "
                    "layer norm averages over the units of each example, axis=1.")
        return f"z_tilde contains NaN.\n  Hint: {hint}"
    problem = array_problem("z_tilde", result, z.shape)
    if problem:
        return problem
    problem = difference_problem("z_tilde", result, expected)
    if problem:
        hint = matching_mistake((result,), _mistaken_layernorms(z, gamma, beta, eps)) or (
            "compare your code with mu = z.mean(axis=1, keepdims=True), var likewise, "
            "z_norm = (z - mu) / np.sqrt(var + eps), z_tilde = gamma * z_norm + beta.")
        return f"{problem}\n  Hint: {hint}"
    return None


def check_layernorm_forward(fn):
    """Check a student's layernorm_forward(z, gamma, beta, eps=1e-5) -> z_tilde.

    Expected: z of shape (m, n); mu and the biased variance var per EXAMPLE (over axis 1);
    z_tilde = gamma * (z - mu) / sqrt(var + eps) + beta, shape (m, n), for any m >= 1 (see
    helpers.normalization.layernorm_forward, which also returns a cache and is tested against
    keras.layers.LayerNormalization). Recognises the common mistakes (statistics over the batch
    axis, i.e. batch norm; ddof=1; eps outside the sqrt, missing or fixed; gamma and beta
    swapped; returning z_norm; keepdims forgotten) and prints a hint.
    Prints "All N checks passed." or the first problem; returns True/False; never raises.
    """
    return run_cases(fn, _ln_cases(), _check_ln_case)


# ----------------------------------------------------------------------------- notebook 06
def _range_width_reference(grid, accuracies, target):
    """log10(largest / smallest) grid value whose accuracy is >= target; 0.0 if none."""
    good = grid[accuracies >= target]
    return float(np.log10(good.max() / good.min())) if good.size else 0.0


def _range_width_cases():
    """Fresh sweeps, so no number from the notebook can be copied into the answer."""
    rng = np.random.default_rng(606)
    grid = np.logspace(-4, 0, 9)
    bump = np.clip(0.95 - 0.08 * (np.log10(grid) + 2.0) ** 2 + rng.normal(0, 0.01, 9), 0, 1)
    dip = bump.copy()
    dip[4] = 0.2  # a run that failed in the middle of the range that works
    shuffled = rng.permutation(9)
    exact = bump.copy()
    exact[[1, 7]] = 0.85  # two runs exactly at the target
    return [
        Case("a learning-rate sweep shaped like the notebook's", (grid, bump, 0.85), {}),
        Case("grid values not in increasing order", (grid[shuffled], bump[shuffled], 0.85), {}),
        Case("runs exactly at the target count as reaching it", (grid, exact, 0.85), {}),
        Case("a failed run inside the range does not shorten it", (grid, dip, 0.85), {}),
        Case("only one value reaches the target", (grid, bump, float(bump.max())), {}),
        Case("no value reaches the target", (grid, bump, 0.99), {}),
        Case("another grid and target", (np.logspace(-1, 2, 7), np.linspace(0.2, 0.9, 7), 0.5),
             {}),
    ]


def _mistaken_range_widths(grid, accuracies, target):
    good = grid[accuracies >= target]
    strict = grid[accuracies > target]
    in_order = good if good.size else grid[:1]
    return [
        ("Decades are powers of 10: use np.log10, not np.log (natural log).",
         (float(np.log(good.max() / good.min())) if good.size else 0.0,)),
        ("Runs whose accuracy equals the target reach it too: keep accuracies >= target.",
         (float(np.log10(strict.max() / strict.min())) if strict.size else 0.0,)),
        (("That is the number of grid values that reach the target, not the width of their "
          "range in decades: log10(largest) - log10(smallest)."), (float(good.size),)),
        (("The grid need not be sorted: take the largest and smallest values (max and min), "
          "not the last and first."), (float(np.log10(in_order[-1] / in_order[0])),)),
    ]


def _check_range_width_case(fn, case):
    grid, accuracies, target = case.args
    result, problem = call_safely(fn, case, ("grid", "accuracies", "target"))
    if problem:
        return problem
    if isinstance(result, np.ndarray) and result.shape == ():
        result = result.item()
    if isinstance(result, bool) or not isinstance(result, (int, float, np.integer, np.floating)):
        return (f"Your function returned {type(result).__name__} {result!r}, expected one number "
                f"(a float, the width in decades).\n  Hint: end with `return width`.")
    if not np.isfinite(result):
        return (f"Your function returned {result}.\n  Hint: when no value (or only one) reaches "
                f"the target, the width is 0.0; check for an empty selection before max/min.")
    expected = _range_width_reference(grid, accuracies, target)
    problem = difference_problem("the width", np.float64(result), expected)
    if problem:
        hint = matching_mistake((np.float64(result),),
                                _mistaken_range_widths(grid, accuracies, target)) or (
            "Keep the grid values whose accuracy is >= target, then "
            "log10(largest) - log10(smallest); 0.0 if at most one value is kept.")
        return f"{problem}\n  Hint: {hint}"
    return None


def check_range_width(fn):
    """Check fn(grid, accuracies, target) -> width in decades of the grid values that reach target.

    grid: (k,) positive hyperparameter values; accuracies: (k,); target: float.
    Prints what it found; returns True if every case matches, else False. Never raises.
    """
    return run_cases(fn, _range_width_cases(), _check_range_width_case)
