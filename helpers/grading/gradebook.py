"""nbgrader's side of the verified grading: course folder, gradebook, autograded notebooks.

Everything here runs in the instructor's grading process and only reads and writes files and the
gradebook (nbgrader's own API: `nbgrader.api.Gradebook`, its preprocessors); it never executes a
submission. `helpers.grading.cli` calls it with the verifier's results.

Vocabulary (nbgrader's):
    course       the course root (`make assignments` writes source/, release/, gradebook.db)
    assignment   one folder of source/ (here: one notebook of the course)
    graded cell  a cell with nbgrader metadata `grade: true`; an autograder test cell is a graded
                 code cell that is not a solution cell (written answers are graded by hand)

A verified exercise result is plain data (the CLI converts the verifier's objects):
    {"points": float, "max_points": float, "passed": bool, "message": str, "flags": [str],
     "exercise": str}
keyed by the graded test cell's grade_id.
"""

import copy
import hashlib
import logging
import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import nbformat

# Notebook metadata key of the autograded notebooks written here; it keeps the in-kernel scores
# (nbgrader autograde's, or the submitted notebook's own outputs) for the next run of `make grade`.
MARKER = "verified_grading"

# nbgrader's preprocessors log through traitlets; a submission with an edited locked cell makes
# them warn once per cell. The report says what matters; this logger keeps them quiet.
QUIET = logging.getLogger("helpers.grading.nbgrader")
QUIET.setLevel(logging.ERROR)


# ----------------------------------------------------------------------------- course folder
def course_directory(course_dir):
    """nbgrader's CourseDirectory for `course_dir`, configured as nbgrader commands would see it.

    Loads nbgrader_config.py from Jupyter's config path and from the course folder (the course's
    wins), then sets the root to `course_dir`: so db_url, course_id and the folder layout
    (`directory_structure`, `submitted_directory`, ...) are the ones `nbgrader autograde` uses.
    """
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config, PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course_dir)]:
        if (Path(folder) / "nbgrader_config.py").is_file():
            loader = PyFileConfigLoader("nbgrader_config.py", path=folder, log=QUIET)
            config.merge(loader.load_config())
    config.CourseDirectory.root = str(course_dir)
    return CourseDirectory(config=config, log=QUIET)


def notebook_folders(coursedir, step, student="*", assignment="*"):
    """{(student, assignment): folder} of nbgrader step `step` ("submitted", "autograded", ...).

    The folders are matched with the course's directory_structure, exactly as nbgrader's
    converters do (a pattern with named groups built by CourseDirectory.format_path).
    """
    import glob

    pattern = coursedir.format_path(step, "(?P<student_id>[^/]+)", "(?P<assignment_id>[^/]+)",
                                    escape=True)
    found = {}
    for folder in glob.glob(coursedir.format_path(step, student, assignment)):
        match = re.fullmatch(pattern, folder)
        if match and Path(folder).is_dir():
            found[match["student_id"], match["assignment_id"]] = Path(folder)
    return found


def source_notebooks(coursedir, assignment):
    """{notebook name: path} of an assignment's source notebooks (written by `make assignments`)."""
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


def file_digest(path):
    """sha256 hex digest of a file (tells a resubmission from the notebook graded before)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- in-kernel scores
def test_cells(nb):
    """{grade_id: cell} of a notebook's autograder test cells (graded code cells, not answers)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cells[meta.get("grade_id")] = cell
    return cells


def in_kernel_points(cell, executed_by_nbgrader):
    """The points a test cell's outputs give under nbgrader's rule (nbgrader.utils.determine_grade:
    full points unless an output is an error or stderr).

    A cell of a notebook nbgrader autograde executed is scored as nbgrader scored it. A cell of
    a submitted notebook counts only if it ran (it has an execution count or outputs): a test
    cell the student never ran shows nothing, so it gets 0, not nbgrader's full points.
    """
    from nbgrader.utils import determine_grade

    ran = cell.get("execution_count") is not None or bool(cell.get("outputs"))
    if not executed_by_nbgrader and not ran:
        return 0.0
    points, _ = determine_grade(cell, QUIET)
    return float(points or 0.0)


