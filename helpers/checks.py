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

from helpers import data

__all__ = [
    "Case",
    "array_problem",
    "call_safely",
    "check_normalize_inputs",
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
