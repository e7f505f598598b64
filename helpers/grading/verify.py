"""Verified grading: every exercise of a submitted notebook checked outside the student's reach.

    from helpers.grading.verify import verify_submission
    result = verify_submission("submitted/ada/02_batchnorm_forward/02_batchnorm_forward.ipynb",
                               "notebooks/02_batchnorm_forward.ipynb", secret=SECRET)
    result.problems        notebook-level problems (not a notebook, no solution cells, ...)
    result.exercises       {test cell grade_id: ExerciseResult}
    result.seconds         wall time
    result.sandbox         the child's OS protection: "bubblewrap", or "none (why)"

How (see submission.py, child.py, remote.py, wire.py):
- The submission is read as JSON; each exercise's code is its solution cell, found by its
  nbgrader grade_id. What the test cell checks is read from the course's SOURCE notebook (the
  student may have edited the submitted test cell).
- The solution cells run in a child process (resource limits, an audit hook, a profile hook),
  never in this one. Where bubblewrap (bwrap) works, the child runs in its sandbox
  (helpers.grading.remote.sandbox): read-only file system except its own working folder, a
  private /tmp, the submissions' folder (private_dirs) hidden, its own PID namespace (it cannot
  see or signal the grader; whatever it starts dies with it), no network, no capabilities,
  an environment without the grader's variables. Without bwrap only the hooks protect; the
  result's `sandbox` says which.
- The checkers of helpers.checks run HERE, unchanged, on a stand-in of the student's
  function: each call goes to the child, and only plain data (numbers, strings, numeric
  arrays) comes back, decoded without unpickling. So patching numpy.allclose, replacing
  helpers.checks.run_cases, faking sys.modules or an IPython input transformer change nothing
  here: they happen in the child, where no checking is done.
- The cases come from `secret` (helpers.checks.seeds.secret_cases): outputs computed from the
  public seeds and pasted into a function do not pass.
- A call into helpers code while the student's function runs (the course's reference, however
  renamed, wrapped, partial'ed or relabelled: detected from the code objects executed, not from
  names) scores 0; for the exercises whose arguments are helpers objects (06's network, 07's)
  only the reference functions that solve the exercise are refused (REFERENCES: looked up
  before any student code runs, and matched by what their code does, so that a rebound module
  attribute or a clone with another name or file is still recognised).
- A function whose code is the same as a helpers function (its ast, docstrings aside) is flagged
  for the instructor, not scored 0: the solutions are public.
- Timeouts, crashes and refused actions (processes, deleting files, ...) score that exercise 0
  with the reason; a fresh child grades the rest, within a wall-clock budget per submission.

What a determined student can still do: the hooks run inside the child, in the same Python
process as the student's code, so code that reaches the harness's state (through frames,
closures or the grader's pipe) can switch them off or hide a call to the reference, or build
a clone of a helpers function under another file name. The effect is the same as copying the
public solution by hand (a correct answer, flagged only when identical to helpers code); it
cannot change the grade of a wrong answer (the checking is done here, on secret cases). What
such code can do to the machine is what the OS sandbox allows: write in its own working
folder (removed afterwards), read the rest of the file system (the course's public files,
Python) except the hidden private_dirs, and use its time and memory limits. Without bwrap
it can do whatever the grader's user can.
"""

import ast
import contextlib
import functools
import io
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from helpers.checks.seeds import secret_cases
from helpers.grading import submission
from helpers.grading.remote import BUDGET_EXHAUSTED, ChildFailure, RemoteFunction, Session
from helpers.grading.remote import sandbox as sandbox_in_use
from helpers.grading.wire import Opaque

__all__ = ["REFERENCES", "ExerciseResult", "SubmissionResult", "verify_submission"]

HELPERS_DIR = Path(__file__).resolve().parent.parent

# checker -> the reference functions refused for an exercise whose arguments are helpers
# objects (the student may call those objects' methods); every other checker refuses any call
# into helpers code.
REFERENCES = {
    "check_reestimate_bn_stats": [("helpers.probes", "reestimate_bn_stats")],
    "check_keras_port": [("helpers.tf_reference", "keras_mlp"),
                         ("helpers.tf_reference", "copy_to_keras"),
                         ("helpers.tf_reference", "keras_variables")],
}


