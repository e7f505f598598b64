"""The classroom round trip with nbgrader's CLI, for real (see README, "For instructors").

1. every exercise carries the right nbgrader metadata (no nbgrader needed, fast);
2. `make assignments`' build (assignments/build.py) releases every notebook with no solution
   code, hidden test or output left;
3. autograded: the untouched release gets 0 points on every exercise, the committed solution
   notebooks full points, and each wrong submission of WRONG loses exactly its exercise's points
   while the grading finishes and every other exercise of the notebook keeps its points;
4. verified (`make grade` on the same course folder, after autograde): the same, for every row
   of WRONG, cheats included; the cheats that fool the in-kernel grading (`tampers`) are named
   in the report's list of submissions whose in-kernel score is higher than the verified one,
   and no other submission is.

Notebooks and exercises are discovered (tests/assignment_support.py), so new ones are covered
without editing this file. Scores are read from nbgrader's gradebook.
"""

import re
import secrets
import textwrap

import pytest
from assignment_support import (
    MARKERS,
    SOLUTION,
    UNTOUCHED,
    Wrong,
    between,
    discover,
    grade_all,
    named,
    nbgrader_meta,
    read,
    release,
    report_section,
    require_nbgrader,
    scores,
    source,
    verify,
    without_markers,
    wrong_code,
)

require_nbgrader("the assignment round trip cannot run")

COURSE = discover()
GRADED = [name for name in COURSE.notebooks if COURSE.autograded[name] or COURSE.manual[name]]

# ----------------------------------------------------------------------------- wrong submissions
# Full-cell rewrites for exercises whose committed wording we do not want to depend on.
_BACKWARD = textwrap.dedent('''\
    def batchnorm_backward(dz_tilde, cache):
        z_norm, gamma, inv_std, m = cache["z_norm"], cache["gamma"], cache["inv_std"], cache["m"]
        dbeta = dz_tilde.sum(axis=0)
        dgamma = (dz_tilde * z_norm).sum(axis=0)
        dz_norm = gamma * dz_tilde
        dz = inv_std / m * (m * dz_norm{mean}{variance})
        return dz, dgamma, dbeta
    ''')
_MEAN_PATH = " - dz_norm.sum(axis=0)"
_VARIANCE_PATH = " - z_norm * (dz_norm * z_norm).sum(axis=0)"
_INFERENCE_WITH_BATCH_STATS = textwrap.dedent('''\
    def batchnorm_inference(z, gamma, beta, running_mean, running_var, eps=1e-5):
        mu, var = z.mean(axis=0), z.var(axis=0)   # the batch's own statistics: the bug
        return gamma * (z - mu) / np.sqrt(var + eps) + beta
    ''')
_POPULATION = textwrap.dedent('''\
    def population_statistics(batch_means, batch_vars, m):
        return batch_means.mean(axis=0), {bessel}batch_vars.mean(axis=0)
    ''')
_BESSEL = "m / (m - 1) * "
_REESTIMATE = textwrap.dedent('''\
    def reestimate_bn_stats(net, params, state, X):
        _, _, cache = net.forward(params, state, X, training=True)
        new_state = dict(state)
        for l in net.hidden{layers}:
            bn = cache["layers"][l - 1]["norm"]
            new_state[f"running_mean{{l}}"] = bn["mu"].astype(state[f"running_mean{{l}}"].dtype)
            new_state[f"running_var{{l}}"] = bn["var"].astype(state[f"running_var{{l}}"].dtype)
        return new_state
    ''')
_LAYER_NORM_BACKWARD = textwrap.dedent('''\
    def layer_norm_backward(dz_tilde, z, gamma, eps=1e-5):
        mu = z.mean(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(z.var(axis=1, keepdims=True) + eps)
        z_norm = (z - mu) * inv_std
        dz_norm = gamma * dz_tilde
        k = z.shape[{axis}]
        dz = inv_std / k * (k * dz_norm - dz_norm.sum(axis={axis}, keepdims=True)
                            - z_norm * (dz_norm * z_norm).sum(axis={axis}, keepdims=True))
        return dz, (dz_tilde * z_norm).sum(axis=0), dz_tilde.sum(axis=0)
    ''')


