"""The generic checker: run the student's function on an exercise's cases and say what is wrong.

A checker never raises because the student's code did: it prints what it found and a hint, and
returns True (all checks passed) or False. It compares with the reference implementation in
`helpers`, computed inside the checker on fresh data, so returning hard-coded arrays cannot pass.

One case goes through the same steps for every exercise (`check_case`):
    1. call the function on copies of the inputs       (an exception, an input changed in place)
    2. unpack what it returned                          (None, a tuple of the wrong length,
                                                         right values in the wrong order)
    3. each output: type, shape, finite numbers         (keepdims, the wrong axis, NaN)
    4. compare with the reference                       (the first output that differs ...)
    5. name the mistake                                 (... and the known mistake that explains
                                                         it, else a precision problem, else the
                                                         exercise's fallback hint)
    Outputs with a hint of their own (normalize_inputs' mu and sigma) go through 3-4 last.

Messages use the student's own names where the runner can know them: the parameter names of
their function (inspect.signature) and the names in its `return` statement. Warnings raised
while checking never reach stderr (an autograder scores any stderr output as a failure): they
are printed as a note after the result.

The pieces:
    Case, Output, Exercise   one input; one returned value; one exercise's spec
    call_safely              run the student's function, catching any exception
    array_problem            is a value an ndarray of the expected shape, with finite numbers?
    difference_problem       does an array match the reference?
    run_cases                loop over cases, print the first problem or "All N checks passed."
    run_exercise             run_cases with check_case, for an Exercise
Which mistake explains wrong outputs is diagnosis.py's job; the student's names are names.py's.
"""

import copy
import dataclasses
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from helpers.checks import mistakes
from helpers.checks.diagnosis import (
    ATOL,
    RTOL,
    diagnosis,
    matching_mistake,
    order_problem,
)
from helpers.checks.names import in_their_words, returned_names, student_names

__all__ = [
    "ATOL",
    "RTOL",
    "Case",
    "Exercise",
    "Output",
    "array_problem",
    "call_safely",
    "check_case",
    "difference_problem",
    "is_course_reference",
    "matching_mistake",
    "run_cases",
    "run_exercise",
    "unpack",
]


# ----------------------------------------------------------------------------- the spec
class Case(NamedTuple):
    """One input for the student's function: fn(*args, **kwargs).

    context: what the checker knows about the case and the student is not given (a true
    gradient, the z a cache was computed from, ...).
    """

    description: str
    args: tuple
    kwargs: dict
    context: dict | None = None


class Output(NamedTuple):
    """One value the student's function returns.

    shape: case -> the expected shape, or None when the value must be None (no test set).
    hint:  catalogue key of this output's own hint, used when its value is wrong; such an
           output is checked after the others, and no known mistake is looked for on it.
    kind:  "array" (a NumPy array) or "number" (a Python or NumPy scalar).
    expected: how a lone output is described in messages (default "the array NAME alone").
    """

    name: str
    shape: Callable | None = None
    hint: str | None = None
    kind: str = "array"
    expected: str | None = None