@dataclass
class ExerciseResult:
    """The verified score of one graded test cell.

    grade_id: the test cell's nbgrader id; exercise: its solution cell's id; message: what the
    checker printed, or why the exercise could not be checked; flags: notes for the instructor
    (a call into the reference, code copied from helpers, a timeout, refused actions).
    """

    grade_id: str
    exercise: str
    points: float
    max_points: float
    passed: bool
    message: str
    flags: list = field(default_factory=list)


@dataclass
class SubmissionResult:
    """All verified scores of one submitted notebook."""

    notebook: str
    problems: list = field(default_factory=list)
    exercises: dict = field(default_factory=dict)
    seconds: float = 0.0
    sandbox: str = ""   # the OS protection of the child: "bubblewrap" or "none (why)"

    @property
    def points(self):
        return sum(result.points for result in self.exercises.values())

    @property
    def max_points(self):
        return sum(result.max_points for result in self.exercises.values())


# ----------------------------------------------------------------------------- copied code
def without_docstring(body):
    if body and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def shape_key(def_node):
    """A cheap key (argument count, statement count) to find candidates before comparing."""
    return len(def_node.args.args), len(without_docstring(def_node.body))


def normalized(def_node):
    """A function's ast as text, without its name and docstring (comments are not in ast)."""
    node = ast.FunctionDef(name="_", args=def_node.args,
                           body=without_docstring(def_node.body) or [ast.Pass()],
                           decorator_list=def_node.decorator_list, returns=def_node.returns,
                           type_comment=None)
    return ast.dump(node, annotate_fields=False)


@functools.cache
def helpers_functions():
    """{shape_key: [(def node, "helpers.module.function")]} of the helpers package's functions."""
    found = {}
    for path in sorted(HELPERS_DIR.rglob("*.py")):
        if "grading" in path.parts:
            continue
        module = ".".join(path.relative_to(HELPERS_DIR.parent).with_suffix("").parts)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                found.setdefault(shape_key(node), []).append((node, f"{module}.{node.name}"))
    return found


def copied_from(def_node):
    """The helpers function the student's def is identical to (docstring aside), or None
    (also for a def nested too deeply to be compared)."""
    if def_node is None:
        return None
    try:
        theirs = normalized(def_node)
    except (RecursionError, MemoryError):
        return None
    for node, name in helpers_functions().get(shape_key(def_node), []):
        if normalized(node) == theirs:
            return name
    return None


# ----------------------------------------------------------------------------- one test cell
def captured(fn, *args):
    """(fn(*args), what it printed); its warnings are printed as notes by the checkers."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = fn(*args)
    return value, out.getvalue().strip()


def run_check(session, test, source):
    """(passed, message) of one test cell's check, on the student's code in the child."""
    import helpers.checks as checks

    def_node = submission.function_def(source, test.name) if test.name else None
    if test.checker == "check_prediction":
        reply = session.request("value", name=test.name)
        if "missing" in reply:
            return False, str(reply["missing"])
        answer = reply.get("result")
        if isinstance(answer, Opaque):
            return False, f"{test.name} is a {answer.type_name}, not an answer."
        return captured(checks.check_prediction, test.question, answer)
    if test.checker not in checks.__all__:
        return False, f"the test cell calls no checker of helpers.checks ({test.checker})"
    reply = session.request("value", name=test.name)
    if "missing" in reply:
        return False, str(reply["missing"])
    forbidden = REFERENCES.get(test.checker)
    if test.checker == "check_keras_port":
        return check_port(session, test, def_node, source, forbidden)
    fn = RemoteFunction(session, test.name, def_node, source, forbidden)
    return captured(getattr(checks, test.checker), fn)


def check_port(session, test, def_node, source, forbidden):
    """07's Keras port: the model is built and called in the child; the checker runs here on a
    stand-in rebuilt from plain data (helpers.grading.keras_facts)."""
    from helpers.checks import keras_port
    from helpers.checks.runner import run_cases
    from helpers.grading import keras_facts, wire
    from helpers.grading.remote import warn_again

    proxy = RemoteFunction(session, test.name, def_node, source, forbidden)

    def built_on(case):
        def build(net, params, state):
            reply = session.request("keras_port", name=test.name, args=(net, params, state),
                                    X=case.context["X"], forbidden=forbidden)
            warn_again(reply.get("warnings") or [])
            if "exception" in reply:
                raise wire.rebuild_exception(*reply["exception"])
            return keras_facts.fake_model(reply.get("result") or {})

        return build

    def check(fn, case):
        return keras_port.check_port_case(built_on(case), case, keras_facts.FAKE_KERAS)

    def run():
        passed = run_cases(proxy, keras_port.port_cases(), check)
        if passed:
            print("Your model's logits match helpers.network in inference and training mode, "
                  "and its moving statistics follow our running averages.")
        return passed

    return captured(run)


def findings_flags(findings, at_top_level=False):
    """(flags, zero: whether they cost the points) from the child's findings."""
    flags, zero = [], False
    for kind, text in dict.fromkeys(findings):
        if kind == "reference":
            where = " at the top level of its cell" if at_top_level else ""
            flags.append(f"calls {text} (the course's reference){where}")
            zero = zero or not at_top_level
        else:
            flags.append(f"tried to {text} (refused)")
            zero = True
    return flags, zero