def _pasted_outputs():
    """normalize_inputs as a table of the reference's outputs on the public checker's cases
    (fixed seeds in helpers/checks), keyed by the inputs' bytes: passes in the kernel, fails
    on any other case."""
    import contextlib
    import hashlib
    import io

    from helpers.checks import check_normalize_inputs
    from helpers.data import normalize_inputs as reference

    def key(X_train, X_test):
        arrays = [X_train] + ([] if X_test is None else [X_test])
        return hashlib.sha256(repr([a.shape for a in arrays]).encode()
                              + b"".join(a.tobytes() for a in arrays)).hexdigest()

    table = {}

    def recording(X_train, X_test=None, eps=1e-8):
        out = reference(X_train, X_test, eps)
        table[key(X_train, X_test)] = [None if o is None else o.tolist() for o in out]
        return out

    with contextlib.redirect_stdout(io.StringIO()):
        assert check_normalize_inputs(recording)
    return ("import hashlib\n\nimport numpy as np\n\n"
            f"PASTED = {table!r}\n\n\n"
            "def normalize_inputs(X_train, X_test=None, eps=1e-8):\n"
            "    arrays = [X_train] + ([] if X_test is None else [X_test])\n"
            "    key = hashlib.sha256(repr([a.shape for a in arrays]).encode()\n"
            "                         + b''.join(a.tobytes() for a in arrays)).hexdigest()\n"
            "    return tuple(None if o is None else np.array(o) for o in PASTED[key])\n")


_STUB = "def normalize_inputs(X_train, X_test=None, eps=1e-8):\n    return None\n"
_LOOP = ("import time\n    while True:  # waits for a convergence that never comes\n"
         "        time.sleep(0.05)\n    mu = z.mean(axis=0)")

