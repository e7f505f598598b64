"""The learner's copy of the course that `make lab` opens (assignments/learner_copy.py).

- no answer survives in it (no solution line, marker, hidden test or output);
- it is nbgrader's release cell for cell (the student version `make assignments` hands out), so
  the two cannot drift apart;
- building again never touches a learner's notebook, and adds notebooks new in notebooks/;
- an untouched exercise run in the learner's copy gets the checker's feedback, and the copy finds
  `helpers` and the data from any folder;
- `make lab` builds it, then opens JupyterLab on it, and git ignores it.
"""

import importlib.util
import re
import shutil
import subprocess

import nbformat
import pytest
from assignment_support import (
    MARKERS,
    ROOT,
    autograde,
    between,
    discover,
    hand_in,
    nbgrader_meta,
    read,
    release,
    scores,
    source,
    without_markers,
)

_spec = importlib.util.spec_from_file_location("learner_copy", ROOT / "assignments" / "learner_copy.py")
learner_copy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(learner_copy)

COURSE = discover()
STUB = "raise NotImplementedError()"  # the last line of nbgrader's code stub (indented)


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    """A fresh learner folder: {notebook name: path of its learner copy}."""
    folder = tmp_path_factory.mktemp("clone") / "my-notebooks"
    created, kept = learner_copy.build(folder)
    assert kept == [], "a fresh learner folder has nothing to keep"
    return {path.stem: path for path in created}


def test_every_notebook_gets_a_learner_copy(learner):
    assert sorted(learner) == sorted(COURSE.notebooks)


@pytest.mark.parametrize("name", list(COURSE.notebooks))
def test_no_solution_text_survives(name, learner):
    solved = {c["id"]: c for c in read(COURSE.notebooks[name])["cells"]}
    cells = read(learner[name])["cells"]
    assert [c["id"] for c in cells] == list(solved), f"{name}: cells lost, added or reordered"
    for cell in cells:
        text, original = source(cell), source(solved[cell["id"]])
        where = f"{name}, cell {nbgrader_meta(cell).get('grade_id') or cell['id']}"
        assert not any(marker in text for marker in MARKERS), f"{where}: a marker is left"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{where}: outputs left (below a prediction question they give the answer away)")
        lines = {line.strip() for line in text.splitlines()}
        leaked = [line for line in between(original, *MARKERS[:2]) if line in lines]
        assert not leaked, f"{where}: solution lines left in the learner's copy: {leaked}"
        hidden = [line for line in between(original, *MARKERS[2:]) if line in lines]
        assert not hidden, f"{where}: hidden tests left in the learner's copy: {hidden}"
        if nbgrader_meta(cell).get("solution") and cell["cell_type"] == "code":
            assert STUB in text, f"{where}: the exercise has no stub"
        if nbgrader_meta(solved[cell["id"]]):
            assert nbgrader_meta(cell) == nbgrader_meta(solved[cell["id"]]), (
                f"{where}: nbgrader's metadata must be kept (the checker cells rely on it)")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """`make assignments` in a temporary course folder: (folder, {name: released notebook})."""
    pytest.importorskip("nbgrader", reason="nbgrader is in requirements-dev.txt")
    folder = tmp_path_factory.mktemp("nbgrader-course")
    return folder, release(folder)


def test_learner_copy_is_nbgraders_release_cell_for_cell(learner, course):
    """The learner's copy and the instructors' release come from one source and stay equal."""
    _, released = course
    for name, path in released.items():
        ours, theirs = read(learner[name])["cells"], read(path)["cells"]
        assert len(ours) == len(theirs), name
        for mine, nbgraders in zip(ours, theirs):
            where = f"{name}, cell {mine['id']}"
            assert mine["cell_type"] == nbgraders["cell_type"], where
            assert source(mine) == source(nbgraders), where
            assert mine.get("outputs") == nbgraders.get("outputs"), where
            # nbgrader adds the checksum and the cell type it uses to detect edited test cells
            meta = {k: v for k, v in nbgrader_meta(nbgraders).items()
                    if k not in ("checksum", "cell_type")}
            assert nbgrader_meta(mine) == meta, where
            for lock in ("deletable", "editable"):
                assert mine["metadata"].get(lock) == nbgraders["metadata"].get(lock), (where, lock)


def test_a_finished_learner_copy_can_be_handed_in(learner, course):
    """Notebook 02 from my-notebooks/, every answer filled in, autogrades to full points."""
    folder, _ = course
    name = "02_batchnorm_forward"
    solved = {nbgrader_meta(c)["grade_id"]: source(c)
              for c in read(COURSE.notebooks[name])["cells"] if nbgrader_meta(c).get("solution")}
    nb = read(learner[name])
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("solution"):
            cell["source"] = without_markers(solved[nbgrader_meta(cell)["grade_id"]])
    hand_in(folder, "learner", name, nb)
    autograde(folder, name, folder / "gradebook.db", timeout=120, student="learner")
    got = scores(folder / "gradebook.db", name, ["learner"])["learner"]
    full = {grade_id: (points, points) for grade_id, points in COURSE.autograded[name].items()}
    assert {grade_id: score[:2] for grade_id, score in got.items()} == full


