"""`make grade`: verify every submission of a course and write the verified scores into nbgrader.

    COURSE_GRADING_SECRET=... python -m helpers.grading --course-dir build/assignments \
        [--assignment 02_batchnorm_forward] [--jobs N] [--timeout 30] [--memory-mb 3072]

For every submitted notebook <course>/submitted/<student>/<assignment>/<notebook>.ipynb
(nbgrader's layout, or the course's `directory_structure`) and its source notebook
<course>/source/<assignment>/<notebook>.ipynb, `helpers.grading.verify.verify_submission` grades
each exercise outside the student's kernel, in worker processes (one per core; each verification
starts its own child for the student's code). Only this process writes:

- <course>/gradebook.db: the verified points of every autograder test cell, through nbgrader's
  Gradebook API (students and submissions are created if `nbgrader autograde` did not run), so
  `nbgrader export`, `nbgrader generate_feedback` and the formgrader show them; and each
  notebook's late penalty, by nbgrader's AssignLatePenalties with the course's config;
- <course>/autograded/<student>/<assignment>/<notebook>.ipynb: autograde's executed notebook, or
  the submission prepared as autograde prepares it, with each test cell's outputs replaced by the
  verifier's verdict and hint (what `generate_feedback` shows the student);
- <course>/verified_grades.csv: one row per student, assignment and test cell (columns: CSV_FIELDS);
- <course>/grading_report.txt (also printed): the submissions that could not be graded and why,
  every submission whose in-kernel score differs from the verified one, the flags and the
  notebooks handed in late.

Exit status: 0 when the run finished (problems with submissions are in the report), 2 for a usage
error (no secret, no course folder, nothing to grade).
"""

import argparse
import csv
import logging
import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

from helpers.grading import gradebook as nbg

SECRET_VARIABLE = "COURSE_GRADING_SECRET"
CSV_NAME, REPORT_NAME = "verified_grades.csv", "grading_report.txt"
CSV_FIELDS = ["student", "assignment", "notebook", "grade_id", "exercise", "points", "max_points",
              "in_kernel_points", "message", "flags"]
# Quiet children: TensorFlow's C++ start-up lines (notebook 07's child imports it).
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
             "PYTHONWARNINGS": "ignore"}
NOISY_LOGGERS = ("sqlalchemy", "alembic", "traitlets", "nbgrader", "tensorflow", "absl")


class UsageError(Exception):
    """A problem with the command line or the course folder (exit status 2)."""


class Job(NamedTuple):
    """One submitted notebook to verify (`submitted` may not exist: not handed in)."""

    assignment: str
    student: str
    notebook: str
    submitted: Path
    source: Path
    course: Path | None = None   # the course folder, hidden from the student's code


class Graded(NamedTuple):
    """What the run did with one Job (built in the main process)."""

    job: Job
    rows: list            # CSV rows (dicts of CSV_FIELDS), one per test cell
    problem: str | None   # why (part of) the submission could not be graded, None if graded
    in_kernel_from: str   # "nbgrader autograde" or "submitted outputs"
    seconds: float
    sandbox: str = ""     # the OS protection the student's code ran under (verify.py)
    late: tuple = ()      # (seconds late, penalty or None) when handed in after the duedate


# ----------------------------------------------------------------------------- finding the work
def find_jobs(coursedir, assignment=None):
    """Every submitted notebook to verify, and the notes of what is skipped.

    Returns (jobs, notes). A source notebook the student did not hand in is a Job whose
    `submitted` path does not exist (it scores 0, as with autograde); a submitted notebook
    without a source notebook is skipped with a note (autograde skips it too).
    Raises UsageError if there is nothing to grade.
    """
    folders = nbg.notebook_folders(coursedir, coursedir.submitted_directory,
                                   assignment=assignment or "*")
    excluded = set(coursedir.student_id_exclude.split(",")) - {""}
    jobs, notes = [], []
    for (student, name), folder in sorted(folders.items()):
        if student in excluded or student.startswith("."):
            continue
        sources = nbg.source_notebooks(coursedir, name)
        if not sources:
            notes.append(f"{student} / {name}: no source notebook in "
                         f"{coursedir.source_directory}/{name}/ (run `make assignments`); skipped")
            continue
        for notebook, source in sources.items():
            jobs.append(Job(name, student, notebook, folder / f"{notebook}.ipynb", source,
                            Path(coursedir.root)))
        for extra in sorted(set(p.stem for p in folder.glob("*.ipynb")) - set(sources)):
            notes.append(f"{student} / {name}: {extra}.ipynb is not a notebook of the assignment; "
                         "ignored")
    if not jobs:
        where = Path(coursedir.root) / coursedir.submitted_directory
        what = f"of assignment {assignment!r} " if assignment else ""
        raise UsageError(f"no submission {what}to grade under {where}/<student>/<assignment>/")
    return jobs, notes