@dataclass(frozen=True)
class Exercise:
    """Everything the generic runner needs to know about one exercise.

    args:      names of the positional arguments (for "changed its input ... in place")
    outputs:   the Output of each returned value, in order
    cases:     () -> list of Case, seeded, computed afresh on every check
    reference: case -> tuple of the expected outputs (None where no output is expected)
    variant:   variant(case, **switches) -> the outputs a known mistake gives (see mistakes.py)
    mistakes:  catalogue keys of the mistakes to look for, in this order
    fallback:  catalogue key of the hint when no known mistake matches, or a function
               (outputs, expected) -> hint, or (outputs, expected, case) -> hint
    terms:     the exercise's words for the hints' {placeholders} (see mistakes.BATCH_NORM_TERMS)
    notes:     catalogue key -> text appended to that hint for this exercise
    situations: situation ("broadcast", "in place", ...) -> catalogue key of its hint here
    nan:       catalogue key of the hint for NaN or inf outputs, or a function case -> key
    own_versions: catalogue key -> the versions of that mistake to try here, instead of the
               catalogue's (e.g. eps fixed at this exercise's own default)
    compare:   (exercise, outputs, expected, case) -> message or None; default: whether an
               output differs from the reference (rtol, atol; a case may set its own in
               context["rtol"] / context["atol"], e.g. for float32 inputs)
    after:     (case, outputs) -> message or None, a last check once the outputs are right
    own_hints: this exercise's own families, key -> mistakes.Mistake (looked up before the
               catalogue; for mistakes that only this exercise can make)
    A case's context["fallback"] names the hint for that case when no known mistake matches
    (e.g. "large offset" on a case built to show a loss of precision).
    """

    name: str
    args: tuple
    outputs: tuple
    cases: Callable
    reference: Callable
    variant: Callable | None = None
    mistakes: tuple = ()
    fallback: str | Callable = "raised"
    terms: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    situations: dict = field(default_factory=dict)
    nan: str | Callable = "NaN"
    own_versions: dict = field(default_factory=dict)
    rtol: float = RTOL
    atol: float = ATOL
    compare: Callable | None = None
    after: Callable | None = None
    own_hints: dict = field(default_factory=dict)

    def versions(self, key):
        """The versions of the mistake `key` tried here: the exercise's own, or the catalogue's."""
        family = self.own_hints.get(key) or mistakes.CATALOGUE[key]
        return self.own_versions.get(key, family.versions)

    def hint(self, key, **values):
        """The catalogue's hint `key` in this exercise's words, with its note if it has one."""
        return mistakes.hint(key, self.terms, self.notes.get(key, ""), self.own_hints, **values)


# ----------------------------------------------------------------------------- 1. the call
SITUATIONS = ("stub", "signature", "None argument", "broadcast", "in place", "raised")


def error_situation(error):
    """Which kind of exception the student's function raised, as a situation name."""
    text = str(error).lower()
    if isinstance(error, NotImplementedError):
        return "stub"
    if "unexpected keyword argument" in text:
        return "signature"
    if "nonetype" in text:
        return "None argument"
    if "broadcast" in text:
        return "broadcast"
    if "shape" in text:
        return "shape mismatch"  # (a hint only where the caller has one: the Keras port's)
    return "raised"


def call_safely(fn, case, arg_names=None, hints=None):
    """Run fn(*case.args, **case.kwargs) on deep copies of the arguments.

    Returns (result, problem): problem is None if the call returned, else a message naming the
    exception and a hint (hints: situation -> hint text, else the catalogue's). Copies, so that
    a function that changes its inputs cannot spoil the reference or later cases; an ndarray
    argument changed in place is reported (arg_names name the positional arguments).
    """
    hints = hints or {}
    copies = copy.deepcopy(case.args)
    try:
        with np.errstate(all="warn"):  # floating-point trouble becomes a warning, never stderr
            result = fn(*copies, **case.kwargs)
    except Exception as error:  # any mistake in student code becomes a hint
        situation = error_situation(error)
        text = hints.get(situation) or mistakes.hint(
            situation if situation in mistakes.CATALOGUE else "raised")
        return None, f"Your function raised {type(error).__name__}: {error}\n  Hint: {text}"
    names = arg_names or [f"argument {i + 1}" for i in range(len(case.args))]
    for name, original, passed in zip(names, case.args, copies):
        if isinstance(original, np.ndarray) and not np.array_equal(original, passed,
                                                                   equal_nan=True):
            text = hints.get("in place") or mistakes.hint("in place")
            return None, f"Your function changed its input {name} in place.\n  Hint: {text}"
    return result, None


# ----------------------------------------------------------------------------- 2. what came back
def unpack(result, outputs):
    """(values, problem): the result as one value per Output, or a message if it is not that."""
    names = ", ".join(output.name for output in outputs)
    if len(outputs) == 1:
        expected = outputs[0].expected or f"the array {outputs[0].name} alone"
    else:
        expected = f"a tuple of {len(outputs)}: ({names})"
    if result is None:
        return None, (f"Your function returned None, expected {expected}.\n"
                      f"  Hint: {mistakes.hint('returned None', names=names)}")
    is_sequence = isinstance(result, (tuple, list))
    if len(outputs) == 1 and not is_sequence:
        return (result,), None
    if len(outputs) > 1 and is_sequence and len(result) == len(outputs):
        return tuple(result), None
    got = (f"a {type(result).__name__} of length {len(result)}" if is_sequence
           else f"a {type(result).__name__}")
    return None, (f"Your function returned {got}, expected {expected}.\n"
                  f"  Hint: {mistakes.hint('wrong structure', names=names)}")


