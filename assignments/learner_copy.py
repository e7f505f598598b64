"""Build the learner's copy of the course, the notebooks `make lab` opens: exercises, no answers.

notebooks/ holds the solution notebooks (for readers and instructors). `make lab` first runs this
script, which copies each of them into the learner folder (default my-notebooks/, ignored by
git) the way nbgrader makes the student version for `make assignments`:
- the code between ### BEGIN SOLUTION and ### END SOLUTION becomes nbgrader's stub
  (`# YOUR CODE HERE` and `raise NotImplementedError()`, indented like the markers); a solution
  cell without markers becomes the stub as a whole (`YOUR ANSWER HERE` in a markdown cell);
- hidden tests (### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS) are removed;
- every output is cleared, not only the exercises': the output of the experiment below a
  prediction question would give its answer away;
- nbgrader's cell metadata is kept and the cells are locked as in nbgrader's release (a checker
  cell cannot be edited or deleted by accident), so running the checker cell below an exercise
  still tells the learner what is wrong with their answer.

Each notebook is copied once and never overwritten: a notebook already in the learner folder
holds the learner's work and is left alone (through `git pull` and every later `make lab`); a
notebook that is new in notebooks/ is added. To start a notebook afresh, delete or rename your
copy and run `make lab` again.

It runs in the students' environment (requirements.txt: nbformat and traitlets come with
JupyterLab; nbgrader is not needed). The stubs and markers are read from nbgrader_config.py
beside this file, the configuration `make assignments` gives nbgrader, and
tests/test_learner_copy.py checks the copy cell for cell against nbgrader's own release.

    python assignments/learner_copy.py [--to my-notebooks] [--notebooks notebooks]
"""

import argparse
import copy
import os
import re
from pathlib import Path

import nbformat
from traitlets.config import Config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = HERE / "nbgrader_config.py"
LEARNER_DIR = ROOT / "my-notebooks"

# nbgrader's defaults (nbgrader 0.9: ClearSolutions, ClearHiddenTests), used where the course's
# nbgrader_config.py does not set a value.
DEFAULTS = {
    "code_stub": {"python": "# YOUR CODE HERE\nraise NotImplementedError()"},
    "text_stub": "YOUR ANSWER HERE",
    "begin_solution": "BEGIN SOLUTION",
    "end_solution": "END SOLUTION",
    "begin_hidden": "BEGIN HIDDEN TESTS",
    "end_hidden": "END HIDDEN TESTS",
}


def stubs(config_path=CONFIG):
    """The stubs and markers of the course's nbgrader configuration, nbgrader's defaults else."""
    config = Config()
    exec(Path(config_path).read_text(encoding="utf-8"),  # a traitlets config file is Python
         {"get_config": lambda: config})
    solutions, hidden = config.ClearSolutions, config.ClearHiddenTests
    return {
        "code_stub": {**DEFAULTS["code_stub"], **solutions.get("code_stub", {})},
        "text_stub": solutions.get("text_stub", DEFAULTS["text_stub"]),
        "begin_solution": solutions.get("begin_solution_delimeter", DEFAULTS["begin_solution"]),
        "end_solution": solutions.get("end_solution_delimeter", DEFAULTS["end_solution"]),
        "begin_hidden": hidden.get("begin_test_delimeter", DEFAULTS["begin_hidden"]),
        "end_hidden": hidden.get("end_test_delimeter", DEFAULTS["end_hidden"]),
    }


def replace_regions(text, begin, end, stub_lines, where):
    """(text with each begin..end region replaced by stub_lines, whether there was a region).

    The marker lines go too; the stub is indented like the begin marker (so it stays inside
    the function whose body it replaces). stub_lines=() just removes the regions.
    """
    kept, inside, found = [], False, False
    for line in text.split("\n"):
        if begin in line:
            if inside:
                raise ValueError(f"{where}: {begin!r} inside another {begin!r} region.")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)
            kept += [indent + stub for stub in stub_lines]
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{where}: {begin!r} without its {end!r}.")
    return "\n".join(kept), found