# ----------------------------------------------------------------------------- verifying (workers)
def plain_result(result):
    """The verifier's SubmissionResult as plain data (it crosses a process boundary)."""
    return {
        "problems": [str(p) for p in result.problems],
        "exercises": {str(gid): {"exercise": str(r.exercise), "points": float(r.points),
                                 "max_points": float(r.max_points), "passed": bool(r.passed),
                                 "message": str(r.message or ""),
                                 "flags": [str(f) for f in (r.flags or [])]}
                      for gid, r in result.exercises.items()},
        "seconds": float(result.seconds),
        "sandbox": str(result.sandbox),
    }


def verify_job(job, secret, timeout, memory_mb):
    """Verify one Job (runs in a worker process). Returns (job, plain result); an internal error
    of the verifier comes back as {"error": ...} instead of stopping the other submissions."""
    start = time.perf_counter()
    if not job.submitted.is_file():
        return job, {"problems": [f"not handed in ({job.notebook}.ipynb is missing)"],
                     "exercises": {}, "seconds": 0.0}
    try:
        from helpers.grading.verify import verify_submission

        # the course folder is hidden from the student's code (other students' submissions)
        hidden = [job.course] if job.course else None
        result = verify_submission(job.submitted, job.source, secret=secret, timeout=timeout,
                                   memory_mb=memory_mb, private_dirs=hidden)
        return job, plain_result(result)
    except Exception as error:  # reported per submission, never fatal
        return job, {"error": f"{type(error).__name__}: {error}",
                     "seconds": time.perf_counter() - start}


def quiet_main():
    """This process: no SQLAlchemy warnings (nbgrader's API triggers some), no library logs; the
    workers and their children inherit CHILD_ENV."""
    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.update(CHILD_ENV)


def quiet_worker():
    """Worker set-up: no warnings or library logs on the instructor's terminal."""
    warnings.simplefilter("ignore")
    os.environ.update(CHILD_ENV)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def verify_all(jobs, secret, timeout, memory_mb, workers, verify=verify_job, progress=True):
    """Yield (job, plain result) as they finish, verifying in `workers` processes.

    workers=1 verifies in this process, one after the other (the student's code still runs in
    the verifier's own child). `verify` is the per-job function (a fake in tests).
    A worker that dies (it should not: the student's code runs in a sandboxed child) breaks the
    whole pool; the jobs it took down with it are verified again, each in a pool of its own, so
    one bad submission cannot cost other students their grades.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="notebook", desc="verifying", disable=not progress,
               file=sys.stderr)
    try:
        if workers <= 1:
            for job in jobs:
                yield verify(job, secret, timeout, memory_mb)
                bar.update()
            return
        context = multiprocessing.get_context("spawn")  # no copy of this process's database
        rounds = [(jobs, workers)]
        while rounds:
            batch, size = rounds.pop(0)
            for job, outcome in pool_results(batch, size, context, verify,
                                             (secret, timeout, memory_mb)):
                if outcome is None and size > 1:  # taken down by another job: again, alone
                    rounds.append(([job], 1))
                    continue
                if outcome is None:
                    outcome = {"error": "its worker process died while verifying it",
                               "seconds": 0.0}
                yield job, outcome
                bar.update()
    finally:
        bar.close()


def pool_results(jobs, workers, context, verify, args):
    """(job, plain result) for each job verified in one process pool; (job, None) for a job
    lost with a broken pool (a worker process died)."""
    with ProcessPoolExecutor(workers, mp_context=context, initializer=quiet_worker) as pool:
        futures = {pool.submit(verify, job, *args): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                yield futures[future], None
            except Exception as error:  # anything else from the worker: that job only
                yield futures[future], {"error": f"worker failed: {error!r}", "seconds": 0.0}


# ----------------------------------------------------------------------------- recording (main)
def verified_cells(outcome, max_points):
    """{test grade_id: exercise result} for every test cell the gradebook knows; a cell the
    verifier did not grade gets 0 points with the submission's problems as the reason."""
    reason = "; ".join(outcome.get("problems", [])) or "not verified"
    found = outcome.get("exercises", {})
    return {gid: found.get(gid) or {"exercise": "", "points": 0.0, "max_points": full,
                                    "passed": False, "message": reason, "flags": []}
            for gid, full in max_points.items()}