# One row per wrong submission: the exercise (grade_id of its solution cell), what is wrong,
# and the edit of the committed solution that makes it wrong (text -> replacement, or
# None -> a whole new cell). A row whose exercise is not in the notebooks yet is skipped.
WRONG = [
    Wrong("normalize_inputs", "unbiased variance (ddof=1)",
          "X_train.var(axis=0)", "X_train.var(axis=0, ddof=1)"),
    Wrong("batch_norm", "gamma and beta swapped",
          "gamma * z_norm + beta", "beta * z_norm + gamma"),
    Wrong("batch_norm", "eps outside the square root",
          "np.sqrt(var + eps)", "(np.sqrt(var) + eps)"),
    Wrong("identity_gamma_beta", "wrong axis (statistics per example)", "axis=0", "axis=1"),
    Wrong("identity_gamma_beta", "wrong shape (keepdims=True)",
          "mu = z.mean(axis=0)", "mu = z.mean(axis=0, keepdims=True)"),
    Wrong("identity_gamma_beta", "NaN output (mean of an empty slice)",
          "mu = z.mean(axis=0)", "mu = z[len(z):].mean(axis=0)"),
    Wrong("identity_gamma_beta", "infinite loop (cut by the execution timeout)",
          "mu = z.mean(axis=0)", _LOOP, timeout=15),
    Wrong("numerical_gradient", "exception (IndexError, off by one)",
          "range(b.size)", "range(b.size + 1)"),
    Wrong("batchnorm_backward", "backward skips the mean branch",
          None, _BACKWARD.format(mean="", variance=_VARIANCE_PATH)),
    Wrong("batchnorm_backward", "backward skips the variance branch",
          None, _BACKWARD.format(mean=_MEAN_PATH, variance="")),
    Wrong("batchnorm_inference", "inference with the batch's statistics",
          None, _INFERENCE_WITH_BATCH_STATS),
    Wrong("interpret_sweep", "widths in natural log, not decades",
          "np.log10(good.max()) - np.log10(good.min())", "np.log(good.max()) - np.log(good.min())"),
    Wrong("interpret_sweep", "no width for an empty selection (max of an empty array)",
          "    if len(good) == 0:\n        return 0.0\n", ""),
    Wrong("population_statistics", "no Bessel factor (biased population variance)",
          None, _POPULATION.format(bessel="")),
    Wrong("reestimate_bn_stats", "only the first BN layer re-estimated",
          None, _REESTIMATE.format(layers="[:1]")),
    Wrong("layer_norm_backward", "sums over the batch (axis 0), batch-norm style",
          None, _LAYER_NORM_BACKWARD.format(axis=0)),
    # Predict-then-run questions: a wrong answer in place of the right one.
    Wrong("predict_almost_dead_unit_without_eps", "prediction: about 1 instead of much larger",
          '= "much larger than 1"', '= "about 1"'),
    Wrong("predict_noise_spread_16_to_64", "prediction: factor 0.25 (1/m, not 1/sqrt(m))",
          "spread_factor = 0.5", "spread_factor = 0.25"),
    # Cheats that the in-kernel checkers catch too.
    Wrong("normalize_inputs", "cheat: imports the reference from helpers",
          None, "from helpers.data import normalize_inputs\n"),
    Wrong("interpret_sweep", "cheat: empties lr_sweep and width instead of writing the function",
          None, "lr_sweep = {}\nwidth = {}\n"),
    # Cheats that fool the in-kernel grading (nbgrader autograde gives them the points): only
    # the verified grading (`make grade`) scores them 0, and its report names them.
    Wrong("identity_gamma_beta", "cheat: monkeypatches the checker",
          None, "def identity_gamma_beta(z, eps=1e-5):\n    return None\n\n\n"
                "import helpers.checks\nhelpers.checks.check_identity_gamma_beta = lambda fn: True\n",
          tampers="the test cell runs the checker in the student's kernel, which can replace it"),
    Wrong("numerical_gradient", "cheat: patches numpy.allclose",
          None, "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n\n\n"
                "def numerical_gradient(f, b, h=1e-5):\n    return numpy.zeros_like(b)\n",
          tampers="the checker compares with np.allclose, which the kernel can replace"),
    Wrong("normalize_inputs", "cheat: replaces helpers.checks.runner.run_cases",
          None, "import helpers.checks.runner\n"
                "helpers.checks.runner.run_cases = lambda *args, **kwargs: True\n\n\n" + _STUB,
          tampers="the checker's loop is looked up in the kernel's modules"),
    Wrong("normalize_inputs", "cheat: a fake helpers.checks in sys.modules",
          None, "import sys\nimport types\n\nfake = types.ModuleType('helpers.checks')\n"
                "fake.check_normalize_inputs = lambda fn: True\n"
                "sys.modules['helpers.checks'] = fake\n\n\n" + _STUB,
          tampers="the test cell imports the checker from the kernel's sys.modules"),
    Wrong("normalize_inputs", "cheat: an input transformer blanks the test cells",
          None, _STUB + "\n\ndef _skip_checks(lines):\n"
                "    return ['pass\\n'] if any('check_' in line for line in lines) else lines\n\n\n"
                "get_ipython().input_transformers_cleanup.append(_skip_checks)\n",
          tampers="IPython rewrites the test cell before the kernel runs it"),
    Wrong("normalize_inputs", "cheat: wraps the reference from helpers",
          None, "from helpers.data import normalize_inputs as reference\n\n\n"
                "def normalize_inputs(X_train, X_test=None, eps=1e-8):\n"
                "    return reference(X_train, X_test, eps)\n",
          tampers="a wrapper's __module__ is the notebook's, not helpers'"),
    Wrong("normalize_inputs", "cheat: functools.partial of the reference",
          None, "import functools\n\nimport helpers.data\n\n"
                "normalize_inputs = functools.partial(helpers.data.normalize_inputs)\n",
          tampers="a partial's __module__ is functools'"),
    Wrong("normalize_inputs", "cheat: pastes the outputs of the public cases",
          None, _pasted_outputs(),
          tampers="the in-notebook checker's cases use public seeds"),
    Wrong("normalize_inputs", "cheat: relabels the reference's __module__",
          None, "from helpers.data import normalize_inputs\n\n"
                "normalize_inputs.__module__ = '__main__'\n",
          tampers="the in-kernel check trusts __module__"),
]


def _has_any(text, markers):
    return any(marker in text for marker in markers)


def _exercise_notebook(exercise):
    return next((name for name, grade_id in COURSE.exercises if grade_id == exercise), None)


ACTIVE = [w for w in WRONG if _exercise_notebook(w.exercise)]


def _wrong_param(wrong):
    if wrong not in ACTIVE:
        marks = pytest.mark.skip(reason=f"exercise {wrong.exercise!r} is not in the notebooks yet")
    else:
        marks = ()
    return pytest.param(wrong, id=wrong.student, marks=marks)