def grade_test(session, exercise, test, source):
    """The ExerciseResult of one test cell (never raises for the student's doing)."""
    def result(points, passed, message, flags=()):
        return ExerciseResult(test.grade_id, exercise.grade_id, points, test.points, passed,
                              message, list(flags))

    flags = []
    copied = copied_from(submission.function_def(source, test.name or ""))
    if copied:
        flags.append(f"copied from helpers (same code as {copied})")
    load_flags, load_zero = findings_flags(session.load_findings.get(exercise.grade_id, []),
                                           at_top_level=True)
    flags += load_flags
    session.begin()
    try:
        passed, message = run_check(session, test, source)
    except ChildFailure as failure:
        try:
            session.restart()  # a fresh child for the exercises after this one
        except ChildFailure as later:  # they are not graded (see verify_submission)
            session.failure = later
        reason = failure.reason
        return result(0.0, False, f"Not graded: {reason}.", flags + [reason])
    except Exception as error:  # the checker broke on what the child sent (e.g. deep nesting)
        reason = f"the grader could not check it ({type(error).__name__}: {str(error)[:200]})"
        return result(0.0, False, f"Not graded: {reason}.", flags + [reason])
    call_flags, call_zero = findings_flags(session.findings)
    flags += call_flags
    if call_zero or load_zero:
        why = "; ".join(f for f in load_flags + call_flags)
        return result(0.0, False, f"0 points: your code {why}.\n{message}".strip(), flags)
    errors = session.load_errors.get(exercise.grade_id) or []
    if errors and not passed:
        message += "\nErrors while running the solution cell: " + "; ".join(errors[:3])
    return result(test.points if passed else 0.0, bool(passed), message, flags)


def zero_all(exercises, reason, only=None):
    """{test grade_id: ExerciseResult with 0 points and reason} (of `only` exercise ids)."""
    return {test.grade_id: ExerciseResult(test.grade_id, e.grade_id, 0.0, test.points, False,
                                          reason, [])
            for e in exercises for test in e.tests if only is None or e.grade_id in only}


# ----------------------------------------------------------------------------- the submission
def references_of(exercises):
    """[(module, function)]: the references forbidden in any of these exercises' checks."""
    return list(dict.fromkeys(ref for e in exercises for test in e.tests
                              for ref in REFERENCES.get(test.checker, ())))


