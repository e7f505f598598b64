"""Reading a submission without running it: its exercises, their code, their points.

Everything the grader needs from a notebook is read as text (json, ast), never executed here:

    exercises(source_nb)      the course's exercises, from the SOURCE notebook (notebooks/NN_*):
                              each solution cell (nbgrader solution, not grade) by its grade_id,
                              its graded test cells below it (up to the next exercise) with their
                              points, and what each test cell checks (checker, the name it passes)
    prelude(source_nb, cells) the course's statements the solution cells rely on: the top-level
                              imports of the source's non-graded code cells, and the assignments
                              there that bind a name the solutions use (07's `keras`)
    solution_sources(nb, ex)  the submitted code of each exercise, by grade_id (None if missing),
                              with IPython syntax (%magic, !shell) turned into plain Python
    function_def(source, name) the `def name` of a solution cell (for its signature and source)

Test cells are read from the source notebook: a student may have edited the submitted copy.
"""

import ast
import json
import symtable
from dataclasses import dataclass, field

__all__ = ["Exercise", "NotebookError", "TestCell", "exercises", "function_def", "plain_python",
           "prelude", "read_notebook", "solution_sources"]


class NotebookError(ValueError):
    """A file that is not a readable notebook, with what was wrong."""


@dataclass(frozen=True)
class TestCell:
    """One graded test cell: its grade_id, points, and the check it runs.

    checker: the helpers.checks function it calls (e.g. "check_batch_norm"), or None if the
    cell calls none; name: the student's name it passes (a function, or for check_prediction
    the answer variable); question: check_prediction's question id, else None.
    """

    grade_id: str
    points: float
    checker: str | None
    name: str | None
    question: str | None = None


@dataclass(frozen=True)
class Exercise:
    """A solution cell (grade_id) and the graded test cells that belong to it."""

    grade_id: str
    tests: tuple = field(default_factory=tuple)


def read_notebook(path):
    """The notebook at path as a dict; NotebookError saying what is wrong otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            notebook = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise NotebookError(f"{path} is not a notebook (a JSON .ipynb file): "
                            f"{type(error).__name__}: {error}") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a notebook: expected a JSON object with a list "
                            f"'cells'.")
    return notebook


def cell_source(cell):
    text = cell.get("source", "") if isinstance(cell, dict) else ""
    return text if isinstance(text, str) else "".join(str(line) for line in text)


def nbgrader(cell):
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    value = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return value if isinstance(value, dict) else {}


def is_exercise(cell):
    meta = nbgrader(cell)
    return bool(meta.get("solution")) and not meta.get("grade") and bool(meta.get("grade_id"))


def is_test(cell):
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and bool(meta.get("grade_id"))


def test_call(source):
    """(checker, name, question) of the check a test cell runs, read with ast (not run)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, None, None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id.startswith("check_")):
            continue
        args = node.args
        if node.func.id == "check_prediction" and len(args) == 2 and isinstance(
                args[0], ast.Constant) and isinstance(args[1], ast.Name):
            return node.func.id, args[1].id, args[0].value
        if args and isinstance(args[0], ast.Name):
            return node.func.id, args[0].id, None
    return None, None, None


def exercises(source_notebook):
    """The exercises of the course's source notebook, in order (see TestCell, Exercise)."""
    found, current = [], None
    for cell in source_notebook["cells"]:
        if is_exercise(cell):
            current = {"grade_id": nbgrader(cell)["grade_id"], "tests": []}
            found.append(current)
        elif is_test(cell) and current is not None and cell.get("cell_type") == "code":
            meta = nbgrader(cell)
            checker, name, question = test_call(cell_source(cell))
            current["tests"].append(TestCell(meta["grade_id"], float(meta.get("points", 0)),
                                             checker, name, question))
    return [Exercise(e["grade_id"], tuple(e["tests"])) for e in found]


def plain_python(source):
    """IPython cell text as plain Python (%magic -> get_ipython().run_line_magic(...)).

    Text only (IPython's own transformer); the child defines get_ipython() as a stub."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot transform: the child reports the syntax error
        return source


def solution_sources(notebook, wanted):
    """{grade_id: plain-Python source or None (no such solution cell)} for the wanted ids."""
    by_id = {}
    for cell in notebook["cells"]:
        meta = nbgrader(cell)
        if meta.get("solution") and meta.get("grade_id") in wanted and cell.get(
                "cell_type") == "code":
            by_id.setdefault(meta["grade_id"], plain_python(cell_source(cell)))
    return {grade_id: by_id.get(grade_id) for grade_id in wanted}


def bound_names(node):
    """Names a top-level statement binds (imports, plain assignment targets, defs)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else []
    return {sub.id for target in targets for sub in ast.walk(target)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)}


def used_names(source):
    """The global names a piece of code uses (not its functions' parameters and locals)."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. 1000-deep nesting
        return set()
    used, tables = set(), [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table is top or symbol.is_global()):
                used.add(symbol.get_name())
    return used


def prelude(source_notebook, solution_texts):
    """The course's statements (source text, in order) the solution cells rely on.

    The top-level imports of the source's code cells that are neither solution nor graded
    cells, and the top-level assignments there that only use imported names and bind a name
    the solutions use but no import binds (e.g. 07's `tf, keras = import_tensorflow(seed=0)`).
    Only what binds a name the solutions (or those assignments) use is kept: importing the
    explorers and Matplotlib would cost seconds per submission for nothing.
    """
    imports, assignments = [], []
    for cell in source_notebook["cells"]:
        meta = nbgrader(cell)
        if cell.get("cell_type") != "code" or meta.get("solution") or meta.get("grade"):
            continue
        try:
            tree = ast.parse(plain_python(cell_source(cell)))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
            elif isinstance(node, ast.Assign):
                assignments.append(node)
    imported = set().union(*(bound_names(node) for node in imports))
    needed = set().union(*(used_names(text) for text in solution_texts if text))
    kept = []
    for node in assignments:
        names, uses = bound_names(node), used_names(ast.unparse(node.value))
        if names & (needed - imported) and uses <= imported:
            kept.append(node)
            needed = (needed - names) | uses
    imports = [node for node in imports if bound_names(node) & needed]
    return [ast.unparse(node) for node in imports + kept]


def function_def(source, name):
    """The last top-level `def name` of a solution cell's source, or None."""
    try:
        tree = ast.parse(source or "")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef)
             and node.name == name]
    return found[-1] if found else None
