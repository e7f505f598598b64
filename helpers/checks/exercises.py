"""One spec per exercise, and its public checker (04's backward pass: backward.py).

An Exercise (runner.py) names the student's arguments and outputs, the reference that gives the
right answer, the cases to try (cases.py), and which families of the mistakes catalogue
(mistakes.py) to look for. Its `variant(case, **switches)` computes what a student who makes a
mistake would return: the switches are the catalogue's (e.g. {"ddof": 1}), so one mistake is
described once and recognised in every exercise where it can happen.

Each check_X(fn) prints "All N checks passed." or the first problem with a hint, returns
True/False, and never raises.
"""

import dataclasses

import numpy as np

from helpers import batchnorm, data
from helpers.checks import cases
from helpers.checks.backward import BATCHNORM_BACKWARD, check_batchnorm_backward
from helpers.checks.mistakes import divisor, formula, hint
from helpers.checks.runner import ATOL, RTOL, Exercise, Output, difference_problem, run_exercise

__all__ = [
    "EXERCISES",
    "check_batch_norm",
    "check_batchnorm_backward",
    "check_batchnorm_inference",
    "check_identity_gamma_beta",
    "check_layer_norm",
    "check_normalize_inputs",
    "check_numerical_gradient",
    "check_range_width",
    "check_track_running_stats",
]


def shape_of(i):
    """An output shape: the shape of the case's argument i."""
    return lambda case: case.args[i].shape


def per_column(i):
    """An output shape (n,): one entry per column of the case's argument i."""
    return lambda case: case.args[i].shape[1:]


def eps_of(case, default=1e-5):
    """The eps of a case: passed by keyword, or the exercise's default."""
    return case.kwargs.get("eps", default)


# ----------------------------------------------------------------------------- 01 normalize_inputs
def normalize_inputs_variant(case, test_statistics="train", **switches):
    """X_train and X_test normalized with a mistake; the statistics are not compared."""
    X_train, X_test = case.args
    switches = {"eps": eps_of(case, 1e-8), **switches}
    if test_statistics == "combined":  # mu and sigma of X_train and X_test stacked together
        both = X_train if X_test is None else np.vstack([X_train, X_test])
        return (formula(X_train, stats_of=both, **switches),
                None if X_test is None else formula(X_test, stats_of=both, **switches), None, None)
    if X_test is None:
        test = None
    elif test_statistics == "own" or switches.get("wrong_axis"):
        test = formula(X_test, **switches)  # (rows of X_train have no meaning for X_test)
    else:
        test = formula(X_test, stats_of=X_train, **switches)
    return formula(X_train, **switches), test, None, None


def normalize_inputs_fallback(values, expected, case):
    """Which set is wrong: the test set alone (its statistics), or the normalization itself."""
    train_right = np.allclose(values[0], expected[0], rtol=RTOL, atol=ATOL)
    if train_right and case.args[1] is not None:
        return hint("test set transformation")
    return hint("formula: input normalization")


NORMALIZE_INPUTS = Exercise(
    name="normalize_inputs",
    args=("X_train", "X_test"),
    outputs=(
        Output("X_train_norm", shape_of(0)),
        Output("X_test_norm", lambda case: None if case.args[1] is None else case.args[1].shape),
        Output("mu", per_column(0), hint="statistics returned"),
        Output("sigma", per_column(0), hint="statistics returned"),
    ),
    cases=cases.normalize_inputs_cases,
    reference=lambda case: data.normalize_inputs(*case.args, **case.kwargs),
    variant=normalize_inputs_variant,
    mistakes=("test set own statistics", "train and test statistics", "min-max scaling",
              "no axis", "unbiased variance", "wrong axis", "mean not subtracted",
              "not divided by std", "eps missing", "eps outside sqrt", "divided by variance",
              "eps fixed", "variance from moments"),
    fallback=normalize_inputs_fallback,
    terms={"x": "X", "group": "feature", "over": "the training examples",
           "var_call": "np.var(X_train, axis=0)", "method": "Input normalization",
           "other_axis": "axis=1, along a row: one mean per example"},
    notes={"zero variance": " A single example normalized with its own statistics also has "
                            "variance 0: use the training set's mu and sigma."},
    nan="zero variance",
    own_versions={"eps fixed": ({"eps": 1e-8}, {"eps": 1e-5}, {"eps": 1e-3})},  # 1e-8: its default
)


