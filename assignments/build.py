"""Build the student version of every notebook with nbgrader (run by `make assignments`).

One nbgrader assignment per notebook: notebooks/NN_name.ipynb is copied to
<course>/source/NN_name/NN_name.ipynb, nbgrader_config.py (this folder's) next to them, and
`nbgrader generate_assignment --force "*"` writes <course>/release/NN_name/NN_name.ipynb: the
solutions replaced by a stub, hidden tests and outputs removed, graded cells locked.
<course> defaults to build/assignments (ignored by git). Re-running it is safe during a course:
it never deletes submitted/, autograded/, feedback/ or gradebook.db.

nbgrader starts `alembic` as a subprocess, so the Python environment's bin/ goes on PATH.
The notebooks read data/ through `helpers.data`, whose DATA_DIR is an absolute path inside the
installed `helpers` package, so released and submitted notebooks find the data wherever they are.

    python assignments/build.py [--course-dir build/assignments] [--notebooks notebooks]
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = HERE / "nbgrader_config.py"


def notebooks(notebooks_dir=ROOT / "notebooks"):
    """{assignment name: notebook path}, one assignment per notebooks/*.ipynb, in course order."""
    return {path.stem: path for path in sorted(Path(notebooks_dir).glob("*.ipynb"))}


def nbgrader_env():
    """The environment for nbgrader: this Python's bin/ first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(args, course_dir, **kwargs):
    """Run `nbgrader <args>` with this Python, in course_dir; raise if it fails."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                          env=nbgrader_env(), check=True, **kwargs)


def stage(course_dir, notebooks_dir=ROOT / "notebooks"):
    """Lay the notebooks out as nbgrader expects: <course>/source/<name>/<name>.ipynb."""
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CONFIG, course_dir / "nbgrader_config.py")
    found = notebooks(notebooks_dir)
    for name, path in found.items():
        (course_dir / "source" / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, course_dir / "source" / name / path.name)
    return found


def build(course_dir, notebooks_dir=ROOT / "notebooks", **kwargs):
    """Stage the sources and generate every assignment's release; returns {name: release path}."""
    found = stage(course_dir, notebooks_dir)
    if not found:
        raise SystemExit(f"no notebooks in {notebooks_dir}")
    nbgrader(["generate_assignment", "--force", "*"], course_dir, **kwargs)
    release = Path(course_dir) / "release"
    return {name: release / name / f"{name}.ipynb" for name in found}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course-dir", default=ROOT / "build" / "assignments", type=Path,
                        help="nbgrader course root (default: build/assignments)")
    parser.add_argument("--notebooks", default=ROOT / "notebooks", type=Path,
                        help="folder of the solution notebooks (default: notebooks)")
    args = parser.parse_args()
    try:
        import nbgrader  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        raise SystemExit("nbgrader is not installed: pip install -r requirements-dev.txt")
    released = build(args.course_dir, args.notebooks)
    print(f"\nStudent versions of {len(released)} notebooks (hand out these folders):")
    for path in released.values():
        print(f"  {os.path.relpath(path.parent)}/")
    print(f"Grade from the course root: cd {os.path.relpath(args.course_dir)} && nbgrader ...")


if __name__ == "__main__":
    main()