def test_building_again_never_overwrites_a_learners_notebook(tmp_path):
    folder = tmp_path / "my-notebooks"
    first, _ = learner_copy.build(folder)
    mine, gone = first[1], first[2]
    nb = nbformat.read(mine, as_version=4)
    answer = next(c for c in nb.cells if nbgrader_meta(c).get("solution"))
    answer.source = answer.source.replace(STUB, "return 'my own answer'")
    nbformat.write(nb, mine)
    edited = mine.read_bytes()
    gone.unlink()  # as if notebooks/ had gained a notebook since the first build

    created, kept = learner_copy.build(folder)

    assert mine.read_bytes() == edited, "the learner's edited notebook was changed"
    assert created == [gone], "only the notebook missing from the learner folder is added"
    assert sorted(kept) == sorted(set(first) - {gone})
    fresh = learner_copy.learner_notebook(nbformat.read(COURSE.notebooks[gone.stem], as_version=4))
    assert nbformat.read(gone, as_version=4) == fresh


@pytest.fixture(scope="module")
def untouched_02(learner):
    """Notebook 02's learner copy run untouched, from its own folder, up to batch_norm's checker.

    It also shows that a learner copy finds `helpers` and the data outside notebooks/ (helpers is
    installed by requirements.txt; the data is the package's).
    """
    nbclient = pytest.importorskip("nbclient")
    path = learner["02_batchnorm_forward"]
    nb = nbformat.read(path, as_version=4)
    last = next(i for i, c in enumerate(nb.cells)
                if nbgrader_meta(c).get("grade_id") == "batch_norm_test")
    nb.cells = nb.cells[:last + 1]
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _errors(nb):
    return {c.id: o for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"}


def _checker_feedback(nb, grade_id):
    """(the error of the checker cell grade_id, or None; what the checker printed)."""
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return _errors(nb).get(cell.id), printed


def test_only_stubs_and_their_checkers_fail_in_an_untouched_copy(untouched_02):
    nb = untouched_02
    allowed = {c.id for c in nb.cells if nbgrader_meta(c) or "batch_norm(" in c.source}
    unexpected = {i: f"{e.ename}: {e.evalue}" for i, e in _errors(nb).items() if i not in allowed}
    assert not unexpected, f"only stubs and the cells that use them may fail: {unexpected}"


def test_untouched_exercise_gets_the_checkers_feedback(untouched_02):
    error, printed = _checker_feedback(untouched_02, "batch_norm_test")
    assert error is not None and error.ename == "AssertionError", (
        f"the checker must report and return False, not crash: "
        f"{error and (error.ename, error.evalue)}; it printed:\n{printed}")
    assert "raise NotImplementedError()" in printed, (
        f"the checker should say the stub is still there; it printed:\n{printed}")


def test_untouched_prediction_is_told_it_has_no_answer_yet(untouched_02):
    """nbgrader's stub replaces the answer, so an untouched prediction cell defines nothing
    unless it sets its variable to ... above ### BEGIN SOLUTION; then the checker says "You have
    not answered yet" instead of the checker cell failing with a NameError."""
    checkers = [nbgrader_meta(c)["grade_id"] for c in untouched_02.cells
                if nbgrader_meta(c).get("grade_id", "").startswith("predict_")
                and nbgrader_meta(c).get("grade")]
    if not checkers:
        pytest.skip("notebook 02 has no prediction question before its exercise yet")
    for grade_id in checkers:
        error, printed = _checker_feedback(untouched_02, grade_id)
        assert error is not None and error.ename == "AssertionError", (
            f"{grade_id}: the checker must report and return False, not crash: "
            f"{error and (error.ename, error.evalue)}; it printed:\n{printed}")
        assert "have not answered" in printed, f"{grade_id}: it printed:\n{printed}"


@pytest.mark.parametrize("name", list(COURSE.notebooks))
def test_every_untouched_prediction_leaves_its_variable_unanswered(name, learner):
    """The cheap twin of the test above, for every notebook: each prediction cell of the
    learner's copy, run as it is, sets the variable its checker reads to ... (or None)."""
    cells = read(learner[name])["cells"]
    checked = 0
    for index, cell in enumerate(cells):
        found = re.search(r"check_prediction\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)\s*\)", source(cell))
        if not (found and nbgrader_meta(cell).get("grade")):
            continue
        answer = next(c for c in reversed(cells[:index]) if nbgrader_meta(c).get("solution"))
        namespace = {}
        with pytest.raises(NotImplementedError):  # nbgrader's stub
            exec(source(answer), namespace)
        variable = found.group(2)
        assert variable in namespace and namespace[variable] in (None, ...), (
            f"{name}, {nbgrader_meta(answer)['grade_id']}: set {variable} = ... above "
            f"### BEGIN SOLUTION, so that an untouched prediction is told it has no answer yet "
            f"(the stub replaces everything between the markers)")
        checked += 1
    if not checked:
        pytest.skip(f"{name} has no prediction question yet")


def test_make_lab_builds_the_learner_copy_and_opens_it():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -n: print the commands only; -o: as if the environment were installed
    # --no-print-directory: under `make test` this make is a sub-make, which would otherwise
    # print "make[1]: Entering directory ..." lines around the commands
    out = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.course-installed",
                          "lab"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    build, lab = out[-2], out[-1]
    assert "assignments/learner_copy.py --to my-notebooks" in build, out
    assert "jupyter lab" in lab and "--ServerApp.root_dir=my-notebooks" in lab, out


def test_git_ignores_the_learner_copy():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", "my-notebooks/02_batchnorm_forward.ipynb"],
                             cwd=ROOT)
    assert ignored.returncode == 0, "my-notebooks/ must be in .gitignore (it holds a learner's work)"