def read_notebook(path):
    """The notebook at `path` (nbformat v4), or None if it is missing or not a notebook."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # any unreadable file is "not a notebook" here
        return None


class InKernel(NamedTuple):
    """A submitted notebook's in-kernel scores, where they come from, and whether its existing
    autograded notebook belongs to it (then the verdicts go into that notebook)."""

    scores: dict              # {test grade_id: points}
    source: str               # "nbgrader autograde" or "submitted outputs"
    reuse_autograded: bool


def in_kernel_scores(submitted_path, autograded_path):
    """The InKernel of one submitted notebook:

    - its autograded notebook was written by `nbgrader autograde` (no MARKER) after the file was
      handed in: autograde's own score, read from the executed outputs;
    - it was written by an earlier verified grading of the same submitted file: the scores kept;
    - otherwise (autograde did not run, or the student handed in again since): the submitted
      notebook's own outputs.
    """
    submitted_path, autograded_path = Path(submitted_path), Path(autograded_path)
    digest = file_digest(submitted_path) if submitted_path.is_file() else None
    autograded = read_notebook(autograded_path) if autograded_path.is_file() else None
    if autograded is not None and digest is not None:
        kept = autograded.metadata.get(MARKER)
        newer = autograded_path.stat().st_mtime >= submitted_path.stat().st_mtime
        if kept is None and newer:
            return InKernel({gid: in_kernel_points(cell, True)
                             for gid, cell in test_cells(autograded).items()},
                            "nbgrader autograde", True)
        if kept is not None and kept.get("submitted_sha256") == digest:
            return InKernel({gid: float(p) for gid, p in kept.get("in_kernel", {}).items()},
                            kept.get("in_kernel_from", "submitted outputs"), True)
    submitted = read_notebook(submitted_path) if digest is not None else None
    scores = {} if submitted is None else {gid: in_kernel_points(cell, False)
                                           for gid, cell in test_cells(submitted).items()}
    return InKernel(scores, "submitted outputs", False)


# ----------------------------------------------------------------------------- autograded notebook
def verdict_outputs(result):
    """The outputs a graded test cell shows in the autograded notebook (and so in the feedback).

    They follow nbgrader's rule (determine_grade) so that the cell's outputs and its gradebook
    score agree: a failed cell ends with an error output, a partial score is an execute_result
    holding the points, a pass is plain text.
    """
    points, max_points = float(result["points"]), float(result["max_points"])
    lines = [f"Verified grading: {points:g} / {max_points:g} points"]
    if result.get("message"):
        lines.append(result["message"].rstrip())
    lines += [f"Note: {flag}" for flag in result.get("flags", [])]
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
    if points <= 0:
        first = next((line for line in result.get("message", "").splitlines() if line.strip()),
                     "the exercise did not pass")
        outputs.append(nbformat.v4.new_output(
            "error", ename="NotPassed", evalue=first.strip(),
            traceback=[f"NotPassed: {first.strip()}"]))
    elif points < max_points:
        outputs.append(nbformat.v4.new_output(
            "execute_result", data={"text/plain": repr(points)}, execution_count=None))
    return outputs


def nbgrader_resources(coursedir, assignment, notebook, student):
    """The `resources` nbgrader's preprocessors read: which notebook of whom, and the gradebook."""
    return {"nbgrader": {"notebook": notebook, "assignment": assignment, "student": student,
                         "db_url": coursedir.db_url}}