# ----------------------------------------------------------------------------- 1. metadata
@pytest.mark.parametrize("name", list(COURSE.notebooks))
def test_exercise_cells_carry_nbgrader_metadata(name):
    cells = read(COURSE.notebooks[name])["cells"]
    ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {name}: {sorted(ids)}"
    for cell in cells:
        meta, text = nbgrader_meta(cell), source(cell)
        where = f"{name}, cell {meta.get('grade_id') or cell.get('id')}"
        if _has_any(text, MARKERS[:2]):
            assert meta.get("solution"), f"{where}: solution markers without nbgrader solution"
        if _has_any(text, MARKERS[2:]):
            assert meta.get("grade") and not meta.get("solution"), (
                f"{where}: hidden tests outside an autograder test cell")
        if not meta:
            continue
        assert meta.get("schema_version") == 3, f"{where}: schema_version must be 3"
        if meta.get("solution") and cell["cell_type"] == "code":
            assert MARKERS[0] in text and MARKERS[1] in text, (
                f"{where}: a code solution cell needs ### BEGIN/END SOLUTION (without them "
                f"nbgrader replaces the whole cell, def line included)")
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{where}: a graded cell needs points"
        if meta.get("grade") and not meta.get("solution"):
            assert cell["cell_type"] == "code" and meta.get("locked"), (
                f"{where}: an autograder test must be a locked code cell")
    for (notebook, exercise), found in COURSE.exercises.items():
        if notebook == name:
            assert found.tests, f"{name}: exercise {exercise!r} has no autograder test below it"


def test_grade_ids_of_exercises_are_unique_across_the_course():
    exercises = [grade_id for _, grade_id in COURSE.exercises]
    assert len(exercises) == len(set(exercises)), sorted(exercises)


def test_wrong_submissions_have_distinct_student_ids():
    ids = [wrong.student for wrong in WRONG]
    assert len(ids) == len(set(ids)), sorted(ids)


@pytest.mark.parametrize("wrong", WRONG, ids=[w.student for w in WRONG])
def test_wrong_submission_rows_apply(wrong):
    """Cheap guard: the edit of each row still applies to the committed solution."""
    name = _exercise_notebook(wrong.exercise)
    if name is None:
        pytest.skip(f"exercise {wrong.exercise!r} is not in the notebooks yet")
    solved = next(source(c) for c in read(COURSE.notebooks[name])["cells"]
                  if nbgrader_meta(c).get("grade_id") == wrong.exercise)
    code = wrong_code(wrong, solved)
    assert not _has_any(code, MARKERS) and code.strip() != solved.strip()
    compile(code, wrong.student, "exec")


def test_backward_rewrite_is_right_with_both_branches():
    """The two backward rows differ from a correct backward pass by one branch only."""
    from helpers.checks import check_batchnorm_backward

    namespace = {}
    exec(_BACKWARD.format(mean=_MEAN_PATH, variance=_VARIANCE_PATH), namespace)
    assert check_batchnorm_backward(namespace["batchnorm_backward"])


@pytest.mark.parametrize("checker, template, right", [
    ("check_population_statistics", _POPULATION, {"bessel": _BESSEL}),
    ("check_reestimate_bn_stats", _REESTIMATE, {"layers": ""}),
    ("check_layer_norm_backward", _LAYER_NORM_BACKWARD, {"axis": 1}),
])
def test_rewrites_are_right_but_for_their_mistake(checker, template, right):
    """Each full-cell rewrite of WRONG, with its mistake undone, passes its checker."""
    import numpy as np

    import helpers.checks

    check = getattr(helpers.checks, checker, None)
    if check is None:
        pytest.skip(f"{checker} is not in helpers.checks yet")
    namespace = {"np": np}
    exec(template.format(**right), namespace)
    name = re.search(r"def (\w+)", template).group(1)
    assert check(namespace[name])


@pytest.mark.parametrize("wrong", [w for w in WRONG if w.exercise.startswith("predict_")],
                         ids=lambda w: w.student)