def check_normalize_inputs(fn):
    """Check a student's normalize_inputs(X_train, X_test=None, eps=1e-8).

    Expected: (X_train_norm (m, n), X_test_norm (k, n) or None, mu (n,), sigma (n,)) with mu and
    the population variance var from X_train only, sigma = sqrt(var + eps), and both sets
    normalized as (X - mu) / sigma (see helpers.data.normalize_inputs). Recognises, among
    others, test data normalized with its own or with train+test statistics, min-max scaling,
    statistics without an axis, and E[X**2] - E[X]**2 (a case with means up to 1e6).
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    return run_exercise(NORMALIZE_INPUTS, fn)


# ----------------------------------------------------------------------------- 02 batch_norm
def batch_norm_variant(case, **switches):
    z, gamma, beta = case.args
    return (formula(z, gamma, beta, **{"eps": eps_of(case), **switches}),)


BATCH_NORM = Exercise(
    name="batch_norm",
    args=("z", "gamma", "beta"),
    outputs=(Output("z_tilde", shape_of(0)),),
    cases=cases.batch_norm_cases,
    reference=lambda case: (batchnorm.batchnorm_forward(*case.args, **case.kwargs)[0],),
    variant=batch_norm_variant,
    mistakes=("returned z_norm", "gamma and beta swapped", "unbiased variance", "eps outside sqrt",
              "eps missing", "eps fixed", "wrong axis", "no axis", "divided by variance",
              "not divided by std", "mean not subtracted", "variance from moments"),
    fallback="formula: batch norm",
    nan="zero variance",
)


def tensorflow_batch_norm(cases):
    """tf.nn.batch_normalization of each (z, gamma, beta, eps), with tf.nn.moments over axis 0.

    Runs in a separate Python process (see tensorflow_references), which imports TensorFlow.
    """
    from helpers.tf_reference import import_tensorflow

    tf, _ = import_tensorflow()
    outputs = []
    for z, gamma, beta, eps in cases:
        mean, variance = tf.nn.moments(tf.constant(z), axes=[0])
        outputs.append(tf.nn.batch_normalization(tf.constant(z), mean, variance, offset=beta,
                                                 scale=gamma, variance_epsilon=eps).numpy())
    return outputs


def tensorflow_references(cases):
    """{case_key(case): TensorFlow's z_tilde}, or None (and a note) without TensorFlow.

    TensorFlow is imported in a separate process that exits at once: imported into the
    student's kernel it would take about 500 MiB for the rest of the session.
    """
    from helpers.tf_reference import in_separate_process

    try:
        outputs = in_separate_process(
            tensorflow_batch_norm, [(*case.args, eps_of(case)) for case in cases])
    except Exception as error:  # missing or broken install: use helpers only
        print(f"Note: TensorFlow could not be imported ({type(error).__name__}), so your function "
              f"is compared with helpers.batchnorm only.")
        return None
    return {case_key(case): output for case, output in zip(cases, outputs)}


def case_key(case):
    """A case's arguments as bytes, to find its TensorFlow output again."""
    return b"|".join(np.asarray(a).tobytes() for a in (*case.args, eps_of(case)))


def tensorflow_problem(references, case, values):
    """A message if z_tilde differs from tf.nn.batch_normalization on this case, else None."""
    context = case.context or {}
    problem = difference_problem("z_tilde (compared with tf.nn.batch_normalization)", values[0],
                                 references[case_key(case)],
                                 context.get("rtol", RTOL), context.get("atol", ATOL))
    return problem and f"{problem}\n  Hint: {hint('formula: batch norm')}"


def check_batch_norm(fn, use_tensorflow=False):
    """Check a student's batch_norm(z, gamma, beta, eps=1e-5) -> z_tilde.

    Expected: z of shape (m, n); mu and the biased variance var per unit (over axis 0);
    z_tilde = gamma * (z - mu) / sqrt(var + eps) + beta, shape (m, n) (see
    helpers.batchnorm.batchnorm_forward, which also returns a cache). Each case is compared with
    helpers.batchnorm and, if use_tensorflow is True and TensorFlow can be imported, with
    tf.nn.batch_normalization (in a separate process: about 5 s; off by default, because
    helpers.batchnorm is itself checked against TensorFlow by the course's tests, and notebook
    02 shows the TensorFlow comparison after the exercise). Recognises the common mistakes
    (ddof=1, eps outside the sqrt or missing or fixed, wrong or no axis, gamma and beta
    swapped, returning z_norm, the variance as E[z**2] - E[z]**2, a computation in float32)
    and prints a hint. The last two cases are far from 0 (means up to 1e6 in float64; float32
    inputs around 300, compared at float32 precision, rtol 1e-4): a right function may return
    float32 or float64 for float32 inputs.
    Prints "All N checks passed." or the first problem; returns True/False; never raises.
    """
    references = tensorflow_references(BATCH_NORM.cases()) if use_tensorflow else None
    exercise = BATCH_NORM if references is None else dataclasses.replace(
        BATCH_NORM, after=lambda case, values: tensorflow_problem(references, case, values))
    passed = run_exercise(exercise, fn)
    if passed and references is not None:
        print(f"Your z_tilde also matches tf.nn.batch_normalization on all "
              f"{len(BATCH_NORM.cases())} cases.")
    return passed


# --------------------------------------------------------------------------- 03 identity_gamma_beta
def identity_variant(case, eps=None, ddof=0, spread="sqrt(var + eps)", swap=False):
    (z,) = case.args
    mu, var = z.mean(axis=0), z.var(axis=0, ddof=min(ddof, len(z) - 1))
    gamma = divisor(var, eps_of(case) if eps is None else eps, spread)
    return (mu, gamma) if swap else (gamma, mu)


def identity_reference(case):
    """gamma = sqrt(var + eps) undoes the division, beta = mu the subtraction."""
    mu, var = batchnorm.batch_moments(case.args[0])
    return np.sqrt(var + eps_of(case)), mu


def gives_z_back(case, values):
    """A message if batch norm with the student's gamma and beta does not return z."""
    (z,) = case.args
    z_tilde = batchnorm.batchnorm_forward(z, *values, **case.kwargs)[0]
    return difference_problem("batch norm with your gamma and beta (should give z back)",
                              z_tilde, z)


IDENTITY_GAMMA_BETA = Exercise(
    name="identity_gamma_beta",
    args=("z",),
    outputs=(Output("gamma", per_column(0)), Output("beta", per_column(0))),
    cases=cases.identity_cases,
    reference=identity_reference,
    variant=identity_variant,
    mistakes=("gamma and beta swapped", "eps missing from gamma", "gamma is the variance",
              "unbiased variance", "eps fixed"),
    fallback="formula: identity",
    notes={"gamma and beta swapped": " To give z back, gamma must undo the division, "
                                     "gamma = np.sqrt(var + eps), and beta the subtraction, "
                                     "beta = mu."},
    after=gives_z_back,
)


def check_identity_gamma_beta(fn):
    """Check a student's identity_gamma_beta(z, eps=1e-5) -> (gamma, beta).

    Expected: gamma = sqrt(var + eps) and beta = mu per unit (shape (n,)), so that batch norm
    with them returns z itself. Prints "All N checks passed." or the first problem with a hint;
    returns True/False; never raises.
    """
    return run_exercise(IDENTITY_GAMMA_BETA, fn)


# ---------------------------------------------------------------------------- 03 numerical_gradient
def numerical_gradient_variant(case, difference="centred", divide_by="2 h", nudge="one", sign=1,
                               h=1e-5):
    f, b = case.args
    if nudge == "one":
        steps = h * np.eye(b.size)          # step j is h at entry j, 0 elsewhere
    else:
        steps = np.full((b.size, b.size), h)  # every entry nudged at once, b.size times
    if difference == "forward":
        grad = [(f(b + step) - f(b)) / h for step in steps]
    else:
        width = h if divide_by == "h" else 2 * h
        grad = [(f(b + step) - f(b - step)) / width for step in steps]
    return (sign * np.array(grad),)


NUMERICAL_GRADIENT = Exercise(
    name="numerical_gradient",
    args=("f", "b"),
    outputs=(Output("grad", shape_of(1)),),
    cases=cases.numerical_gradient_cases,
    reference=lambda case: (case.context["gradient"],),
    variant=numerical_gradient_variant,
    mistakes=("forward difference", "divided by h", "nudged all entries", "sign flipped"),
    fallback="formula: centred difference",
    situations={"in place": "in place (nudge)", "broadcast": "raised"},
    rtol=1e-6, atol=1e-7,  # centred differences with h = 1e-5 are accurate to ~1e-9 here
)


def check_numerical_gradient(fn):
    """Check a student's numerical_gradient(f, b, h=1e-5) -> gradient of f at b, shape of b.

    f takes a 1-D float array b and returns a float. Expected: the centred difference
    (f(b + h e_j) - f(b - h e_j)) / (2 h) for every entry j. Cases include functions with a
    known nonzero gradient and the batch-norm loss whose gradient in the bias b is 0.
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    return run_exercise(NUMERICAL_GRADIENT, fn)


# --------------------------------------------------------------------------- 05 track_running_stats
def track_running_stats_variant(case, momentum=None, ddof=0, statistic="var", returned="blend",
                                swap=False, eps_in_var=0.0, no_axis=False):
    old_mean, old_var, z = case.args
    if no_axis:  # one mean and variance for the whole batch, broadcast to every unit
        z = np.broadcast_to(z.reshape(-1, 1), (z.size, z.shape[1]))
    weight = case.kwargs.get("momentum", 0.9)
    if momentum == "reversed":
        weight = 1 - weight
    elif momentum is not None:
        weight = momentum
    mu = z.mean(axis=0)
    spread = z.std(axis=0) if statistic == "std" else z.var(axis=0, ddof=min(ddof, len(z) - 1))
    spread = spread + eps_in_var
    new = {"blend": (weight * old_mean + (1 - weight) * mu,
                     weight * old_var + (1 - weight) * spread),
           "batch": (mu, spread),
           "old": (old_mean, old_var)}[returned]
    return new[::-1] if swap else new


TRACK_RUNNING_STATS = Exercise(
    name="track_running_stats",
    args=("running_mean", "running_var", "z"),
    outputs=(Output("running_mean", shape_of(0)), Output("running_var", shape_of(1))),
    cases=cases.track_running_stats_cases,
    reference=lambda case: batchnorm.update_running_stats(
        *case.args[:2], *batchnorm.batch_moments(case.args[2]), case.kwargs.get("momentum", 0.9)),
    variant=track_running_stats_variant,
    mistakes=("momentum reversed", "unbiased variance", "std instead of variance", "momentum fixed",
              "batch statistics alone", "old statistics unchanged", "running statistics swapped",
              "eps in running variance", "no axis (running)"),
    fallback="formula: running averages",
    notes={"unbiased variance": " It is the variance the batch was normalized with. (PyTorch's "
                                "running variance averages the unbiased one: another "
                                "convention.)"},
)


def check_track_running_stats(fn):
    """Check a student's track_running_stats(running_mean, running_var, z, momentum=0.9).

    Expected: the batch mean and biased variance of z (m, n) over axis 0, blended into the
    running statistics (n,) as new = momentum * old + (1 - momentum) * batch (the lecture's
    exponentially weighted average; Keras' momentum), returned as (running_mean, running_var).
    Compared with helpers.batchnorm.update_running_stats on fresh data. Recognises the
    reversed (PyTorch) momentum, the unbiased variance, the std instead of the variance, a fixed
    momentum, returning only the batch's or only the old statistics, swapped outputs, eps added
    to the variance, statistics without an axis, keepdims, E[z**2] - E[z]**2.
    Prints "All N checks passed." or the first problem with a hint; returns True/False.
    """
    return run_exercise(TRACK_RUNNING_STATS, fn)


# --------------------------------------------------------------------------- 05 batchnorm_inference
def batchnorm_inference_variant(case, statistics="running", **switches):
    z, gamma, beta, running_mean, running_var = case.args
    running = {} if statistics == "batch" else {"mu": running_mean, "var": running_var}
    return (formula(z, gamma, beta, **{"eps": eps_of(case), **running, **switches}),)


BATCHNORM_INFERENCE = Exercise(
    name="batchnorm_inference",
    args=("z", "gamma", "beta", "running_mean", "running_var"),
    outputs=(Output("z_tilde", shape_of(0)),),
    cases=cases.batchnorm_inference_cases,
    reference=lambda case: (batchnorm.batchnorm_inference(*case.args, **case.kwargs),),
    variant=batchnorm_inference_variant,
    mistakes=("batch statistics at inference", "eps outside sqrt", "eps missing", "eps fixed",
              "gamma and beta swapped", "divided by variance", "returned z_norm"),
    fallback="formula: inference",
    terms={"var": "running_var"},
    situations={"broadcast": "raised"},  # (the statistics are given: nothing to average)
    nan="batch of one at inference",
)


def check_batchnorm_inference(fn):
    """Check a student's batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5).

    Expected: z_tilde = gamma * (z - running_mean) / sqrt(running_var + eps) + beta, shape of
    z (m, n), m may be 1 (see helpers.batchnorm.batchnorm_inference). Recognises batch statistics
    used at inference, eps outside the square root or missing, gamma/beta swapped, dividing by
    the variance, returning z_norm. Prints "All N checks passed." or the first problem with a
    hint; returns True/False; never raises.
    """
    return run_exercise(BATCHNORM_INFERENCE, fn)


# ----------------------------------------------------------------------------- 06 range_width
def range_width_reference(case):
    """The notebook-06 analysis helper, imported on first use (it lives above this floor)."""
    from helpers.probes import trainable_width

    return (trainable_width(*case.args),)


def range_width_variant(case, log="log10", strict=False, width="decades", ends="max and min"):
    grid, accuracies, target = case.args
    kept = grid[accuracies > target] if strict else grid[accuracies >= target]
    if width == "count":
        return (float(kept.size),)
    if kept.size == 0:
        return (0.0,)
    if ends == "last and first":
        largest, smallest = kept[-1], kept[0]
    else:
        largest, smallest = kept.max(), kept.min()
    return (float((np.log if log == "natural" else np.log10)(largest / smallest)),)


RANGE_WIDTH = Exercise(
    name="range_width",
    args=("grid", "accuracies", "target"),
    outputs=(Output("width", kind="number",
                    expected="one number (a float, the width in decades)"),),
    cases=cases.range_width_cases,
    reference=range_width_reference,
    variant=range_width_variant,
    mistakes=("natural log", "strict comparison", "count instead of width", "first and last"),
    fallback="formula: range width",
    situations={"broadcast": "raised"},
    nan="empty selection",
)


def check_range_width(fn):
    """Check fn(grid, accuracies, target) -> width in decades of the grid values that reach target.

    grid: (k,) positive hyperparameter values; accuracies: (k,); target: float. Expected:
    log10(largest) - log10(smallest) of the grid values whose accuracy is >= target, 0.0 if at
    most one reaches it. Prints "All N checks passed." or the first problem with a hint;
    returns True/False; never raises.
    """
    return run_exercise(RANGE_WIDTH, fn)


# ----------------------------------------------------------------------------- 08 layer_norm
def layer_norm_reference(case):
    # floor 2, imported here so that `import helpers.checks` stays small
    from helpers import normalization

    return (normalization.layernorm_forward(*case.args, **case.kwargs)[0],)


def layer_norm_variant(case, **switches):
    z, gamma, beta = case.args
    return (formula(z, gamma, beta, **{"eps": eps_of(case), "axis": 1, **switches}),)


LAYER_NORM = Exercise(
    name="layer_norm",
    args=("z", "gamma", "beta"),
    outputs=(Output("z_tilde", shape_of(0)),),
    cases=cases.layer_norm_cases,
    reference=layer_norm_reference,
    variant=layer_norm_variant,
    mistakes=("wrong axis", "no axis", "gamma and beta swapped", "unbiased variance",
              "eps outside sqrt", "returned z_norm", "eps missing", "eps fixed", "keepdims lost",
              "variance from moments"),
    fallback="formula: layer norm",
    terms={"group": "example", "over": "its units", "axis": "axis=1, keepdims=True",
           "stat_shape": "(m, 1)", "count": "n", "var_call": "np.var(z, axis=1, keepdims=True)",
           "method": "Layer norm",
           "other_axis": "axis=0, one mean per unit over the examples: that is batch norm"},
    nan=lambda case: "batch of one" if case.args[0].shape[0] == 1 else "zero variance",
)


def check_layer_norm(fn):
    """Check a student's layer_norm(z, gamma, beta, eps=1e-5) -> z_tilde.

    Expected: z of shape (m, n); mu and the biased variance var per EXAMPLE (over axis 1);
    z_tilde = gamma * (z - mu) / sqrt(var + eps) + beta, shape (m, n), for any m >= 1 (see
    helpers.normalization.layernorm_forward, which also returns a cache and is tested against
    keras.layers.LayerNormalization). Recognises the common mistakes (statistics over the batch
    axis, i.e. batch norm; ddof=1; eps outside the sqrt, missing or fixed; gamma and beta
    swapped; returning z_norm; keepdims forgotten; no axis; E[z**2] - E[z]**2) and prints a
    hint.
    Prints "All N checks passed." or the first problem; returns True/False; never raises.
    """
    return run_exercise(LAYER_NORM, fn)


# In the order of the notebooks.
EXERCISES = (NORMALIZE_INPUTS, BATCH_NORM, IDENTITY_GAMMA_BETA, NUMERICAL_GRADIENT,
             BATCHNORM_BACKWARD, TRACK_RUNNING_STATS, BATCHNORM_INFERENCE, RANGE_WIDTH, LAYER_NORM)
