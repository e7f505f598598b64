"""The nbgrader round trip behind tests/test_assignments.py.

Everything is discovered from the notebooks, so a notebook or an exercise added later is covered
without editing this file:
    exercise       a solution cell (metadata.nbgrader.solution) that is not itself graded
    its tests      the autograder test cells (grade, not solution) below it, up to the next exercise
    manual cells   graded solution cells (written answers), graded by hand, not by autograde

`release(course_dir)` builds the release exactly as `make assignments` does (assignments/build.py);
`grade_all` hands in one submission per student id and autogrades them with
nbgrader's CLI, several nbgrader processes in parallel, each on its own copy of the gradebook
(SQLite does not like concurrent writers); the scores come from the gradebooks.
`verify` runs what `make grade` runs (`python -m helpers.grading`) on a course folder.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

_spec = importlib.util.spec_from_file_location("assignments_build", ROOT / "assignments" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)

UNTOUCHED, SOLUTION = "untouched", "solution"  # the student ids of the two reference submissions


def require_nbgrader(what):
    """Skip the calling test module when nbgrader is missing, or fail it when CI is set;
    `what` says what cannot run without it. Call at module level, before importing modules
    that need nbgrader."""
    import pytest

    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"nbgrader is not installed, so {what}: "
                        "pip install -r requirements-dev.txt", pytrace=False)
        pytest.skip("nbgrader is not installed (pip install -r requirements-dev.txt)",
                    allow_module_level=True)


# ----------------------------------------------------------------------------- reading notebooks
def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def source(cell):
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded(cells):
    """{grade_id: (index, cell)} of the cells with nbgrader metadata."""
    return {nbgrader_meta(c)["grade_id"]: (i, c) for i, c in enumerate(cells) if nbgrader_meta(c)}


def assert_graded_pair(cells, grade_id, points, assertion):
    """grade_id's solution cell is an open nbgrader solution cell with the solution between the
    markers, followed (not necessarily at once) by its locked graded cell `<grade_id>_test`
    worth `points` that runs `assertion`. Returns the two cells' indices."""
    cells_by_id = graded(cells)
    (i, solution), (j, test) = cells_by_id[grade_id], cells_by_id[f"{grade_id}_test"]
    assert nbgrader_meta(solution) == {
        "grade": False, "solution": True, "locked": False, "grade_id": grade_id,
        "schema_version": 3}
    assert nbgrader_meta(test) == {
        "grade": True, "solution": False, "locked": True, "grade_id": f"{grade_id}_test",
        "points": points, "schema_version": 3}
    text = source(solution)
    assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text
    assert j > i and assertion in source(test)
    return i, j


def between(text, begin, end):
    """The non-blank lines strictly between the begin and end marker lines, stripped."""
    lines, inside = [], False
    for line in text.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


class Exercise(NamedTuple):
    notebook: str      # assignment name = notebook stem
    grade_id: str      # of the solution cell
    tests: tuple       # grade ids of the autograder test cells that grade it
    points: float      # their points


class Course(NamedTuple):
    notebooks: dict        # assignment name -> path of the committed (solution) notebook
    exercises: dict        # (notebook, solution grade_id) -> Exercise
    autograded: dict       # notebook -> {test grade_id: points}
    manual: dict           # notebook -> {grade_id: points} of hand-graded answer cells


def discover(notebooks_dir=NOTEBOOKS):
    """Every notebook, exercise and graded cell of the course."""
    found = build.notebooks(notebooks_dir)
    exercises, autograded, manual = {}, {}, {}
    for name, path in found.items():
        autograded[name], manual[name] = {}, {}
        current, tests = None, {}
        for cell in read(path)["cells"]:
            meta = nbgrader_meta(cell)
            if meta.get("solution") and not meta.get("grade"):
                current = meta["grade_id"]
                tests[current] = []
            elif meta.get("grade") and meta.get("solution"):
                manual[name][meta["grade_id"]] = meta.get("points", 0)
            elif meta.get("grade"):
                autograded[name][meta["grade_id"]] = meta.get("points", 0)
                if current is not None:
                    tests[current].append(meta["grade_id"])
        for grade_id, ids in tests.items():
            exercises[name, grade_id] = Exercise(
                name, grade_id, tuple(ids), sum(autograded[name][i] for i in ids))
    return Course(found, exercises, autograded, manual)


