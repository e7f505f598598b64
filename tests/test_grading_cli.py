"""`make grade` (helpers/grading/cli.py, gradebook.py) on a small nbgrader course, for real.

A course of two assignments (notebooks 01 and 03) is released once with assignments/build.py;
each test works on its own copy of it, hands in submissions and runs `python -m helpers.grading`
(what `make grade` runs) in a subprocess, then reads nbgrader's gradebook, the CSV, the report
and the files. Submissions (student ids):

    solution    the committed notebooks, outputs included (in-kernel: full points)
    untouched   the release as handed out (0 points, never run)
    cheater     01 solved; 03 with identity_gamma_beta returning None and the checker replaced in
                the kernel, the test cell's passing output kept (in-kernel full, verified 0)
    broken      01 is not a notebook; 03 solved
    deleter     01: the solution cell first tries to delete the course's files, then solves it

The round trip with every exercise, `nbgrader autograde` first, is in tests/test_assignments.py.
"""

import csv
import json
import os
import secrets
import shutil
import subprocess

import pytest
from assignment_support import (
    ROOT,
    autograde,
    build,
    hand_in,
    named,
    nbgrader_meta,
    read,
    report_section,
    require_nbgrader,
    scores,
    source,
    verify,
    without_markers,
)

require_nbgrader("`make grade` cannot be tested")

from helpers.grading import gradebook as nbg  # noqa: E402 - after the skip: it needs nbgrader

A01, A03 = "01_input_normalization", "03_gamma_beta_identity"
NOTEBOOKS = {name: ROOT / "notebooks" / f"{name}.ipynb" for name in (A01, A03)}
CHEAT = ("def identity_gamma_beta(z, eps=1e-5):\n    return None\n\n\n"
         "import helpers.checks\nhelpers.checks.check_identity_gamma_beta = lambda fn: True\n")


# ----------------------------------------------------------------------------- the course
@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course folder with 01 and 03 released by assignments/build.py (built once)."""
    notebooks = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS.values():
        shutil.copyfile(path, notebooks / path.name)
    course = tmp_path_factory.mktemp("released") / "course"
    build.build(course, notebooks, capture_output=True, text=True)
    return course


def copy_course(released, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(released, course)
    return course


def edited(name, grade_id, code):
    """The committed notebook `name`, outputs kept, with the solution cell `grade_id` replaced."""
    nb = read(NOTEBOOKS[name])
    cell = next(c for c in nb["cells"] if nbgrader_meta(c).get("grade_id") == grade_id)
    cell["source"] = code
    return nb


def deleting_cell(course):
    """01's solution cell, after statements that try to delete the course's files."""
    solved = next(source(c) for c in read(NOTEBOOKS[A01])["cells"]
                  if nbgrader_meta(c).get("grade_id") == "normalize_inputs")
    targets = [str(course / "gradebook.db"), str(course / "source"), str(course / "submitted")]
    return ("import os\nimport shutil\n\n"
            f"for target in {targets!r}:\n"
            "    shutil.rmtree(target, ignore_errors=True)\n"
            f"os.remove({targets[0]!r})\n"
            "shutil.rmtree(os.getcwd(), ignore_errors=True)\n\n\n" + without_markers(solved))


def hand_in_all(course, which=("solution", "untouched", "cheater", "broken", "deleter")):
    """Hand in the module's submissions (see the docstring); returns {(assignment, student)}."""
    handed = set()

    def give(student, name, nb):
        hand_in(course, student, name, nb)
        # as `nbgrader collect` leaves a submission: release_feedback needs both files
        folder = course / "submitted" / student / name
        (folder / "timestamp.txt").write_text("2026-11-30 12:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret of {student}")
        handed.add((name, student))

    for name in (A01, A03):
        if "solution" in which:
            give("solution", name, read(NOTEBOOKS[name]))
        if "untouched" in which:
            give("untouched", name, read(course / "release" / name / f"{name}.ipynb"))
    if "cheater" in which:
        give("cheater", A01, read(NOTEBOOKS[A01]))
        give("cheater", A03, edited(A03, "identity_gamma_beta", CHEAT))
    if "broken" in which:
        folder = course / "submitted" / "broken" / A01
        folder.mkdir(parents=True)
        (folder / f"{A01}.ipynb").write_text("this is not a notebook\n")
        handed.add((A01, "broken"))
        give("broken", A03, read(NOTEBOOKS[A03]))
    if "deleter" in which:
        give("deleter", A01, edited(A01, "normalize_inputs", deleting_cell(course)))
    return handed