def test_wrong_predictions_are_wrong_answers_not_typos(wrong):
    """A wrong prediction row answers with an accepted form (a listed choice, or a number for a
    number question) that is wrong, so it tests the grading of a wrong answer."""
    from helpers.checks import check_prediction
    from helpers.checks.predictions import PREDICTIONS

    name = _exercise_notebook(wrong.exercise)
    if name is None:
        pytest.skip(f"question {wrong.exercise!r} is not in the notebooks yet")
    cells = read(COURSE.notebooks[name])["cells"]
    test = next(source(c) for c in cells
                if nbgrader_meta(c).get("grade_id") in COURSE.exercises[name, wrong.exercise].tests)
    question_id, variable = re.search(r"check_prediction\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)", test).groups()
    solved = next(source(c) for c in cells if nbgrader_meta(c).get("grade_id") == wrong.exercise)
    right, answer = {}, {}
    exec(without_markers(solved), right)
    exec(wrong_code(wrong, solved), answer)
    question = PREDICTIONS[question_id]
    if "choices" in question:
        assert answer[variable] in question["choices"], answer[variable]
    else:
        assert isinstance(answer[variable], (int, float)), answer[variable]
    assert check_prediction(question_id, right[variable])
    assert not check_prediction(question_id, answer[variable])


# ----------------------------------------------------------------------------- 2. release
@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("nbgrader-course")


@pytest.fixture(scope="module")
def released(course_dir):
    return release(course_dir)


@pytest.mark.parametrize("name", list(COURSE.notebooks))
def test_release_has_no_solution_code(name, released):
    solution_cells = {nbgrader_meta(c)["grade_id"]: source(c)
                      for c in read(COURSE.notebooks[name])["cells"] if nbgrader_meta(c)}
    cells = read(released[name])["cells"]
    for cell in cells:
        text, meta = source(cell), nbgrader_meta(cell)
        where = f"{name}, cell {meta.get('grade_id') or cell.get('id')}"
        assert not _has_any(text, MARKERS), f"{where}: a marker is left in the release"
        assert not cell.get("outputs"), f"{where}: outputs are left in the release"
        if not meta:
            continue
        original = solution_cells[meta["grade_id"]]
        if meta.get("solution"):
            left = {line.strip() for line in text.splitlines()}
            leaked = [line for line in between(original, *MARKERS[:2]) if line in left]
            assert not leaked, f"{where}: solution lines left in the release: {leaked}"
            if cell["cell_type"] == "code":
                assert "raise NotImplementedError()" in text, f"{where}: no stub"
        hidden = between(original, *MARKERS[2:])
        assert not any(line in text for line in hidden), f"{where}: hidden tests left"
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked"), f"{where}: the test cell is not locked in the release"
    kept = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert kept == list(solution_cells), f"{name}: exercise or test cells lost in the release"


# ----------------------------------------------------------------------------- 3. autograde
@pytest.fixture(scope="module")
def graded(course_dir, released):
    result = grade_all(course_dir, COURSE, released, ACTIVE)
    print("\nseconds per nbgrader autograde call:",
          {f"{a}/{s}": round(t) for (a, s), t in result["seconds"].items()})
    return result


def _points(graded, name, student):
    key = (name, student)
    assert key in graded["grades"], (
        f"{student}'s submission of {name} was not graded; nbgrader's log:\n"
        + "\n".join(log for (a, _), log in graded["logs"].items() if a == name)[-5000:])
    return graded["grades"][key]


@pytest.mark.parametrize("name", GRADED)
def test_untouched_release_scores_zero(name, graded):
    points = _points(graded, name, UNTOUCHED)
    assert set(points) == set(COURSE.autograded[name]) | set(COURSE.manual[name])
    assert {g: score for g, (score, _, _) in points.items()} == dict.fromkeys(points, 0), points


@pytest.mark.parametrize("name", GRADED)
def test_solutions_score_full_points(name, graded):
    points = _points(graded, name, SOLUTION)
    for grade_id, full in COURSE.autograded[name].items():
        assert points[grade_id][:2] == (full, full), f"{grade_id}: {points[grade_id]}"
    for grade_id in COURSE.manual[name]:  # written answers: autograde leaves them to a person
        assert points[grade_id][2], f"{grade_id} should wait for manual grading: {points}"


def _expected(name, wrong):
    """{test grade_id: points} of a submission with one wrong exercise (all others right)."""
    lost = set(COURSE.exercises[name, wrong.exercise].tests)
    return {g: 0 if g in lost else full for g, full in COURSE.autograded[name].items()}


