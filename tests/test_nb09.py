"""What only notebook 09's cells show: its layout (the fold is derived after the graded exercise,
the NumPy sections run without TensorFlow's variables), its explorer's numbers, and its
predict-then-run question (asked before the experiment; the accepted answer is what it prints).
"""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers.explorers.practice import ReplicaStatisticsExplorer

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09_batchnorm_in_practice.ipynb"


@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def is_tensorflow_cell(cell):
    text = source(cell)
    return cell["cell_type"] == "code" and any(
        word in text for word in ("tf_practice.", "keras", "tf."))


def assigned_names(text):
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def used_names(text):
    return {node.id for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def test_numpy_cells_do_not_need_tensorflow_cells(cells):
    """Without TensorFlow its cells print a note and define nothing: the NumPy cells must not
    read a name that only a TensorFlow cell defines."""
    code = [c for c in cells if c["cell_type"] == "code"][1:]      # after the setup cell
    tf_only = set().union(*(assigned_names(source(c)) for c in code if is_tensorflow_cell(c)))
    tf_only -= set().union(*(assigned_names(source(c)) for c in code if not is_tensorflow_cell(c)))
    assert {"tf", "keras", "model"} <= tf_only
    for cell in code:
        if not is_tensorflow_cell(cell):
            assert not used_names(source(cell)) & tf_only, source(cell)[:300]


def test_the_fold_is_revealed_only_after_the_graded_cell(cells):
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
    graded = ids.index("fold_batchnorm_test")
    before = " ".join(source(c) for c in cells[:graded] if c["cell_type"] == "markdown")
    for formula in ("gamma / np.sqrt", "sqrt(running_var + eps)", "W * scale", "\\sqrt{\\sigma"):
        assert formula not in before
    after = " ".join(source(c) for c in cells[graded:] if c["cell_type"] == "markdown")
    assert "\\sqrt{\\sigma^2 + \\epsilon}" in after


def test_the_solution_cell_passes_its_checker(cells):
    from helpers.checks.folding import check_fold_batchnorm

    solution = next(source(c) for c in cells
                    if c["metadata"].get("nbgrader", {}).get("grade_id") == "fold_batchnorm")
    namespace = {"np": np}
    exec(solution, namespace)
    assert check_fold_batchnorm(namespace["fold_batchnorm"])


@pytest.fixture(scope="module")
def explorer():
    z = np.random.default_rng(0).normal(3.0, 2.0, size=(600, 5))
    return ReplicaStatisticsExplorer(z, per_replica=(2, 8), replicas=(1, 4), draws=300)


def test_explorer_synchronized_spread_is_per_replica_over_sqrt_devices(explorer):
    for m in (2, 8):
        four = explorer.compute({"per_replica": m, "replicas": 4})
        one = explorer.compute({"per_replica": m, "replicas": 1})
        assert four["global_batch"] == 4 * m
        ratio = four["spread"]["per-replica"] / four["spread"]["synchronized"]
        assert ratio == pytest.approx(2.0, rel=0.15)
        assert one["spread"]["per-replica"] == pytest.approx(one["spread"]["synchronized"])
        # a batch mean of m values from a population with std 1 spreads by about 1 / sqrt(m)
        assert four["spread"]["per-replica"] == pytest.approx(1 / np.sqrt(m), rel=0.15)
    assert sum(four["heights"]["synchronized"]) == pytest.approx(100.0, abs=1.0)


def test_explorer_redraws_and_rejects_unknown_settings(explorer):
    explorer.sliders["per_replica"].value = 8
    assert explorer.result["per_replica"] == 8 and "synchronized BN" in explorer.readout.value
    with pytest.raises(ValueError, match="per_replica"):
        explorer.compute({"per_replica": 3, "replicas": 4})


# ----------------------------------------------------------------------------- the question
QUESTION = "reestimation_after_finetuning"


def graded_cells(cells):
    return {c["metadata"]["nbgrader"]["grade_id"]: (i, c) for i, c in enumerate(cells)
            if "nbgrader" in c["metadata"]}


def printed(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


def test_the_question_is_graded_before_the_experiment_that_answers_it(cells):
    graded = graded_cells(cells)
    (i, solution), (j, test) = (graded[f"predict_{QUESTION}"],
                                graded[f"predict_{QUESTION}_test"])
    assert solution["metadata"]["nbgrader"] == {
        "grade": False, "solution": True, "locked": False,
        "grade_id": f"predict_{QUESTION}", "schema_version": 3}
    assert test["metadata"]["nbgrader"] == {
        "grade": True, "solution": False, "locked": True,
        "grade_id": f"predict_{QUESTION}_test", "points": 1, "schema_version": 3}
    assert f'assert check_prediction("{QUESTION}", recovered_prediction)' in source(test)
    # untouched in the learner's copy: the variable is set to ... above the solution markers
    before, _, _ = source(solution).partition("### BEGIN SOLUTION")
    assert "recovered_prediction = ..." in before
    reveal = next(k for k, c in enumerate(cells) if "re-estimated on the original training "
                  "images" in printed(c))
    assert cells[i - 1]["cell_type"] == "markdown" and i < j < reveal
    asked = " ".join(source(c) for c in cells[:j] if c["cell_type"] == "markdown")
    assert "most of them" not in asked.replace('"most of them"', "")  # no answer before it


def test_the_accepted_answer_is_what_the_experiment_prints(cells):
    """The answer and the explanation ("most of them", "about three quarters", "80 steps")
    against the notebook's own output: mean accuracy on the original images before
    fine-tuning, after it with BN in training mode, and with its statistics re-estimated."""
    from helpers.checks import check_prediction
    from helpers.checks.predictions import PREDICTIONS

    question = PREDICTIONS[QUESTION]
    right = [choice for choice, feedback in question["choices"].items() if feedback is None]
    assert right == ["most of them"]
    graded = graded_cells(cells)
    namespace = {}
    exec(source(graded[f"predict_{QUESTION}"][1]), namespace)
    assert namespace["recovered_prediction"] == "most of them"
    assert check_prediction(QUESTION, namespace["recovered_prediction"])

    cell = next(c for c in cells if "re-estimated on the original training images" in printed(c))
    text = printed(cell)
    original = {}
    for label in ("pretrained", "BN training mode"):
        row = re.search(rf"^{label}\s+[\d.]+ ± [\d.]+ \([^)]*\)\s+([\d.]+) ±", text, re.M)
        original[label] = float(row.group(1))
    original["re-estimated"] = float(re.search(r"re-estimated .*original images ([\d.]+) ±",
                                               text).group(1))
    lost = original["pretrained"] - original["BN training mode"]
    back = original["re-estimated"] - original["BN training mode"]
    assert lost > 1.0
    assert 0.6 < back / lost < 0.9        # "most of them", "about three quarters"
    _, n_new, batch, epochs = (int(v) for v in re.search(
        r"N_PRE, N_NEW, FT_BATCH, FT_EPOCHS = ([\d, ]+)", source(cell)).group(1).split(", "))
    assert n_new // batch * epochs == 80 and "80 steps" in question["explanation"]