def snapshot(course):
    """{relative path: bytes} of every file the grading must leave as it is."""
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*"))
            if p.is_file() and p.relative_to(course).parts[0] in ("source", "release", "submitted")
            or p.name == "nbgrader_config.py"}


def grades_of(course, handed):
    """{(assignment, student): {grade_id: (score, max, needs_manual)}} from the gradebook."""
    out = {}
    for name in (A01, A03):
        students = [s for a, s in handed if a == name]
        out.update({(name, s): g for s, g in scores(course / "gradebook.db", name,
                                                     students).items()})
    return out


def csv_rows(course):
    with open(course / "verified_grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def points_of(name):
    """{test grade_id: points} of a committed notebook's autograder test cells."""
    return {gid: float(c.metadata.nbgrader.points)
            for gid, c in nbg.test_cells(nbg.read_notebook(NOTEBOOKS[name])).items()}


def run_grade(course, **kwargs):
    run = verify(course, secrets.token_hex(16), **kwargs)
    assert run.returncode == 0, f"make grade failed:\n{run.stdout}\n{run.stderr[-5000:]}"
    return run


@pytest.fixture(scope="module")
def fresh(released, tmp_path_factory):
    """`make grade` on the module's submissions, without `nbgrader autograde` before it."""
    course = copy_course(released, tmp_path_factory.mktemp("fresh"))
    handed = hand_in_all(course)
    before = snapshot(course)
    run = run_grade(course)
    return {"course": course, "handed": handed, "before": before, "run": run,
            "report": (course / "grading_report.txt").read_text(encoding="utf-8")}


# ----------------------------------------------------------------------------- usage
@pytest.mark.parametrize("secret", [None, ""])
def test_refuses_to_grade_without_the_secret(secret, released, tmp_path):
    course = copy_course(released, tmp_path)
    hand_in_all(course, ("solution",))
    run = verify(course, secret)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "COURSE_GRADING_SECRET" in run.stderr
    assert not (course / "verified_grades.csv").exists()
    assert grades_of(course, {(A01, "solution"), (A03, "solution")}) == {}


def test_make_grade_runs_the_cli_with_the_course_and_assignment():
    run = subprocess.run(["make", "-n", "grade", "ASSIGNMENTS=/some/course",
                          "ASSIGNMENT=03_gamma_beta_identity"], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert ("-m helpers.grading --course-dir /some/course --assignment 03_gamma_beta_identity"
            in run.stdout), run.stdout


def test_no_submissions_is_a_clear_usage_error(released, tmp_path):
    run = verify(copy_course(released, tmp_path), "secret")
    assert run.returncode == 2 and "no submission" in run.stderr, run.stderr


# ----------------------------------------------------------------------------- pure parts
@pytest.mark.parametrize("points", [0.0, 1.0, 2.0])
def test_verdict_outputs_score_as_nbgrader_scores_them(points):
    """The autograded test cell's outputs give, under nbgrader's own rule, the verified points."""
    from nbformat.v4 import new_code_cell
    from nbgrader.utils import determine_grade

    cell = new_code_cell("assert check(f)", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "f_test", "points": 2, "locked": True}})
    cell.outputs = nbg.verdict_outputs({"points": points, "max_points": 2.0, "message":
                                        "Check 1 of 3 failed.\n  Hint: look", "flags": ["x"]})
    assert determine_grade(cell)[0] == points
    assert "Hint: look" in cell.outputs[0]["text"] and "Note: x" in cell.outputs[0]["text"]