@pytest.mark.parametrize("wrong", [_wrong_param(w) for w in WRONG if not w.tampers])
def test_wrong_submission_loses_exactly_its_points(wrong, graded):
    name = _exercise_notebook(wrong.exercise)
    points = _points(graded, name, wrong.student)
    got = {g: score for g, (score, _, _) in points.items() if g in COURSE.autograded[name]}
    print(f"{wrong.student}: {got} (full: {COURSE.autograded[name]})")
    assert got == _expected(name, wrong)


@pytest.mark.parametrize("wrong", [_wrong_param(w) for w in WRONG if w.tampers])
def test_tampering_fools_the_in_kernel_grading(wrong, graded):
    """Each `tampers` row really fools nbgrader autograde (else it tests nothing below)."""
    name = _exercise_notebook(wrong.exercise)
    points = _points(graded, name, wrong.student)
    got = {g: points[g][0] for g in COURSE.exercises[name, wrong.exercise].tests}
    assert got == {g: COURSE.autograded[name][g] for g in got}, wrong.tampers


# ----------------------------------------------------------------------------- 4. verified
@pytest.fixture(scope="module")
def verified(course_dir, graded):
    """`make grade` on the autograded course folder, with a fresh secret; its scores and report."""
    run = verify(course_dir, secrets.token_hex(16))
    assert run.returncode == 0, f"make grade failed:\n{run.stdout}\n{run.stderr[-5000:]}"
    print(run.stdout)
    grades = {}
    for name in GRADED:
        students = [s for a, s in graded["students"] if a == name]
        got = scores(course_dir / "gradebook.db", name, students)
        grades.update({(name, student): g for student, g in got.items()})
    report = (course_dir / "grading_report.txt").read_text(encoding="utf-8")
    logs = {(name, "make grade"): run.stdout + run.stderr for name in GRADED}
    return {"grades": grades, "students": graded["students"], "report": report, "logs": logs,
            "stderr": run.stderr}


@pytest.mark.parametrize("name", GRADED)
def test_verified_untouched_release_scores_zero(name, verified):
    points = _points(verified, name, UNTOUCHED)
    got = {g: points[g][0] for g in COURSE.autograded[name]}
    assert got == dict.fromkeys(got, 0), points


@pytest.mark.parametrize("name", GRADED)
def test_verified_solutions_score_full_points(name, verified):
    points = _points(verified, name, SOLUTION)
    for grade_id, full in COURSE.autograded[name].items():
        assert points[grade_id][:2] == (full, full), f"{grade_id}: {points[grade_id]}"


@pytest.mark.parametrize("wrong", [_wrong_param(w) for w in WRONG])
def test_verified_wrong_submission_loses_exactly_its_points(wrong, verified):
    """Every row, cheats included: the verified grading takes exactly the exercise's points."""
    name = _exercise_notebook(wrong.exercise)
    points = _points(verified, name, wrong.student)
    got = {g: score for g, (score, _, _) in points.items() if g in COURSE.autograded[name]}
    print(f"{wrong.student}: {got} (full: {COURSE.autograded[name]})")
    assert got == _expected(name, wrong)


def test_report_names_exactly_the_tampering_submissions(verified):
    """The report's "in-kernel score higher" list holds the `tampers` rows and nothing else:
    the in-kernel and verified gradings agree on every honest submission."""
    section = report_section(verified["report"], "In-kernel score HIGHER")
    for name, student in sorted(verified["students"]):
        wrong = next((w for w in ACTIVE if w.student == student), None)
        expected = wrong is not None and wrong.tampers is not None
        assert named(section, student, name) == expected, (
            f"{student} / {name} {'missing from' if expected else 'in'} the list:\n"
            + "\n".join(section))
    assert not report_section(verified["report"], "In-kernel score lower"), verified["report"]
    assert not report_section(verified["report"], "Could not grade"), verified["report"]


def test_make_grade_log_is_quiet(verified):
    """Every notebook, TensorFlow's included: nothing on stderr (SQLAlchemy, alembic, nbgrader,
    TensorFlow stay quiet; the progress bar is off)."""
    assert verified["stderr"].strip() == "", verified["stderr"][-3000:]