def one_line(text, limit=300):
    """A message on one CSV/report line: whitespace collapsed, cut at `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def autograded_base(job, autograded_path, in_kernel, coursedir):
    """The notebook to put the verdicts into: the existing autograded notebook when it belongs
    to this submission, else the submission prepared as autograde prepares it (None if the
    submission is not a notebook)."""
    if in_kernel.reuse_autograded:
        return nbg.read_notebook(autograded_path)
    nb = nbg.read_notebook(job.submitted)
    return None if nb is None else nbg.sanitized(nb, coursedir, job.assignment, job.notebook,
                                                  job.student)


def record(job, outcome, coursedir, gradebook):
    """Write one verified submission into the gradebook and its autograded notebook; returns
    its Graded summary. Never raises for a bad submission (the reason goes in the summary)."""
    from nbgrader.api import MissingEntry

    seconds = outcome.get("seconds", 0.0)
    if "error" in outcome:  # 0 points, never the in-kernel score: the report lists it
        outcome = {"problems": [f"verification failed: {outcome['error']}"], "exercises": {},
                   "seconds": seconds}
    try:
        max_points = nbg.gradebook_test_cells(gradebook, job.assignment, job.notebook)
    except MissingEntry:
        return Graded(job, [], f"{job.assignment}/{job.notebook} is not in the gradebook (run "
                      "`make assignments`, i.e. nbgrader generate_assignment)", "", seconds)
    cells = verified_cells(outcome, max_points)
    autograded_path = Path(coursedir.format_path(
        coursedir.autograded_directory, job.student, job.assignment)) / f"{job.notebook}.ipynb"
    in_kernel = nbg.in_kernel_scores(job.submitted, autograded_path)
    timestamp = None
    try:
        timestamp = coursedir.get_existing_timestamp(str(job.submitted.parent))
    except BaseException:  # CourseDirectory.fail exits on a bad timestamp.txt
        pass
    nbg.save_grades(gradebook, job.assignment, job.student, job.notebook,
                    {gid: r["points"] for gid, r in cells.items()}, timestamp)

    problem = "; ".join(outcome.get("problems", [])) or None
    late = ()
    try:
        seconds_late, penalty = nbg.assign_late_penalty(gradebook, coursedir, job.assignment,
                                                        job.notebook, job.student)
        late = (seconds_late, penalty) if seconds_late > 0 else ()
    except Exception as error:  # e.g. a late-penalty plugin of the course's that fails
        note = f"late penalty not assigned ({type(error).__name__}: {one_line(error)})"
        problem = f"{problem}; {note}" if problem else note
    if job.submitted.is_file():
        try:
            base = autograded_base(job, autograded_path, in_kernel, coursedir)
            if base is not None:
                kept = {gid: in_kernel.scores.get(gid, 0.0) for gid in cells}
                nb = nbg.autograded_notebook(base, cells, kept, in_kernel.source,
                                             nbg.file_digest(job.submitted))
                nbg.write_notebook(nb, autograded_path)
                nbg.copy_submission_files(job.submitted.parent, autograded_path.parent)
        except Exception as error:  # grades are saved; feedback is not
            note = f"autograded notebook not written ({type(error).__name__}: {one_line(error)})"
            problem = f"{problem}; {note}" if problem else note
    rows = [{"student": job.student, "assignment": job.assignment, "notebook": job.notebook,
             "grade_id": gid, "exercise": r["exercise"], "points": r["points"],
             "max_points": r["max_points"], "in_kernel_points": in_kernel.scores.get(gid, 0.0),
             "message": one_line(r["message"]), "flags": "; ".join(r["flags"])}
            for gid, r in cells.items()]
    return Graded(job, rows, problem, in_kernel.source, seconds, outcome.get("sandbox", ""),
                  late)


# ----------------------------------------------------------------------------- CSV and report
def write_csv(path, graded):
    """Write the CSV: this run's rows, plus the rows of an earlier run for the submissions this
    run did not grade (an `--assignment` run keeps the other assignments' rows; a submission
    whose verification failed keeps its earlier rows, as it keeps its gradebook scores)."""
    fresh = {(g.job.student, g.job.assignment, g.job.notebook) for g in graded if g.rows}
    rows = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            rows = [row for row in csv.DictReader(f) if (
                row.get("student"), row.get("assignment"), row.get("notebook")) not in fresh]
    rows += [row for g in graded for row in g.rows]
    rows.sort(key=lambda row: (row["assignment"], row["student"], row["notebook"]))
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)


def discrepancies(graded, higher):
    """[(graded, [(grade_id, in-kernel, verified)])] of the submissions with at least one test
    cell whose in-kernel points are higher (higher=True) or lower than the verified ones."""
    found = []
    for g in graded:
        cells = [(r["grade_id"], float(r["in_kernel_points"]), float(r["points"])) for r in g.rows
                 if float(r["in_kernel_points"]) != float(r["points"])
                 and (float(r["in_kernel_points"]) > float(r["points"])) == higher]
        if cells:
            found.append((g, cells))
    return found


def submission_name(g):
    """"student / assignment" (and " / notebook" when an assignment has several)."""
    name = f"{g.job.student} / {g.job.assignment}"
    return name if g.job.notebook == g.job.assignment else f"{name} / {g.job.notebook}"


# The headings of the report's sections (tests and instructors' scripts look for them).
COULD_NOT_GRADE = "Could not grade (in full)"
HIGHER_IN_KERNEL = "In-kernel score HIGHER than the verified one"
LOWER_IN_KERNEL = "In-kernel score lower than the verified one"
FLAGS = "Flags"
LATE = "Handed in late"


def report(graded, notes, course_dir, seconds, workers):
    """The text of grading_report.txt (pure: from the summaries of the run)."""
    lines = [f"Verified grading of {course_dir}: {len(graded)} submitted notebooks in "
             f"{seconds:.0f} s ({workers} worker process{'es' if workers > 1 else ''})."]
    sandboxes = sorted({g.sandbox for g in graded if g.sandbox})
    lines.append(f"The students' code ran in: {', '.join(sandboxes) or 'no child (nothing run)'}.")
    if any(not name.startswith("bubblewrap") for name in sandboxes):
        lines.append("  WARNING: without the bubblewrap sandbox a student's code can write, delete "
                     "or read files your account can (apt-get install bubblewrap).")
    failed = [g for g in graded if g.problem]
    lines += ["", f"{COULD_NOT_GRADE}: {len(failed) + len(notes)}"]
    lines += [f"  {submission_name(g)}: {one_line(g.problem)}" for g in failed]
    lines += [f"  {note}" for note in notes]
    for heading, higher, why in (
            (HIGHER_IN_KERNEL, True, "a likely tampering attempt, or a grading bug: read the "
                                     "submission"),
            (LOWER_IN_KERNEL, False, "a warning or error only the student's kernel counted, "
                                     "test cells not run, or a grading bug")):
        differ = discrepancies(graded, higher)
        lines += ["", f"{heading}: {len(differ)} ({why})"]
        for g, cells in differ:
            detail = ", ".join(f"{gid} {k:g} -> {v:g}" for gid, k, v in cells)
            lines.append(f"  {submission_name(g)} (in-kernel from {g.in_kernel_from}): {detail}")
    flagged = [(g, r) for g in graded for r in g.rows if r["flags"]]
    lines += ["", f"{FLAGS}: {len(flagged)} (code copied from helpers is only flagged: the "
              "solutions are public; read it)"]
    lines += [f"  {submission_name(g)} / {r['grade_id']}: {r['flags']}" for g, r in flagged]
    late = [g for g in graded if g.late]
    lines += ["", f"{LATE}: {len(late)} (penalties as `nbgrader autograde` assigns them, with "
              "the course's LateSubmissionPlugin; verified points are before the penalty)"]
    lines += [f"  {submission_name(g)}: {g.late[0] / 3600:.1f} h late, penalty "
              f"{g.late[1] or 0:g} points" for g in late]
    total = sum(float(r["points"]) for g in graded for r in g.rows)
    full = sum(float(r["max_points"]) for g in graded for r in g.rows)
    lines += ["", f"Verified points: {total:g} of {full:g}; per test cell in {CSV_NAME}; scores "
              "in gradebook.db (nbgrader export, generate_feedback, formgrader)."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the command
def grade(course_dir, secret, assignment=None, workers=None, timeout=30.0, memory_mb=3072,
          verify=verify_job, progress=True):
    """Verify and record every submission; returns (graded, report text). See the module doc."""
    if not secret:
        raise UsageError(f"set {SECRET_VARIABLE} to the course's grading secret (any long random "
                         "string, not in the repository): the verifier derives its cases from it")
    course_dir = Path(course_dir)
    if not course_dir.is_dir():
        raise UsageError(f"no course folder {course_dir} (make assignments ASSIGNMENTS=... "
                         "creates it; pass the same folder as ASSIGNMENTS=...)")
    quiet_main()
    coursedir = nbg.course_directory(course_dir)
    jobs, notes = find_jobs(coursedir, assignment)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    start = time.perf_counter()
    graded = []
    with nbg.open_gradebook(coursedir) as gradebook:
        for job, outcome in verify_all(jobs, secret, timeout, memory_mb, workers, verify,
                                       progress):
            try:
                graded.append(record(job, outcome, coursedir, gradebook))
            except Exception as error:  # one bad record never stops the run
                gradebook.db.rollback()
                graded.append(Graded(job, [], f"not recorded: {type(error).__name__}: {error}",
                                     "", outcome.get("seconds", 0.0)))
    graded.sort(key=lambda g: (g.job.assignment, g.job.student, g.job.notebook))
    write_csv(course_dir / CSV_NAME, graded)
    text = report(graded, notes, course_dir, time.perf_counter() - start, workers)
    (course_dir / REPORT_NAME).write_text(text, encoding="utf-8")
    return graded, text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m helpers.grading",
        description="Verify every submission of an nbgrader course outside the students' "
                    f"kernels; the secret comes from ${SECRET_VARIABLE}.")
    parser.add_argument("--course-dir", type=Path, default=Path("build/assignments"),
                        help="nbgrader course folder of `make assignments` (default: "
                             "build/assignments)")
    parser.add_argument("--assignment", default=None, help="grade this assignment only")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes (default: the number of cores)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per exercise before the student's code is stopped")
    parser.add_argument("--memory-mb", type=int, default=3072,
                        help="memory limit of the process running the student's code")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # The secret goes to the verifier as an argument, never into a child's environment.
    secret = os.environ.pop(SECRET_VARIABLE, "")
    try:
        graded, text = grade(args.course_dir, secret, args.assignment, args.jobs, args.timeout,
                             args.memory_mb, progress=not args.no_progress)
    except UsageError as error:
        print(f"make grade: {error}", file=sys.stderr)
        return 2
    print(text, end="")
    print(f"(written to {args.course_dir / REPORT_NAME} and {args.course_dir / CSV_NAME})")
    return 0