# ----------------------------------------------------------------------------- wrong submissions
class Wrong(NamedTuple):
    """A submission with every exercise solved except one, which holds a typical mistake.

    The wrong code is the committed solution of `exercise` with every occurrence of `old`
    replaced by `new`; with old=None, `new` replaces the whole cell (for a rewrite that does not
    depend on how the committed solution is worded). `timeout` (seconds per cell) is for
    submissions that must be cut by the execution timeout: they are graded in their own nbgrader
    call with that timeout, the others with the generous one of the round trip. `tampers` marks
    a submission that fools the in-kernel grading (`nbgrader autograde` gives it the exercise's
    points) and says how: the verified grading must score it 0 and name it in its report.
    """

    exercise: str
    what: str
    old: str | None
    new: str
    timeout: int | None = None
    tampers: str | None = None

    @property
    def student(self):
        """A student id naming the case, e.g. wrong-batch_norm-gamma-beta-swapped."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.what.lower()).strip("-")[:40].strip("-")
        return f"wrong-{self.exercise}-{slug}"


def without_markers(text):
    """Solution code as a student would hand it in: the marker lines removed."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if line.strip() not in MARKERS)


def wrong_code(wrong, solution_source):
    """The exercise cell of the wrong submission (raises ValueError if `old` is not there)."""
    if wrong.old is None:
        return wrong.new
    if wrong.old not in solution_source:
        raise ValueError(
            f"wrong submission {wrong.what!r}: {wrong.old!r} is not in the solution of "
            f"{wrong.exercise!r} any more; update its row in tests/test_assignments.py")
    return without_markers(solution_source.replace(wrong.old, wrong.new))


def submission(release_path, solution_path, wrong=None):
    """The release with every exercise cell filled in from the solution notebook.

    Cells are matched by grade_id; the exercise of `wrong` gets the wrong code instead.
    """
    nb = read(release_path)
    solutions = {nbgrader_meta(c)["grade_id"]: source(c) for c in read(solution_path)["cells"]
                 if nbgrader_meta(c).get("solution")}
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        solved = solutions[meta["grade_id"]]
        if wrong is not None and meta["grade_id"] == wrong.exercise:
            cell["source"] = wrong_code(wrong, solved)
        else:
            cell["source"] = without_markers(solved)
    return nb


