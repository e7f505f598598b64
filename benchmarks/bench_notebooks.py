"""How long does each course notebook take to run from top to bottom?

A report, not a test: it prints a table and the targets, and always exits with code 0.
Run it from anywhere:

    .venv/bin/python benchmarks/bench_notebooks.py        (or: make bench)

Every notebooks/*.ipynb is executed with nbclient, in the Jupyter kernel `python3` of the
Python that runs this script (the same environment as `make test`'s nbval). The committed
notebooks are never touched: the repository (without .git and .venv) is copied to a temporary
folder, and each notebook runs there with the copied notebooks folder as its working
directory, so relative paths such as ../data/wine.csv work as they do in JupyterLab.
Outputs are not saved anywhere.

The time of a notebook is the wall time of one execution, from starting its kernel to the
end of the last cell (kernel start-up, about a second, is included: a student pays it too).
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT = 600  # seconds; a cell that runs longer is reported as a failure

MAX_EACH = 30.0  # targets, in seconds
MAX_TOTAL = 90.0

# Left out of the temporary copy: big, or never needed by a notebook.
IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv*",  # also the extra venvs of other Pythons (.venv-3.X)
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "*.egg-info",
)


def run_notebook(path):
    """(seconds, error message or None) for one execution of the notebook at `path`."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,  # jupyter_client starts it with this script's Python
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError:
        error = f"a cell ran longer than {CELL_TIMEOUT} s"
    except CellExecutionError as exc:
        error = f"a cell raised {exc.ename}: {exc.evalue}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = None
    return time.perf_counter() - start, error


def main():
    print(f"Python {sys.version.split()[0]} ({sys.executable}), kernel '{KERNEL}'")
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"No notebooks found in {NOTEBOOKS}: nothing to time.")
        return

    misses = 0
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_notebooks_") as tmp:
        copy = Path(tmp) / REPO.name
        shutil.copytree(REPO, copy, ignore=IGNORE)
        width = max(len(p.name) for p in paths)
        print(f"\n{'notebook':<{width}}  {'seconds':>8}  status")
        print("-" * (width + 30))
        for path in paths:
            seconds, error = run_notebook(copy / "notebooks" / path.name)
            results.append((path.name, seconds, error))
            status = "ok" if error is None else f"ERROR: {error}"
            print(f"{path.name:<{width}}  {seconds:8.1f}  {status}", flush=True)
        total = sum(seconds for _, seconds, _ in results)
        print("-" * (width + 30))
        print(f"{'total':<{width}}  {total:8.1f}")

    print("\nTargets")
    for name, seconds, error in results:
        if error is not None:
            misses += 1
            print(f"  FAIL  {name} did not run to the end: {error}")
        elif seconds > MAX_EACH:
            misses += 1
            print(f"  FAIL  {name} took {seconds:.1f} s (target: under {MAX_EACH:g} s)")
        else:
            print(f"  ok    {name} took {seconds:.1f} s (under {MAX_EACH:g} s)")
    if total > MAX_TOTAL:
        misses += 1
        print(f"  FAIL  all notebooks took {total:.1f} s (target: under {MAX_TOTAL:g} s)")
    else:
        print(f"  ok    all notebooks took {total:.1f} s (under {MAX_TOTAL:g} s)")
    print(f"\n{misses} target(s) missed")
    # A report, never a test: the exit code is 0 whatever the numbers.


if __name__ == "__main__":
    main()
