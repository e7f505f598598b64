"""helpers/checks/runner.py and mistakes.py: the generic case runner and the mistakes catalogue.

The runner must never raise whatever the student's function does, report each kind of broken
function with its own message, and protect its cases from a function that changes its inputs.
The catalogue is checked as a table: every mistake an exercise lists is recognised, with its
hint, when a student makes exactly that mistake (tests/test_checks_exercises.py writes the
mistakes out by hand, as students would).
"""

import subprocess
import sys

import numpy as np
import pytest

from helpers.checks import mistakes
from helpers.checks.backward import LAYER_NORM_BACKWARD
from helpers.checks.exercises import EXERCISES as NOTEBOOK_EXERCISES
from helpers.checks.population import POPULATION_STATISTICS
from helpers.checks.runner import (
    Case,
    Output,
    array_problem,
    call_safely,
    is_course_reference,
    matching_mistake,
    run_cases,
    run_exercise,
    unpack,
)

# Every exercise built on runner.Exercise (06's reestimate_bn_stats and 07's Keras port have
# their own steps: tests/test_checks_reestimate.py, tests/test_checks_keras_port.py).
EXERCISES = (*NOTEBOOK_EXERCISES, POPULATION_STATISTICS, LAYER_NORM_BACKWARD)
BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


# ----------------------------------------------------------------------------- the catalogue
def student_making(exercise, switches):
    """A student's function that makes exactly one catalogued mistake, and nothing else.

    On a case where the mistake cannot even run (a forgotten keepdims on a non-square batch
    raises), the student's function returns the right answer, so only the cases where the
    mistake gives numbers can find it.
    """

    def fn(*args, **kwargs):
        case = Case("", args, kwargs)
        try:
            outputs = exercise.variant(case, **switches)
        except ValueError:
            outputs = exercise.reference(case)
        if any(output.hint for output in exercise.outputs):  # not looked at by the mistake
            right = exercise.reference(case)
            outputs = tuple(r if output.hint else o
                            for output, o, r in zip(exercise.outputs, outputs, right))
        return outputs[0] if len(exercise.outputs) == 1 else outputs

    return fn


MISTAKES = [(exercise.name, key, i, switches)
            for exercise in EXERCISES for key in exercise.mistakes
            for i, switches in enumerate(exercise.versions(key))]


@pytest.mark.parametrize("name, key, i, switches", MISTAKES,
                         ids=[f"{name}-{key}-{i}" for name, key, i, _ in MISTAKES])
def test_each_listed_mistake_is_recognised_with_its_hint(name, key, i, switches, capsys):
    exercise = BY_NAME[name]
    with np.errstate(all="ignore"):
        assert run_exercise(exercise, student_making(exercise, switches)) is False
    out = capsys.readouterr().out
    assert exercise.hint(key, **switches) in out, out


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_every_hint_of_an_exercise_is_filled_in(exercise):
    keys = [*exercise.mistakes, *exercise.situations.values(), *exercise.notes,
            *(o.hint for o in exercise.outputs if o.hint)]
    if not callable(exercise.fallback):
        keys.append(exercise.fallback)
    if not callable(exercise.nan):
        keys.append(exercise.nan)
    for key in keys:
        for switches in exercise.versions(key) or ({},):
            text = exercise.hint(key, **switches)
            assert text and "{" not in text and "}" not in text, (key, text)


def test_each_hint_is_written_once():
    texts = [mistake.hint for mistake in mistakes.CATALOGUE.values()]
    assert len(texts) == len(set(texts))


def test_the_formula_is_batch_norm_and_layer_norm():
    z = np.random.default_rng(0).normal(2.0, 3.0, size=(6, 4))
    gamma, beta = np.arange(1.0, 5.0), np.linspace(-1, 1, 4)
    for axis in (0, 1):
        mu, var = z.mean(axis=axis, keepdims=True), z.var(axis=axis, keepdims=True)
        expected = gamma * (z - mu) / np.sqrt(var + 1e-3) + beta
        np.testing.assert_allclose(mistakes.formula(z, gamma, beta, 1e-3, axis=axis), expected)
    swapped = mistakes.formula(z, gamma, beta, swap=True)
    np.testing.assert_allclose(swapped, beta * mistakes.formula(z) + gamma)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_the_stub_of_every_exercise_fails_with_the_stub_hint(exercise, capsys):
    def stub(*args, **kwargs):  # what nbgrader leaves in the student version
        raise NotImplementedError()

    assert run_exercise(exercise, stub) is False
    out = capsys.readouterr().out
    assert "Check 1 of" in out and "raised NotImplementedError" in out
    assert "replace `raise NotImplementedError()`" in out


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_returning_none_fails_for_every_exercise(exercise, capsys):
    assert run_exercise(exercise, lambda *args, **kwargs: None) is False
    out = capsys.readouterr().out
    assert "Your function returned None" in out and "forget the `return` statement" in out


# ----------------------------------------------------------------------------- the runner
def test_call_safely_turns_exceptions_into_messages():
    case = Case("", (np.ones((4, 3)),), {"eps": 1e-3})
    _, problem = call_safely(lambda z: z, case)
    assert "unexpected keyword argument" in problem and "Keep the function signature" in problem
    _, problem = call_safely(lambda z, eps: z + np.ones(4), case, hints={"broadcast": "per unit"})
    assert "raised ValueError" in problem and "Hint: per unit" in problem
    _, problem = call_safely(lambda z, eps: z[5], case)
    assert "raised IndexError" in problem and "read the traceback" in problem