# ----------------------------------------------------------------------------- nbgrader
def write(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")


def hand_in(course_dir, student, assignment, nb):
    write(nb, Path(course_dir) / "submitted" / student / assignment / f"{assignment}.ipynb")


def autograde(course_dir, assignment, db, timeout, student="*", exclude=()):
    """One `nbgrader autograde` call on its own gradebook copy; returns (seconds, log)."""
    args = ["autograde", assignment, f"--CourseDirectory.db_url=sqlite:///{db}",
            f"--ExecutePreprocessor.timeout={timeout}", f"--student={student}"]
    if exclude:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(exclude)}")
    start = time.perf_counter()
    done = build.nbgrader(args, course_dir, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout + done.stderr


def scores(db, assignment, students):
    """{student: {grade_id: (score, max_score, needs_manual_grade)}} read from a gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{db}") as gradebook:
        for student in students:
            try:
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            except MissingEntry:
                continue  # never graded: the test says so
            out[student] = {g.name: (g.score, g.max_score, g.needs_manual_grade)
                            for g in notebook.grades}
    return out


def workers():
    """Parallel nbgrader processes: one per core, at least 2 (each waits on its kernel a lot)."""
    return max(2, min(4, os.cpu_count() or 2))


def release(course_dir):
    """`make assignments` into course_dir: {assignment: released notebook path}."""
    try:
        return build.build(course_dir, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise AssertionError(f"nbgrader generate_assignment failed:\n{error.stdout}\n"
                             f"{error.stderr}") from error


def grade_all(course_dir, course, released, wrong_submissions, timeout=120):
    """Hand in the untouched release, the solution and the wrong submissions; autograde them.

    Returns a dict: grades {(assignment, student): {grade_id: (score, max, needs_manual)}};
    students {(assignment, student) handed in}; logs and seconds per nbgrader call.
    """
    course_dir = Path(course_dir)
    handed_in = {}  # assignment -> [student]
    for name, path in course.notebooks.items():
        if not course.autograded[name] and not course.manual[name]:
            continue  # nothing to grade in this notebook
        hand_in(course_dir, UNTOUCHED, name, read(released[name]))
        hand_in(course_dir, SOLUTION, name, read(path))  # the committed notebook as it is
        handed_in[name] = [UNTOUCHED, SOLUTION]
    for wrong in wrong_submissions:
        name = next(n for n, g in course.exercises if g == wrong.exercise)
        hand_in(course_dir, wrong.student, name,
                submission(released[name], course.notebooks[name], wrong))
        handed_in[name].append(wrong.student)

    # Jobs: per assignment, one call for the submissions without a special timeout, one per
    # submission that has one. Largest first, so the pool ends evenly.
    special = {w.student: w.timeout for w in wrong_submissions if w.timeout}
    jobs = []
    for name, students in handed_in.items():
        slow = [s for s in students if s in special]
        jobs.append((name, "*", tuple(slow), timeout, len(students) - len(slow)))
        jobs += [(name, s, (), special[s], 1) for s in slow]
    jobs.sort(key=lambda job: -job[-1])
    shutil.copyfile(course_dir / "gradebook.db", course_dir / "gradebook.template.db")

    def run(number, job):
        name, student, exclude, seconds, _ = job
        db = course_dir / f"gradebook.job{number}.db"
        shutil.copyfile(course_dir / "gradebook.template.db", db)
        try:
            took, log = autograde(course_dir, name, db, seconds, student, exclude)
        except subprocess.CalledProcessError as error:
            raise AssertionError(f"nbgrader autograde {name} failed:\n{error.stdout}\n"
                                 f"{error.stderr}") from error
        graded = [s for s in handed_in[name] if (s == student if student != "*"
                                                  else s not in exclude)]
        return job, took, log, scores(db, name, graded)

    grades, logs, seconds = {}, {}, {}
    with ThreadPoolExecutor(workers()) as pool:
        for job, took, log, got in pool.map(run, range(len(jobs)), jobs):
            name, student = job[0], job[1]
            logs[name, student], seconds[name, student] = log, took
            grades.update({(name, s): g for s, g in got.items()})
    students = {(name, s) for name, ss in handed_in.items() for s in ss}
    return {"grades": grades, "students": students, "logs": logs, "seconds": seconds}


# ----------------------------------------------------------------------------- verified grading
SECRET_VARIABLE = "COURSE_GRADING_SECRET"


def verify(course_dir, secret, assignment=None, timeout=1200):
    """What `make grade ASSIGNMENTS=course_dir [ASSIGNMENT=...]` runs, with COURSE_GRADING_SECRET
    set to `secret` (or unset for None); returns the CompletedProcess (text output)."""
    env = build.nbgrader_env()
    env.pop(SECRET_VARIABLE, None)
    if secret is not None:
        env[SECRET_VARIABLE] = secret
    args = [sys.executable, "-m", "helpers.grading", "--course-dir", str(course_dir),
            "--no-progress", *(["--assignment", assignment] if assignment else [])]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def report_section(text, heading):
    """The entry lines of a grading report's section: those below the line that starts with
    `heading`, up to the next blank line (see helpers/grading/cli.py, `report`)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert start is not None, f"no section {heading!r} in the report:\n{text}"
    section = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        section.append(line.strip())
    return section


def named(section, student, assignment):
    """True if a report section has an entry for this student's submission of `assignment`."""
    prefix = f"{student} / {assignment}"
    return any(line.startswith(prefix) and line[len(prefix):][:1] in (":", " ") for line in section)