def parse_error(text):
    """Why a solution cell's source cannot be graded as Python, or None."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError) as error:
        return f"does not parse ({error})"
    except (RecursionError, MemoryError):
        return "does not parse (it is nested too deeply)"
    return None


def verify_submission(notebook_path, source_notebook_path, secret, timeout=30.0,
                      memory_mb=3072, private_dirs=None, budget=None):
    """Verify every auto-graded test cell of a submitted notebook (see the module docstring).

    notebook_path: the submitted .ipynb; source_notebook_path: the course's solution notebook
    it was released from (its exercises, test cells and points); secret: a non-empty str, the
    seed of the secret cases; timeout: seconds of wall time per exercise; memory_mb: the
    child's address space; private_dirs: folders the child must not read (with bubblewrap;
    default: the folder of the submitted notebook; give the course folder to hide every
    student's work); budget: seconds of wall time for all its solution cells and exercises
    (default 4 x timeout; the course's imports not counted), after which the remaining
    exercises score 0.
    Returns a SubmissionResult; bad input in the submission gives
    problems and 0 points with reasons, never an exception (a missing or broken SOURCE notebook
    is the instructor's error: helpers.grading.submission.NotebookError).
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("verify_submission needs secret=, a non-empty str (e.g. the "
                         "environment variable COURSE_GRADING_SECRET): the checkers' cases are "
                         "drawn from it, so that outputs copied from the public cases fail.")
    started = time.monotonic()
    if private_dirs is None:
        private_dirs = [Path(notebook_path).resolve().parent]
    source_nb = submission.read_notebook(source_notebook_path)
    exercises = submission.exercises(source_nb)
    result = SubmissionResult(str(notebook_path), sandbox=sandbox_in_use()[1])

    def done():
        result.seconds = time.monotonic() - started
        return result

    try:
        notebook = submission.read_notebook(notebook_path)
    except submission.NotebookError as error:
        result.problems.append(str(error))
        result.exercises = zero_all(exercises, f"Not graded: {error}")
        return done()
    sources = submission.solution_sources(notebook, [e.grade_id for e in exercises])
    if exercises and all(text is None for text in sources.values()):
        result.problems.append("the notebook has no solution cells of this assignment (cell "
                               "ids " + ", ".join(sources) + ")")
    runnable, broken = {}, {}
    for grade_id, text in sources.items():
        if text is None:
            broken[grade_id] = (f"Not graded: the solution cell {grade_id!r} is missing from "
                                f"the submission (deleted, or its cell id changed).")
            continue
        error = parse_error(text)
        if error:
            broken[grade_id] = f"Not graded: the solution cell {error}."
            continue
        runnable[grade_id] = text
    for grade_id, reason in broken.items():
        result.exercises.update(zero_all(exercises, reason, only={grade_id}))
    if not runnable:
        return done()
    graded = [e for e in exercises if e.grade_id in runnable]
    try:
        session = Session(submission.prelude(source_nb, runnable.values()),
                          list(runnable.items()), timeout=timeout, memory_mb=memory_mb,
                          private_dirs=private_dirs, references=references_of(graded),
                          budget=4 * float(timeout) if budget is None else float(budget))
    except ChildFailure as failure:
        result.problems.append(f"the course's imports could not run: {failure.reason}")
        result.exercises.update(zero_all(graded, f"Not graded: {failure.reason}."))
        return done()
    try:
        with secret_cases(secret):
            for exercise in graded:
                for test in exercise.tests:
                    skipped = session.skipped.get(exercise.grade_id)
                    if skipped:
                        result.exercises[test.grade_id] = ExerciseResult(
                            test.grade_id, exercise.grade_id, 0.0, test.points, False,
                            f"Not graded: {skipped}.", [skipped])
                        continue
                    try:
                        if session.failure is not None:  # no fresh child could start
                            raise session.failure
                        if time.monotonic() >= session.budget_end:
                            raise ChildFailure(BUDGET_EXHAUSTED, "timed out")
                        result.exercises[test.grade_id] = grade_test(
                            session, exercise, test, runnable[exercise.grade_id])
                    except Exception as error:  # the grader's own failure: not the student's
                        reason = (f"the grader failed ({type(error).__name__}: "
                                  f"{str(error)[:200]})")
                        result.exercises[test.grade_id] = ExerciseResult(
                            test.grade_id, exercise.grade_id, 0.0, test.points, False,
                            f"Not graded: {reason}.", [reason])
                        session.failure = ChildFailure(reason)
                    except ChildFailure as failure:  # no fresh child could start
                        result.problems.append(f"grading stopped: {failure.reason}")
                        result.exercises.update({
                            t.grade_id: ExerciseResult(t.grade_id, e.grade_id, 0.0, t.points,
                                                       False, f"Not graded: {failure.reason}.",
                                                       [failure.reason])
                            for e in graded for t in e.tests
                            if t.grade_id not in result.exercises})
                        return done()
    finally:
        session.close()
    order = [test.grade_id for e in exercises for test in e.tests]
    result.exercises = {g: result.exercises[g] for g in order if g in result.exercises}
    return done()