def test_a_test_cell_never_run_shows_no_in_kernel_points():
    from nbformat.v4 import new_code_cell

    cell = new_code_cell("assert check(f)", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "f_test", "points": 2}})
    assert nbg.in_kernel_points(cell, executed_by_nbgrader=False) == 0
    assert nbg.in_kernel_points(cell, executed_by_nbgrader=True) == 2
    cell.execution_count = 3
    assert nbg.in_kernel_points(cell, executed_by_nbgrader=False) == 2


# ----------------------------------------------------------------------------- without autograde
def test_gradebook_holds_the_verified_scores(fresh):
    grades = grades_of(fresh["course"], fresh["handed"])
    assert set(grades) == fresh["handed"], "every submission is in the gradebook"
    rows = csv_rows(fresh["course"])
    for (name, student), cells in grades.items():
        verified = {r["grade_id"]: float(r["points"]) for r in rows
                    if (r["assignment"], r["student"]) == (name, student)}
        assert verified == {g: cells[g][0] for g in points_of(name)}, (name, student)
        assert not any(cells[g][2] for g in verified), "no test cell waits for a grader"
    for name in (A01, A03):
        full = points_of(name)
        assert {g: grades[name, "solution"][g][0] for g in full} == full
        assert {g: grades[name, "untouched"][g][0] for g in full} == dict.fromkeys(full, 0)


def test_csv_has_one_row_per_student_assignment_and_test_cell(fresh):
    rows = csv_rows(fresh["course"])
    expected = {(name, student, gid) for name, student in fresh["handed"]
                for gid in points_of(name)}
    assert list(rows[0]) == ["student", "assignment", "notebook", "grade_id", "exercise",
                             "points", "max_points", "in_kernel_points", "message", "flags"]
    assert sorted((r["assignment"], r["student"], r["grade_id"]) for r in rows) == sorted(expected)
    by = {(r["assignment"], r["student"], r["grade_id"]): r for r in rows}
    stub = by[A03, "untouched", "identity_gamma_beta_test"]
    assert stub["exercise"] == "identity_gamma_beta" and "NotImplementedError" in stub["message"]
    assert "\n" not in stub["message"]
    # in-kernel: the committed notebooks ran (full), the release never did (0)
    assert float(by[A03, "solution", "identity_gamma_beta_test"]["in_kernel_points"]) == 2
    assert float(stub["in_kernel_points"]) == 0


def test_report_names_the_tampering_submission_only(fresh):
    higher = report_section(fresh["report"], "In-kernel score HIGHER")
    assert named(higher, "cheater", A03), fresh["report"]
    honest = [(a, s) for a, s in fresh["handed"] if s in ("solution", "untouched", "broken")]
    assert not any(named(higher, s, a) for a, s in honest), fresh["report"]
    assert fresh["report"] in fresh["run"].stdout, "the report is printed too"


def test_log_is_quiet(fresh):
    """No SQLAlchemy, alembic, nbgrader or TensorFlow lines: stderr (no progress bar) is empty."""
    assert fresh["run"].stderr.strip() == "", fresh["run"].stderr[-3000:]


def test_broken_submission_is_reported_and_does_not_stop_the_others(fresh):
    failed = report_section(fresh["report"], "Could not grade")
    assert named(failed, "broken", A01) and "not a notebook" in " ".join(failed), failed
    grades = grades_of(fresh["course"], fresh["handed"])
    assert {g: s for g, (s, _, _) in grades[A03, "broken"].items()} == points_of(A03)
    assert {g: s for g, (s, _, _) in grades[A01, "broken"].items()} == dict.fromkeys(
        points_of(A01), 0)


def test_course_folder_is_intact_after_a_submission_that_deletes_files(fresh):
    course = fresh["course"]
    assert snapshot(course) == fresh["before"]
    assert (course / "gradebook.db").is_file()
    grades = grades_of(course, fresh["handed"])
    # graded what it could: the prediction of the same notebook keeps its point
    assert grades[A01, "deleter"]["predict_raw_vs_normalized_steps_test"][0] == 1