# ----------------------------------------------------------------------------- 3. each output
def shape_hint(name, got, shape, m=None, terms=None):
    """Why an output may have shape `got` instead of `shape`: keepdims, the other axis, none."""
    if got == () and len(shape) == 1:
        return mistakes.hint("shape: no axis", terms, name=name)
    if len(shape) == 1 and got in ((1,) + shape, shape + (1,)):
        return mistakes.hint("shape: keepdims", terms, name=name, shape=shape)
    if len(shape) == 1 and m not in (None, shape[0]) and got in ((m,), (1, m), (m, 1)):
        return mistakes.hint("shape: wrong axis", terms, name=name)
    return mistakes.hint("shape")


def array_problem(name, value, shape, *, m=None, terms=None, nan_hint=None):
    """None if value is a NumPy array of this shape holding finite numbers, else a message.

    m: the batch size, so that a result of m entries is recognised as reduced over the wrong
    axis; terms: the exercise's words for the hints; nan_hint: the hint for NaN or inf.
    """
    if value is None:
        return (f"{name} is None, expected a NumPy array of shape {shape}.\n"
                f"  Hint: {mistakes.hint('output None', name=name)}")
    if np.isscalar(value) and len(shape) == 1:  # e.g. np.mean(x) without axis= gives a float
        return (f"{name} is the single number {value!r}, expected a NumPy array of shape "
                f"{shape}.\n  Hint: {shape_hint(name, (), shape, terms=terms)}")
    if not isinstance(value, np.ndarray):
        return (f"{name} is a {type(value).__name__}, expected a NumPy array of shape {shape}.\n"
                f"  Hint: {mistakes.hint('not an array')}")
    if value.shape != shape:
        return (f"{name} has shape {value.shape}, expected {shape}.\n"
                f"  Hint: {shape_hint(name, value.shape, shape, m, terms)}")
    if not np.issubdtype(value.dtype, np.number):
        return (f"{name} has dtype {value.dtype}, expected floating-point numbers.\n"
                f"  Hint: {mistakes.hint('not an array')}")
    if not np.all(np.isfinite(value)):
        return f"{name} contains NaN or inf.\n  Hint: {nan_hint or mistakes.hint('NaN')}"
    return None


def number_problem(output, value, nan_hint):
    """None if value is one finite real number, else a message."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return (f"Your function returned {type(value).__name__} {value!r}, expected "
                f"{output.expected or 'one number'}.\n"
                f"  Hint: {mistakes.hint('wrong structure', names=output.name)}")
    if not np.isfinite(value):
        return f"Your function returned {value}.\n  Hint: {nan_hint}"
    return None


def batch_size(case):
    """m, the rows of the case's first 2-D array argument (None if it has none)."""
    return next((a.shape[0] for a in case.args if isinstance(a, np.ndarray) and a.ndim == 2),
                None)


def value_problem(exercise, output, value, case):
    """None if one output has the right type, shape and finite values, else a message."""
    nan_key = exercise.nan(case) if callable(exercise.nan) else exercise.nan
    nan_hint = exercise.hint(nan_key)
    if output.kind == "number":
        return number_problem(output, value, nan_hint)
    shape = output.shape(case)
    if shape is None:
        return None if value is None else (
            f"{output.name} is a {type(value).__name__}, expected None.\n"
            f"  Hint: {exercise.hint('return None')}")
    return array_problem(output.name, value, shape, m=batch_size(case), terms=exercise.terms,
                         nan_hint=nan_hint)


# ----------------------------------------------------------------------------- 4. the values
def difference_problem(name, value, expected, rtol=RTOL, atol=ATOL):
    """None if value matches expected (to round-off), else a message with the largest error."""
    if np.allclose(value, expected, rtol=rtol, atol=atol):
        return None
    largest = np.max(np.abs(np.asarray(value, dtype=np.float64) - expected))
    return f"{name} differs from the expected values (largest difference {largest:.3g})."


def tolerances(exercise, case):
    """(rtol, atol) for this case: the case's own (context) or the exercise's."""
    context = case.context or {}
    return context.get("rtol", exercise.rtol), context.get("atol", exercise.atol)


def first_difference(exercise, values, expected, case):
    """A message about the first output that differs from the reference, or None.

    Outputs with their own hint are left out: check_case compares them afterwards."""
    rtol, atol = tolerances(exercise, case)
    for output, value, reference in zip(exercise.outputs, values, expected):
        if reference is None or output.hint:
            continue
        problem = difference_problem(output.name, value, reference, rtol, atol)
        if problem:
            return problem
    return None


