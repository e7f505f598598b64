"""The course without TensorFlow: every notebook runs top to bottom in a kernel where `import
tensorflow` and `import keras` fail, as on a machine where they were never installed. No cell ends
in an error; the notebooks that use TensorFlow print the install note (helpers.tf_reference's
INSTALL_NOTE) instead, and the cells that do not need it still compute their results.

The kernel is this test's own Python with a sitecustomize module on PYTHONPATH that makes both
imports raise ModuleNotFoundError (so do the separate processes the notebooks start, which inherit
the variable); TensorFlow itself stays installed for the other tests.
"""

import json
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.notebook import SKIPPED
from helpers.tf_reference import INSTALL_NOTE

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

BLOCKER = textwrap.dedent('''
    import sys

    class NoTensorFlow:
        """Import finder that acts as if TensorFlow and Keras were not installed."""

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTensorFlow())
''')


def uses_tensorflow(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any("import_tensorflow" in "".join(c["source"]) for c in cells
               if c["cell_type"] == "code")


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory):
    """Environment variables under which `import tensorflow` fails, in the kernel and its children."""
    shim = tmp_path_factory.mktemp("no_tensorflow")
    (shim / "sitecustomize.py").write_text(BLOCKER)
    return str(shim)


def outputs_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_the_blocker_blocks_tensorflow(without_tensorflow):
    import os
    import subprocess
    import sys

    probe = ("import helpers.tf_reference as t\n"
             "print(t.tensorflow_available())\n"
             "try:\n    t.import_tensorflow()\nexcept t.TensorFlowUnavailable as e:\n"
             "    print(isinstance(e, ImportError), 'pip install tensorflow' in str(e))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": without_tensorflow})
    assert out.stdout.split() == ["False", "True", "True"], out.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_to_the_end_without_tensorflow(path, without_tensorflow, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", without_tensorflow)
    nb = nbformat.read(path, as_version=4)
    committed = [bool(c.outputs) for c in nb.cells if c.cell_type == "code"]
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(c.source[:80], o.get("ename")) for c in code for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
    noted = [c for c in code if INSTALL_NOTE in outputs_text(c)]
    skipped = [c for c in code if SKIPPED in outputs_text(c)]
    if uses_tensorflow(path):
        # The whole note once, at the first cell that needs TensorFlow; later ones say one line.
        assert len(noted) == 1, [c.source[:80] for c in noted]
        assert code.index(noted[0]) < min((code.index(c) for c in skipped), default=len(code))
    else:
        assert not noted and not skipped
    # Every other cell still computes: a cell with stored outputs that was not skipped has
    # outputs now.
    silent = [c.source[:80] for c, had in zip(code, committed)
              if had and not c.outputs and c not in noted and c not in skipped]
    assert not silent


# ------------------------------------------- the cell guard itself, in an in-process IPython shell
@pytest.fixture
def guarded_shell(capsys):
    """An IPython shell with helpers.notebook's guard installed, and a way to run a cell in it:
    run(source) -> (succeeded, value displayed, text printed)."""
    from IPython.core.interactiveshell import InteractiveShell

    from helpers.notebook import skip_cells_without_tensorflow

    shell = InteractiveShell()
    skip_cells_without_tensorflow(shell)
    skip_cells_without_tensorflow(shell)  # twice changes nothing
    shell.run_cell("from helpers.tf_reference import TensorFlowUnavailable, INSTALL_NOTE")

    def run(source):
        capsys.readouterr()
        result = shell.run_cell(source, store_history=True)
        return result.success, result.result, capsys.readouterr().out

    yield run
    InteractiveShell.clear_instance()


def test_guard_keeps_ordinary_cells_as_they_were(guarded_shell):
    assert guarded_shell("x = 20\nx + 1")[:2] == (True, 21)       # last expression displayed
    assert guarded_shell("x + 1;")[:2] == (True, None)             # ';' still hides it
    ok, _, printed = guarded_shell("undefined_name + 1")           # a real mistake still fails
    assert not ok and "NameError" in printed
    ok, _, printed = guarded_shell("1 / 0")
    assert not ok and "ZeroDivisionError" in printed


def test_guard_turns_missing_tensorflow_into_one_note_and_skips_what_depends_on_it(guarded_shell):
    cell = "z = 3\nraise TensorFlowUnavailable(INSTALL_NOTE)\nz_tf = 4"
    ok, _, printed = guarded_shell(cell)
    assert ok and printed.strip() == INSTALL_NOTE
    assert guarded_shell("z")[:2] == (True, 3)                     # what ran before stays
    ok, _, printed = guarded_shell("print(z_tf + 1)")              # a result of the skipped cell
    assert ok and printed.strip() == SKIPPED
    ok, _, printed = guarded_shell("tf.constant(1)")
    assert ok and printed.strip() == SKIPPED
    ok, _, printed = guarded_shell("import tensorflow_blocked")
    assert not ok and "ModuleNotFoundError" in printed             # other modules: an error
    ok, _, printed = guarded_shell("raise ModuleNotFoundError('x', name='keras.layers')")
    assert ok and printed.strip() == SKIPPED
    ok, _, printed = guarded_shell("z_other + 1")                  # not from a skipped cell
    assert not ok and "NameError" in printed