def test_generate_feedback_shows_the_verdict_and_hint(fresh):
    course = fresh["course"]
    build.nbgrader(["generate_feedback", A03, "--force"], course, capture_output=True, text=True)
    html = (course / "feedback" / "cheater" / A03 / f"{A03}.html").read_text(encoding="utf-8")
    row = next(r for r in csv_rows(course) if (r["student"], r["grade_id"]) == (
        "cheater", "identity_gamma_beta_test"))
    assert "Verified grading: 0 / 2 points" in html
    first_line = row["message"].split(" Hint:")[0][:40]
    assert first_line and first_line.replace('"', "&quot;") in html.replace("&#34;", "&quot;")
    solved = (course / "feedback" / "solution" / A03 / f"{A03}.html").read_text(encoding="utf-8")
    assert "Verified grading: 2 / 2 points" in solved
    # ... and nbgrader can hand the feedback back (it needs the submission's timestamp.txt,
    # which `make grade` copies next to the autograded notebook, as autograde does)
    exchange = course.parent / "exchange"
    exchange.mkdir(exist_ok=True)
    done = subprocess.run([build.sys.executable, "-m", "nbgrader", "release_feedback", A03,
                           f"--Exchange.root={exchange}"], cwd=course, env=build.nbgrader_env(),
                          capture_output=True, text=True)
    handed = sorted(s for a, s in fresh["handed"] if a == A03)
    released = list((exchange / "batchnorm-course" / "feedback").glob("*.html"))
    assert len(released) == len(handed) == 4, (handed, done.stdout + done.stderr)


# ----------------------------------------------------------------------------- after autograde
def test_after_autograde_the_verified_scores_replace_autogrades(released, tmp_path):
    course = copy_course(released, tmp_path)
    handed = hand_in_all(course, ("solution", "cheater"))
    handed = {h for h in handed if h[0] == A03}
    _, log = autograde(course, A03, course / "gradebook.db", timeout=120)
    in_kernel = grades_of(course, handed)
    assert in_kernel[A03, "cheater"]["identity_gamma_beta_test"][0] == 2, (
        "autograde is fooled by the cheat (else this test tests nothing):\n" + log[-3000:])
    executed = nbg.read_notebook(course / "autograded" / "cheater" / A03 / f"{A03}.ipynb")

    run_grade(course, assignment=A03)
    grades = grades_of(course, handed)
    assert grades[A03, "cheater"]["identity_gamma_beta_test"][0] == 0
    assert grades[A03, "solution"]["identity_gamma_beta_test"][0] == 2
    rows = {(r["student"], r["grade_id"]): r for r in csv_rows(course)}
    for (_, student), cells in in_kernel.items():
        for gid in points_of(A03):
            assert float(rows[student, gid]["in_kernel_points"]) == cells[gid][0]
    report = (course / "grading_report.txt").read_text(encoding="utf-8")
    higher = report_section(report, "In-kernel score HIGHER")
    assert named(higher, "cheater", A03) and "nbgrader autograde" in " ".join(higher), report
    assert not named(higher, "solution", A03)
    # autograde's executed notebook is kept; only the test cells show the verdict
    rewritten = nbg.read_notebook(course / "autograded" / "cheater" / A03 / f"{A03}.ipynb")
    for old, new in zip(executed.cells, rewritten.cells):
        if nbgrader_meta(old).get("grade_id") in points_of(A03):
            assert "Verified grading" in json.dumps(new.get("outputs"))
        elif old.cell_type == "code":
            assert new.outputs == old.outputs