# ----------------------------------------------------------------------------- the loop
def check_case(exercise, fn, case):
    """The first problem of fn on one case, as a message with a hint, or None."""
    expected = exercise.reference(case)
    hints = {situation: exercise.hint(exercise.situations.get(situation, situation))
             for situation in SITUATIONS}
    result, problem = call_safely(fn, case, exercise.args, hints)
    if problem:
        return problem
    values, problem = unpack(result, exercise.outputs)
    if problem:
        return problem
    if exercise.compare is None or len(values) > 1:
        problem = order_problem(exercise, values, expected, case, *tolerances(exercise, case))
        if problem:
            return problem
    # First the outputs that mistakes are recognised on (most mistakes show up there) ...
    for output, value in zip(exercise.outputs, values):
        problem = not output.hint and value_problem(exercise, output, value, case)
        if problem:
            return problem
    problem = (exercise.compare or first_difference)(exercise, values, expected, case)
    if problem:
        return f"{problem}\n  Hint: {diagnosis(exercise, case, values, expected)}"
    # ... then those with their own hint (e.g. the statistics normalize_inputs reports).
    for output, value, reference in zip(exercise.outputs, values, expected):
        if output.hint:
            problem = value_problem(exercise, output, value, case)
            if problem:
                return problem
            problem = difference_problem(output.name, value, reference,
                                         *tolerances(exercise, case))
            if problem:
                return f"{problem}\n  Hint: {exercise.hint(output.hint)}"
    return exercise.after(case, values) if exercise.after else None


def is_course_reference(fn):
    """True for a function imported from `helpers` itself (e.g. helpers.data.normalize_inputs).

    This stops the one-line "import the answer" submission; a wrapper written in the notebook
    around a helpers function still passes, which is why instructors should also read the code.
    """
    module = getattr(fn, "__module__", None) or ""
    return module == "helpers" or (module.startswith("helpers.")
                                   and not module.startswith("helpers.checks"))


def run_cases(fn, cases, check):
    """Check fn on each case with check(fn, case) -> problem message or None.

    Prints the first problem (with the case's description) or "All N checks passed.", and
    returns True/False. Never raises, whatever fn does.
    """
    if not callable(fn):
        print(f"Expected your function, got {type(fn).__name__} {fn!r}.\n"
              f"  Hint: {mistakes.hint('not a function')}")
        return False
    if is_course_reference(fn):
        print(f"{fn.__module__}.{fn.__name__} is the course's own reference implementation, "
              f"not your code.\n  Hint: {mistakes.hint('course reference')}")
        return False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning is recorded, none reaches stderr
        passed = first_failure(fn, cases, check) is None
    warning_notes(caught)
    return passed


def first_failure(fn, cases, check):
    """Run the cases until one fails; print it (or that all passed) and return its number."""
    for number, case in enumerate(cases, start=1):
        try:
            problem = check(fn, case)
        except Exception as error:  # e.g. an output we cannot compare
            problem = (f"Your output could not be checked ({type(error).__name__}: {error}).\n"
                       f"  Hint: {mistakes.hint('not checkable')}")
        if problem:
            print(f"Check {number} of {len(cases)} failed: {case.description}\n  {problem}")
            return number
    print(f"All {len(cases)} checks passed.")
    return None


def warning_notes(caught, most=3):
    """Print the distinct warnings raised while checking, as a note on stdout."""
    seen = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    for text in seen[:most]:
        print(f"Note: a warning was raised while checking (it does not fail the check): {text}")
    if len(seen) > most:
        print(f"Note: {len(seen) - most} more different warnings were raised.")


def run_exercise(exercise, fn):
    """Check a student's function for one exercise on its cases; True if all pass."""
    arguments = {ours: theirs for ours, theirs in student_names(fn, exercise.args).items()
                 if ours not in {output.name for output in exercise.outputs}}
    outputs = returned_names(fn, [output.name for output in exercise.outputs])
    spec = dataclasses.replace(exercise, args=tuple(arguments.get(a, a) for a in exercise.args))

    def check(f, case):
        return in_their_words(check_case(spec, f, case), arguments, outputs)

    return run_cases(fn, exercise.cases(), check)
