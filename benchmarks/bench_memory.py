"""How much memory does each notebook's kernel take at its peak?

A report, not a test: it prints a table and the target, and always exits with code 0.

    .venv/bin/python benchmarks/bench_memory.py [notebooks/02_*.ipynb ...]

Every notebooks/*.ipynb (or the ones named) is executed with nbclient, as in
bench_notebooks.py: in the Jupyter kernel `python3` of the Python that runs this script, in a
temporary copy of the repository. While it runs, a thread samples every 20 ms the resident set
size (RSS) of the kernel process and of the kernel with all its child processes (psutil).

- kernel: the peak RSS of the kernel process itself, what an open notebook costs a JupyterHub
  node for as long as it stays open;
- with children: the peak of the kernel plus the processes it started, summed at each sample.
  Notebooks 02 and 04 compare our numbers with TensorFlow's in a separate Python process
  (helpers.tf_reference.in_separate_process), which holds TensorFlow for a few seconds and exits;
- after: the kernel's RSS once the last cell has run.

Target: every notebook that does not need TensorFlow in its kernel (all but 07, whose subject it
is, and 09, whose four logical devices must be set up in the kernel) keeps it under 200 MiB.
"""

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

REPO = Path(__file__).resolve().parents[1]
KERNEL = "python3"
CELL_TIMEOUT = 600  # seconds
SAMPLE_EVERY = 0.02  # seconds
MIB = 2**20
TARGET_MIB = 200
# TensorFlow in the kernel by design: 07 is about it, 09 sets up its 4 logical devices there
ABOUT_TENSORFLOW = ("07_", "09_")

IGNORE = shutil.ignore_patterns(".git", ".venv*", "__pycache__", ".pytest_cache", ".hypothesis",
                                ".ipynb_checkpoints", "*.egg-info", "build")


class PeakSampler(threading.Thread):
    """Samples the RSS of one process and of its process tree until stopped; keeps the peaks."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.kernel = self.tree = self.last = 0
        self._done = threading.Event()

    def sample(self):
        try:
            rss = self.process.memory_info().rss
            total = rss
            for child in self.process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # the child exited between listing and reading
                    pass
        except psutil.Error:
            return
        self.last = rss
        self.kernel = max(self.kernel, rss)
        self.tree = max(self.tree, total)

    def run(self):
        while not self._done.is_set():
            self.sample()
            time.sleep(SAMPLE_EVERY)

    def stop(self):
        self._done.set()
        self.join()
        self.sample()


def measure(path):
    """(kernel peak, tree peak, kernel after, seconds, error or None), memory in bytes."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    start = time.perf_counter()
    with client.setup_kernel():
        sampler = PeakSampler(client.km.provisioner.pid)
        sampler.start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except (CellExecutionError, CellTimeoutError) as exc:
            error = str(exc).strip().splitlines()[-1][:100]
        finally:
            sampler.stop()
    return sampler.kernel, sampler.tree, sampler.last, time.perf_counter() - start, error


def main(names):
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "course"
        shutil.copytree(REPO, copy, ignore=IGNORE)
        paths = ([copy / "notebooks" / Path(n).name for n in names] if names
                 else sorted((copy / "notebooks").glob("*.ipynb")))
        print(f"Peak resident memory of each notebook's kernel (Python {sys.version.split()[0]}, "
              f"sampled every {SAMPLE_EVERY * 1000:.0f} ms), MiB\n")
        print(f"{'notebook':<36} {'kernel':>7} {'with children':>14} {'after':>6} {'seconds':>8}"
              f"  target")
        for path in paths:
            kernel, tree, after, seconds, error = measure(path)
            if error:
                verdict = f"FAIL: {error}"
            elif path.name.startswith(ABOUT_TENSORFLOW):
                verdict = "(about TensorFlow: no target)"
            else:
                verdict = "ok" if kernel < TARGET_MIB * MIB else f"FAIL (>= {TARGET_MIB} MiB)"
            print(f"{path.stem:<36} {kernel / MIB:>7.0f} {tree / MIB:>14.0f} {after / MIB:>6.0f} "
                  f"{seconds:>8.1f}  {verdict}")
    print(f"\nTarget: a notebook that is not about TensorFlow keeps its kernel under "
          f"{TARGET_MIB} MiB.")


if __name__ == "__main__":
    main(sys.argv[1:])