def learner_cell(cell, marks, language, where):
    """The learner's version of one cell (a new cell; `cell` is not modified)."""
    cell = copy.deepcopy(cell)
    meta = cell.metadata.get("nbgrader", {})
    is_solution, is_grade = bool(meta.get("solution")), bool(meta.get("grade"))
    stub = marks["code_stub"][language] if cell.cell_type == "code" else marks["text_stub"]
    cell.source, replaced = replace_regions(cell.source, marks["begin_solution"],
                                            marks["end_solution"], stub.split("\n"), where)
    if replaced and not is_solution:
        raise ValueError(f"{where}: a solution region in a cell that is not a solution cell.")
    if is_solution and not replaced:
        cell.source = stub  # a solution cell without markers is an answer as a whole
    cell.source, removed = replace_regions(cell.source, marks["begin_hidden"],
                                           marks["end_hidden"], (), where)
    if removed and not is_grade:
        raise ValueError(f"{where}: hidden tests in a cell that is not a graded cell.")
    # Locked as in nbgrader's release (LockCells): answers cannot be deleted, checkers cannot
    # be edited or deleted.
    if is_solution:
        cell.metadata["deletable"] = False
    elif is_grade or meta.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
        for key in ("collapsed", "scrolled", "execution"):  # about the outputs and the last run
            cell.metadata.pop(key, None)
    return cell


def learner_notebook(nb, marks=None, name="notebook"):
    """The learner's version of a notebook (a nbformat NotebookNode; `nb` is not modified)."""
    marks = marks or stubs()
    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    if language not in marks["code_stub"]:
        raise ValueError(f"{name}: no code stub for the kernel language {language!r}.")
    nb = copy.deepcopy(nb)
    nb.cells = [learner_cell(cell, marks, language,
                             f"{name}, cell {cell.get('id') or index}")
                for index, cell in enumerate(nb.cells)]
    nb.metadata.pop("widgets", None)  # the saved state of sliders whose outputs are gone
    nb.metadata.pop("celltoolbar", None)
    return nb


def build(learner_dir=LEARNER_DIR, notebooks_dir=ROOT / "notebooks"):
    """Add the learner's copy of every notebook that is not in learner_dir yet.

    Returns (created, kept): the paths written and the paths left as they were.
    """
    learner_dir = Path(learner_dir)
    sources = sorted(Path(notebooks_dir).glob("*.ipynb"))
    if not sources:
        raise SystemExit(f"no notebooks in {notebooks_dir}")
    learner_dir.mkdir(parents=True, exist_ok=True)
    marks = stubs()
    created, kept = [], []
    for source in sources:
        target = learner_dir / source.name
        if target.exists():  # the learner's work: never touched
            kept.append(target)
            continue
        nb = learner_notebook(nbformat.read(source, as_version=4), marks, source.name)
        nbformat.validate(nb)
        partial = target.with_name(f".{target.name}.partial")
        nbformat.write(nb, partial)
        os.replace(partial, target)  # whole or not at all, even if interrupted
        created.append(target)
    return created, kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", default=LEARNER_DIR, type=Path,
                        help="the learner folder (default: my-notebooks)")
    parser.add_argument("--notebooks", default=ROOT / "notebooks", type=Path,
                        help="folder of the solution notebooks (default: notebooks)")
    args = parser.parse_args()
    created, kept = build(args.to, args.notebooks)
    print(f"{os.path.relpath(args.to)}/: your copy of the course, exercises to do (the solutions "
          f"stay in notebooks/)")
    if created:
        print(f"  added: {', '.join(path.name for path in created)}")
    if kept:
        print(f"  kept as they are: {len(kept)} notebook(s) (never overwritten; to start one "
              f"afresh, delete or rename it and run this again)")


if __name__ == "__main__":
    main()