def sanitized(nb, coursedir, assignment, notebook, student):
    """The submitted notebook as `nbgrader autograde` prepares it before running it: outputs
    cleared, locked cells (the tests) put back from the gradebook, nbgrader's kernelspec, cell
    metadata checked. Uses nbgrader's own preprocessors; raises if the metadata is corrupt."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    resources = nbgrader_resources(coursedir, assignment, notebook, student)
    nb = copy.deepcopy(nb)
    for step in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                 CheckCellMetadata):
        nb, resources = step(log=QUIET).preprocess(nb, resources)
    return nb


def autograded_notebook(base, results, in_kernel, in_kernel_from, submitted_digest):
    """`base` (autograde's executed notebook, or the sanitized submission) with each verified
    test cell's outputs replaced by the verdict, and MARKER recording the in-kernel scores."""
    nb = copy.deepcopy(base)
    for grade_id, cell in test_cells(nb).items():
        if grade_id in results:
            cell.outputs = verdict_outputs(results[grade_id])
    nb.metadata[MARKER] = {"submitted_sha256": submitted_digest, "in_kernel": in_kernel,
                           "in_kernel_from": in_kernel_from}
    return nb


def write_notebook(nb, path):
    """Write atomically (a reader never sees half a notebook; nbgrader's files may be read-only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    nbformat.write(nb, str(partial))
    os.replace(partial, path)


def copy_submission_files(submitted_dir, autograded_dir):
    """Copy the submission's other files (timestamp.txt, submission_secret.txt, anything the
    student handed in besides notebooks) next to the autograded notebook, as `nbgrader
    autograde` does: generate_feedback copies them on, and release_feedback needs timestamp.txt.
    Overwritten on every run, so a new hand-in's timestamp wins."""
    for path in Path(submitted_dir).iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copyfile(path, Path(autograded_dir) / path.name)


# ----------------------------------------------------------------------------- gradebook
def open_gradebook(coursedir):
    """nbgrader's Gradebook of the course (use as a context manager)."""
    from nbgrader.api import Gradebook

    return Gradebook(coursedir.db_url, coursedir.course_id)


def gradebook_test_cells(gradebook, assignment, notebook):
    """{grade_id: max points} of the notebook's autograder test cells, as the gradebook knows
    them (from `nbgrader generate_assignment`); raises nbgrader.api.MissingEntry if unknown."""
    source = gradebook.find_notebook(notebook, assignment)
    answers = {cell.name for cell in source.solution_cells}
    return {cell.name: float(cell.max_score) for cell in source.grade_cells
            if cell.name not in answers}


def save_grades(gradebook, assignment, student, notebook, points, timestamp=None):
    """Write verified points {test grade_id: points} for one submitted notebook.

    Creates the student and the submission if `nbgrader autograde` has not (with the hand-in
    time of timestamp.txt, as autograde does). Like autograde (SaveAutoGrades), it sets only the
    automatic score: a grader's manual score still wins and flags the cell for review. Other
    students' and other cells' grades are not touched. Commits once.
    """
    gradebook.update_or_create_student(student)
    extra = {"timestamp": timestamp} if timestamp else {}
    gradebook.update_or_create_submission(assignment, student, **extra)
    for grade_id, value in points.items():
        grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        grade.auto_score = float(value)
        grade.needs_manual_grade = grade.manual_score is not None
    gradebook.db.commit()


def assign_late_penalty(gradebook, coursedir, assignment, notebook, student):
    """Give one submitted notebook its late penalty exactly as `nbgrader autograde` does: with
    nbgrader's AssignLatePenalties preprocessor and the course's configuration (the assignment's
    duedate in the gradebook, the hand-in time of timestamp.txt, a student's extension, and
    LateSubmissionPlugin.penalty_method or a plugin class of your own; nbgrader's default, "none",
    assigns none). Call it after `save_grades`: the penalty is capped at the notebook's score.

    Returns (seconds late, penalty or None), read back from the gradebook.
    """
    from nbgrader.preprocessors import AssignLatePenalties

    resources = nbgrader_resources(coursedir, assignment, notebook, student)
    step = AssignLatePenalties(config=coursedir.config, log=QUIET)
    step.preprocess(nbformat.v4.new_notebook(), resources)  # it opens the gradebook itself
    gradebook.db.expire_all()  # read what that other connection wrote
    submission = gradebook.find_submission(assignment, student)
    penalty = gradebook.find_submission_notebook(notebook, assignment,
                                                 student).late_submission_penalty
    return submission.total_seconds_late, penalty