# ----------------------------------------------------------------------------- ASSIGNMENT=
def test_assignment_restricts_and_other_grades_are_kept(released, tmp_path):
    course = copy_course(released, tmp_path)
    handed = hand_in_all(course, ("solution",))
    run_grade(course, assignment=A03)
    assert {r["assignment"] for r in csv_rows(course)} == {A03}
    assert set(grades_of(course, handed)) == {(A03, "solution")}, "01 was not graded"

    # the solution's 03 gets a manual score from a grader, then 01 is graded: both kept
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("predict_db_under_bn_test", A03, A03, "solution").manual_score = 0.5
        gb.db.commit()
    run_grade(course, assignment=A01)
    assert {r["assignment"] for r in csv_rows(course)} == {A01, A03}
    grades = grades_of(course, handed)
    assert set(grades) == handed
    assert grades[A03, "solution"]["predict_db_under_bn_test"][0] == 0.5
    assert grades[A03, "solution"]["identity_gamma_beta_test"][0] == 2


# ----------------------------------------------------------------------------- late hand-ins
def test_late_submissions_get_nbgrader_s_penalty(released, tmp_path):
    # 03 was due two hours before the hand-in time, 01 a day after it; the course's config asks
    # nbgrader for its "zero" method (the penalty is the whole score). make grade alone, without
    # autograde, must give the late notebook that penalty and the one on time none.
    from nbgrader.api import Gradebook

    course = copy_course(released, tmp_path)
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(A03, duedate="2026-11-30 10:00:00 UTC")
        gradebook.update_or_create_assignment(A01, duedate="2026-12-01 12:00:00 UTC")
    handed = hand_in_all(course, ("solution", "untouched"))  # handed in 2026-11-30 12:00 UTC
    run_grade(course)

    full03 = sum(points_of(A03).values())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        def penalty(name, student):
            return gradebook.find_submission_notebook(name, name, student).late_submission_penalty

        late = gradebook.find_submission_notebook(A03, A03, "solution")
        assert late.score == full03 > 0  # the verified points, before the penalty
        assert penalty(A03, "solution") == full03
        assert gradebook.find_submission(A03, "solution").total_seconds_late == 2 * 3600
        assert penalty(A03, "untouched") in (None, 0)  # capped at its score, 0
        assert penalty(A01, "solution") is None
        assert gradebook.find_submission(A01, "solution").total_seconds_late == 0
    section = report_section((course / "grading_report.txt").read_text(encoding="utf-8"),
                             "Handed in late")
    assert sorted(section) == [f"solution / {A03}: 2.0 h late, penalty {full03:g} points",
                               f"untouched / {A03}: 2.0 h late, penalty 0 points"]
    assert len(handed) == 4  # 01 on time: not in the section


# ----------------------------------------------------------------------------- a dying worker
def verify_or_die(job, secret, timeout, memory_mb):
    """A stand-in for verify_job whose worker process dies on the student "killer"."""
    if job.student == "killer":
        os._exit(1)
    return job, {"problems": [], "exercises": {}, "seconds": 0.0}


def test_a_dying_worker_costs_no_other_student_their_grades(tmp_path, monkeypatch):
    """The pool breaks when a worker dies; every other job is verified again, alone, and only
    the job that killed its worker comes back as an error."""
    from helpers.grading.cli import Job, verify_all

    # the spawned workers import this module by name to find verify_or_die
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"),
                                                      os.environ.get("PYTHONPATH", "")]))
    jobs = [Job("a", student, "a", tmp_path / "a.ipynb", tmp_path / "s.ipynb")
            for student in ("first", "killer", "second", "third")]
    results = dict(verify_all(jobs, "secret", 5.0, 100, workers=2, verify=verify_or_die,
                              progress=False))
    assert set(results) == set(jobs)
    outcomes = {job.student: outcome for job, outcome in results.items()}
    assert "error" in outcomes.pop("killer")
    assert all("error" not in outcome for outcome in outcomes.values()), outcomes


def test_the_report_names_the_sandbox_the_students_code_ran_in(fresh):
    from helpers.grading.remote import sandbox

    path, name = sandbox()
    if path is None:
        message = f"no OS sandbox for the students' code here: {name}"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/run installs bubblewrap)")
        pytest.skip(message)
    assert "The students' code ran in: bubblewrap." in fresh["report"], fresh["report"][:2000]
    assert "WARNING" not in fresh["report"]