def test_call_safely_reports_an_input_changed_in_place():
    z = np.arange(6.0).reshape(3, 2)

    def centre_in_place(z):
        z -= z.mean(axis=0)
        return z

    result, problem = call_safely(centre_in_place, Case("", (z,), {}), ("z",))
    assert result is None and "changed its input z in place" in problem
    np.testing.assert_array_equal(z, np.arange(6.0).reshape(3, 2))  # the case's z is untouched


def test_call_safely_gives_copies_of_dicts_too():
    cache = {"z_norm": np.ones((2, 2))}

    def vandal(cache):
        cache["z_norm"][:] = 0.0
        cache["new"] = 1
        return 3

    assert call_safely(vandal, Case("", (cache,), {})) == (3, None)  # a dict is not reported ...
    assert set(cache) == {"z_norm"} and cache["z_norm"].min() == 1.0  # ... and stays untouched


@pytest.mark.parametrize("result, words", [
    (None, "returned None, expected a tuple of 2: (gamma, beta)"),
    ((1, 2, 3), "returned a tuple of length 3, expected a tuple of 2"),
    (np.ones(3), "returned a ndarray, expected a tuple of 2"),
])
def test_unpack_names_the_expected_outputs(result, words):
    values, problem = unpack(result, (Output("gamma"), Output("beta")))
    assert values is None and words in problem and "return gamma, beta" in problem


def test_unpack_a_lone_output():
    assert unpack(np.ones(2), (Output("z_tilde"),)) == ((pytest.approx(np.ones(2)),), None)
    _, problem = unpack([np.ones(2), {}], (Output("z_tilde"),))
    assert "a list of length 2, expected the array z_tilde alone" in problem


@pytest.mark.parametrize("value, words", [
    (np.ones((1, 3)), "Drop keepdims=True"),
    (np.ones(5), "reduce over the batch, axis=0"),
    (np.ones((5, 1)), "reduce over the batch, axis=0"),
    (np.ones((3, 3)), "Check which axis"),
    ([1.0, 2.0, 3.0], "is a list, expected a NumPy array"),
    (np.array(["a", "b", "c"]), "has dtype <U1"),
    (np.array([1.0, np.inf, 0.0]), "contains NaN or inf.\n  Hint: look at eps"),
])
def test_array_problem_says_why_a_value_is_wrong(value, words):
    problem = array_problem("dgamma", value, (3,), m=5, nan_hint="look at eps")
    assert words in problem


def test_array_problem_accepts_a_right_array():
    assert array_problem("z", np.zeros((2, 3)), (2, 3)) is None


def test_matching_mistake_returns_the_first_match_and_skips_none():
    right, wrong = np.ones(3), np.full(3, 2.0)
    candidates = [("first", (right, None)), ("second", (wrong, np.zeros(2))),
                  ("third", (wrong, None))]
    assert matching_mistake((wrong, None), candidates) == "second"
    assert matching_mistake((wrong, np.ones(2)), candidates) == "third"
    assert matching_mistake((np.full(3, 9.0), None), candidates) is None
    assert matching_mistake((np.ones(4), None), [("shape", (np.ones(3),))]) is None


def test_run_cases_never_raises_and_stops_at_the_first_problem(capsys):
    cases = [Case("one", (1,), {}), Case("two", (2,), {}), Case("three", (3,), {})]

    def check(fn, case):
        if case.args[0] == 2:
            raise TypeError("cannot compare")
        return None

    assert run_cases(lambda x: x, cases, check) is False
    out = capsys.readouterr().out
    assert "Check 2 of 3 failed: two" in out and "could not be checked (TypeError" in out
    assert run_cases(lambda x: x, cases, lambda fn, case: None) is True
    assert "All 3 checks passed." in capsys.readouterr().out


def test_run_cases_refuses_non_functions_and_the_course_reference(capsys):
    from helpers.batchnorm import batchnorm_inference

    assert run_cases(np.zeros(3), [], lambda fn, case: None) is False
    assert "pass the function itself" in capsys.readouterr().out
    assert run_cases(batchnorm_inference, [], lambda fn, case: None) is False
    out = capsys.readouterr().out
    assert "helpers.batchnorm.batchnorm_inference is the course's own reference" in out


def test_only_helpers_outside_the_checkers_count_as_the_reference():
    from helpers.batchnorm import batchnorm_forward

    assert is_course_reference(batchnorm_forward)
    assert not is_course_reference(mistakes.formula)  # the checkers' own code
    assert not is_course_reference(lambda z: z)


def test_importing_checks_does_not_import_tensorflow():
    code = "import sys, helpers.checks; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# ----------------------------------------------------------------------------- their names
def test_the_students_names_are_read_from_the_signature_and_the_last_return():
    from helpers.checks.names import in_their_words, returned_names, student_names

    def track(rm, rv, z, momentum=0.9):
        if z.size == 0:
            return rm, rv
        new_mean, new_var = rm, rv
        return new_mean, new_var

    assert student_names(track, ("running_mean", "running_var", "z")) == {
        "running_mean": "rm", "running_var": "rv"}
    assert returned_names(track, ["running_mean", "running_var"]) == {
        "running_mean": "new_mean", "running_var": "new_var"}
    assert returned_names(lambda z: z, ["z_tilde"]) == {}  # no return statement to read
    assert student_names(print, ("z",)) == {}  # a builtin: no signature, no names
    message = "dgamma differs from the expected values.\n  Hint: sum dz~ * z_norm over z."
    assert in_their_words(message, {"z": "x"}, {"dgamma": "dg"}) == (
        "dgamma (your `dg`) differs from the expected values.\n"
        "  Hint: sum dz~ * z_norm over x.")
