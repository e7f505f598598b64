"""Seconds per student: verified grading (`make grade`) against `nbgrader autograde`.

A report, not a test: it prints a table and the target, and always exits with code 0.

    .venv/bin/python benchmarks/bench_grading.py [--students 3] [--jobs N] [--keep DIR]
                                                 [--verified-only]

It builds a course in a temporary folder with assignments/build.py (what `make assignments`
does), hands in the committed solution notebooks (every notebooks/*.ipynb) as --students
students, and copies that course folder, so each grader works on the same submissions in its own
folder:
- autograde: `nbgrader autograde <assignment>` for every assignment, one after the other, as
  the README's workflow runs it (nbgrader executes each submission top to bottom in a kernel);
- verified: `python -m helpers.grading --course-dir ...` once (what `make grade` runs: every
  submission in parallel worker processes, one per core unless --jobs).
Both include their start-up (Python, nbgrader, the workers). --verified-only skips autograde
(minutes per student), to time make grade on a class-sized folder. It prints the wall time of each,
per student, their ratio, the points each gave, and the load average before and after (the
machine may be shared: read the times with it).

Target: verified grading at least 10x faster than autograde per student (a class of 200 in
under 20 minutes on 2 cores).
"""

import argparse
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 10.0

_spec = importlib.util.spec_from_file_location("assignments_build",
                                               REPO / "assignments" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def hand_in(course, names, students):
    """Every committed notebook as the submission of each student (nbgrader's layout)."""
    for student in students:
        for name in names:
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / "notebooks" / f"{name}.ipynb", folder / f"{name}.ipynb")


def timed(args, cwd, env=None):
    """(seconds, CompletedProcess) of one command, output captured."""
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env or build.nbgrader_env(), capture_output=True,
                          text=True)
    return time.perf_counter() - start, done


def gradebook_points(course, names, students):
    """(points, max points) in the course's gradebook over the students' submissions."""
    from nbgrader.api import Gradebook, MissingEntry

    got = full = 0.0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "batchnorm-course") as gradebook:
        for name in names:
            for student in students:
                try:
                    notebook = gradebook.find_submission_notebook(name, name, student)
                except MissingEntry:
                    continue
                got += notebook.score
                full += notebook.max_score
    return got, full


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=3, help="submissions per notebook")
    parser.add_argument("--jobs", type=int, default=None, help="make grade's worker processes")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the courses in this folder and keep them")
    parser.add_argument("--verified-only", action="store_true",
                        help="time make grade alone (no nbgrader autograde)")
    args = parser.parse_args()

    load_before = os.getloadavg()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-grading-"))
    students = [f"student-{i + 1}" for i in range(args.students)]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"{args.students} students; courses in {folder}")
    try:
        start = time.perf_counter()
        names = list(build.build(folder / "autograde", capture_output=True, text=True))
        print(f"built {len(names)} assignments in {time.perf_counter() - start:.0f} s")
        hand_in(folder / "autograde", names, students)
        shutil.copytree(folder / "autograde", folder / "verified")

        rows = []
        for name in [] if args.verified_only else names:
            seconds, done = timed([sys.executable, "-m", "nbgrader", "autograde", name],
                                  folder / "autograde")
            if done.returncode:
                print(f"nbgrader autograde {name} failed:\n{done.stderr[-2000:]}")
            rows.append((name, seconds))
        autograde_total = sum(seconds for _, seconds in rows)

        env = dict(build.nbgrader_env(), COURSE_GRADING_SECRET=secrets.token_hex(16))
        command = [sys.executable, "-m", "helpers.grading", "--course-dir",
                   str(folder / "verified"), "--no-progress"]
        command += ["--jobs", str(args.jobs)] if args.jobs else []
        verified_total, done = timed(command, REPO, env)
        if done.returncode:
            print(f"make grade failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    finally:
        load_after = os.getloadavg()

    n = args.students
    if rows:
        print(f"\n{'assignment':32s} {'autograde s/student':>20s}")
        for name, seconds in rows:
            print(f"{name:32s} {seconds / n:20.1f}")
        print(f"{'all ' + str(len(names)) + ' notebooks':32s} {autograde_total / n:20.1f}")
    print(f"\n{'grader':12s} {'total s':>9s} {'s/student':>10s} {'points':>16s}")
    graders = [("verified", verified_total, "verified")]
    if rows:
        graders.insert(0, ("autograde", autograde_total, "autograde"))
    for label, total, course in graders:
        got, full = gradebook_points(folder / course, names, students)
        print(f"{label:12s} {total:9.1f} {total / n:10.1f} {got:8g} of {full:g}")
    if rows:
        ratio = autograde_total / verified_total if verified_total else float("inf")
        print(f"\nverified grading is {ratio:.1f}x faster per student "
              f"({'ok' if ratio >= TARGET else 'FAIL'}: target >= {TARGET:g}x); "
              f"a class of 200: about {verified_total / n * 200 / 60:.0f} min verified, "
              f"{autograde_total / n * 200 / 60:.0f} min with autograde")
    else:
        print(f"\na class of 200: about {verified_total / n * 200 / 60:.0f} min verified "
              f"(target: under 20 min)")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    report = folder / "verified" / "grading_report.txt"
    if report.exists():
        print("\nmake grade's report:\n" + report.read_text(encoding="utf-8"))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
