"""The verified grading (helpers.grading.verify): right work gets its points, wrong work, cheats
and broken submissions do not, and nothing a submission does escapes its child process.

Submissions are the committed solution notebooks (right answers) and copies of them, in
tmp_path, with one solution cell's source replaced (wrong, cheating or broken). Every verify
call uses a fresh random secret, so the cases are never the public ones.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.grading.verify import ExerciseResult, SubmissionResult, verify_submission

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB01, NB02, NB09 = (ROOT / "notebooks" / name for name in (
    "01_input_normalization.ipynb", "02_batchnorm_forward.ipynb",
    "09_batchnorm_in_practice.ipynb"))


def new_secret():
    return secrets.token_hex(16)


def cells_by_id(notebook):
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}


def submit(tmp_path, notebook, replace=None, edit=None, name="submission.ipynb"):
    """A copy of notebook in tmp_path/student/, with solution cells' sources replaced
    ({grade_id: source}) and/or edit(notebook_dict) applied; returns its path."""
    data = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells = cells_by_id(data)
    for grade_id, text in (replace or {}).items():
        cells[grade_id]["source"] = textwrap.dedent(text)
    if edit:
        edit(data)
    folder = tmp_path / "student"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def verify(path, source, **options):
    result = verify_submission(path, source, secret=new_secret(), **options)
    assert isinstance(result, SubmissionResult)
    assert all(isinstance(r, ExerciseResult) for r in result.exercises.values())
    return result


def full_points(notebook):
    """{test grade_id: points} of a notebook, read from its metadata (not from the verifier)."""
    data = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return {meta["grade_id"]: float(meta["points"]) for meta in (
        c.get("metadata", {}).get("nbgrader", {}) for c in data["cells"])
        if meta.get("grade") and not meta.get("solution")}


def points(result):
    return {grade_id: r.points for grade_id, r in result.exercises.items()}


def assert_only_lost(result, notebook, lost, reason=None):
    """Every test cell has its full points except those of `lost`, which have 0 (and, if
    given, `reason` in their message or flags)."""
    expected = {g: (0.0 if g in lost else p) for g, p in full_points(notebook).items()}
    assert points(result) == expected, {g: r.message for g, r in result.exercises.items()}
    for grade_id in lost:
        r = result.exercises[grade_id]
        assert not r.passed
        if reason:
            text = (r.message + " " + " ".join(r.flags)).lower()
            assert reason.lower() in text, (reason, r.message, r.flags)


# ----------------------------------------------------------------------------- right answers
TIMES = {}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_solution_notebook_gets_full_points(notebook):
    started = time.monotonic()
    result = verify(notebook, notebook)
    TIMES[notebook.stem] = time.monotonic() - started
    assert result.problems == []
    assert set(result.exercises) == set(full_points(notebook))
    assert_only_lost(result, notebook, lost=())
    assert all(r.flags == [] for r in result.exercises.values())
    print(f"\n{notebook.stem}: verified in {result.seconds:.1f} s")


def test_correct_in_another_style_gets_full_points(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        def batch_norm(z, gamma, beta, eps=1e-5):
            m = z.shape[0]
            mean = np.sum(z, axis=0) / m
            centred = z - mean
            variance = np.sum(centred * centred, axis=0) / m
            return gamma * centred / (variance + eps) ** 0.5 + beta
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=())


def test_a_warning_in_a_right_answer_costs_nothing(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        import warnings
        def batch_norm(z, gamma, beta, eps=1e-5):
            warnings.warn("a note from the student")
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=())
    assert "a note from the student" in result.exercises["batch_norm_test"].message


# ----------------------------------------------------------------------------- wrong answers
def test_an_unanswered_prediction_gets_the_checkers_words(tmp_path):
    path = submit(tmp_path, NB02, {
        "predict_tanh_saturation_at_gamma_1": "tanh_prediction = ...\n"})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=("predict_tanh_saturation_at_gamma_1_test",))
    assert "You have not answered yet" in result.exercises[
        "predict_tanh_saturation_at_gamma_1_test"].message


def test_wrong_answers_lose_exactly_their_points_with_the_hint(tmp_path):
    path = submit(tmp_path, NB02, {
        "batch_norm": """
            def batch_norm(z, gamma, beta, eps=1e-5):
                z_norm = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0, ddof=1) + eps)
                return gamma * z_norm + beta
            """,
        "predict_tanh_saturation_at_gamma_1": 'tanh_prediction = "nearly all"\n'})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=("batch_norm_test", "predict_tanh_saturation_at_gamma_1_test"))
    assert "ddof" in result.exercises["batch_norm_test"].message
    assert "Not quite" in result.exercises["predict_tanh_saturation_at_gamma_1_test"].message


def test_a_wrong_function_with_an_argument_of_the_grader_gets_its_hint(tmp_path):
    """03's numerical_gradient gets f, a function of the checker's: it is called back."""
    nb03 = ROOT / "notebooks" / "03_gamma_beta_identity.ipynb"
    path = submit(tmp_path, nb03, {"numerical_gradient": """
        def numerical_gradient(f, b, h=1e-5):
            grad = np.zeros_like(b)
            for j in range(b.size):
                step = np.zeros_like(b)
                step[j] = h
                grad[j] = (f(b + step) - f(b)) / h
            return grad
        """})
    result = verify(path, nb03)
    assert_only_lost(result, nb03, lost=("numerical_gradient_test",))
    assert "Use the centred difference" in result.exercises["numerical_gradient_test"].message


def test_a_wrong_keras_port_gets_the_checkers_hint(tmp_path):
    """07: the model is built and called in the child, the unchanged checker reads it here."""
    nb07 = ROOT / "notebooks" / "07_batchnorm_in_tensorflow.ipynb"
    data = json.loads(nb07.read_text(encoding="utf-8"))
    right = "".join(cells_by_id(data)["port_to_keras"]["source"])
    assert "epsilon=net.eps, " in right
    path = submit(tmp_path, nb07, {"port_to_keras": right.replace("epsilon=net.eps, ", "")})
    result = verify(path, nb07)
    assert_only_lost(result, nb07, lost=("port_to_keras_test",))
    assert "Keras' default epsilon is 1e-3" in result.exercises["port_to_keras_test"].message


# ----------------------------------------------------------------------------- cheats
WRONG_BN = """
    def batch_norm(z, gamma, beta, eps=1e-5):
        return z
"""

CHEATS_02 = {
    "numpy.allclose patched": "import numpy\nnumpy.allclose = lambda *a, **k: True\n" + WRONG_BN,
    "run_cases replaced": ("import helpers.checks.runner as runner\n"
                           "runner.run_cases = lambda *a, **k: True\n" + WRONG_BN),
    "fake sys.modules": ("import sys, types\nfake = types.ModuleType('helpers.checks')\n"
                         "fake.check_batch_norm = lambda fn: True\n"
                         "sys.modules['helpers.checks'] = fake\n" + WRONG_BN),
    "checker monkeypatched": ("import helpers.checks\n"
                              "helpers.checks.check_batch_norm = lambda fn: True\n" + WRONG_BN),
    "IPython transformer": ("get_ipython().input_transformers_cleanup.append("
                            "lambda lines: ['pass\\n'])\n" + WRONG_BN),
}

# The notebook imports `from helpers import batchnorm` (the course's prelude): each cheat uses it.
REFERENCE_CHEATS = {
    "reference called": """
        def batch_norm(z, gamma, beta, eps=1e-5):
            return batchnorm.batchnorm_forward(z, gamma, beta, eps)[0]
        """,
    "reference imported": """
        batchnorm  # (the notebook's import)
        from helpers.batchnorm import batchnorm_forward
        def batch_norm(z, gamma, beta, eps=1e-5):
            return batchnorm_forward(z, gamma, beta, eps)[0]
        """,
    "reference renamed": """
        normalize = batchnorm.batchnorm_forward
        def batch_norm(z, gamma, beta, eps=1e-5):
            return normalize(z, gamma, beta, eps)[0]
        """,
    "reference partial": """
        import functools
        _forward = functools.partial(batchnorm.batchnorm_forward)
        def batch_norm(z, gamma, beta, eps=1e-5):
            return _forward(z, gamma, beta, eps=eps)[0]
        """,
    "reference wrapped and relabelled": """
        def _wrapped(*args, **kwargs):
            return batchnorm.batchnorm_forward(*args, **kwargs)[0]
        _wrapped.__module__ = "__main__"
        _wrapped.__name__ = _wrapped.__qualname__ = "batch_norm"
        batch_norm = _wrapped
        """,
    "reference in a fake module": """
        import sys, types
        sys.modules["helpers.batchnorm"] = types.ModuleType("my_own_code")
        sys.modules["my_own_code"] = fake = types.ModuleType("my_own_code")
        fake.forward = batchnorm.batchnorm_forward
        def batch_norm(z, gamma, beta, eps=1e-5):
            return sys.modules["my_own_code"].forward(z, gamma, beta, eps)[0]
        """,
}


@pytest.mark.parametrize("cheat", list(CHEATS_02), ids=str)
def test_cheats_on_the_checker_score_0(tmp_path, cheat):
    path = submit(tmp_path, NB02, {"batch_norm": CHEATS_02[cheat]})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=("batch_norm_test",))


@pytest.mark.parametrize("cheat", list(REFERENCE_CHEATS), ids=str)
def test_calls_of_the_reference_score_0(tmp_path, cheat):
    path = submit(tmp_path, NB02, {"batch_norm": REFERENCE_CHEATS[cheat]})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=("batch_norm_test",),
                     reason="calls helpers.batchnorm.batchnorm_forward (the course's reference)")


def test_importing_helpers_the_notebook_did_not_import_is_refused(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        from helpers.normalization import layernorm_forward
        def batch_norm(z, gamma, beta, eps=1e-5):
            return layernorm_forward(z.T, gamma, beta, eps)[0].T
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",),
                     reason="read the course's helpers source")


def test_methods_of_a_helpers_argument_are_allowed_the_reference_is_not(tmp_path):
    """06's reestimate_bn_stats gets a helpers network: net.forward is allowed (the committed
    solution uses it and gets full points above), helpers.probes.reestimate_bn_stats is not."""
    nb06 = ROOT / "notebooks" / "06_why_batchnorm_works.ipynb"
    path = submit(tmp_path, nb06, {"reestimate_bn_stats": """
        def reestimate_bn_stats(net, params, state, X):
            return probes.reestimate_bn_stats(net, params, state, X)
        """})
    assert_only_lost(verify(path, nb06), nb06, lost=("reestimate_bn_stats_test",),
                     reason="calls helpers.probes.reestimate_bn_stats")


def test_the_reference_that_returns_the_answer_itself_scores_0(tmp_path):
    """09's fold_batchnorm is helpers.folding.fold_batchnorm, imported as it is."""
    path = submit(tmp_path, NB09, {"fold_batchnorm": """
        fold_batchnorm = folding.fold_batchnorm
        """})
    assert_only_lost(verify(path, NB09), NB09, lost=("fold_batchnorm_test",),
                     reason="helpers.folding.fold_batchnorm")


def test_a_function_copied_from_helpers_is_flagged_not_scored_0(tmp_path):
    source = (ROOT / "helpers" / "folding.py").read_text()
    start = source.index("def fold_batchnorm(")
    end = source.index("\ndef ", start + 1)
    path = submit(tmp_path, NB09, {"fold_batchnorm": "from helpers.validation import *\n"
                                   + source[start:end]})
    result = verify(path, NB09)
    flags = result.exercises["fold_batchnorm_test"].flags
    assert any("copied from helpers" in flag and "fold_batchnorm" in flag for flag in flags)


def public_outputs():
    """batch_norm's expected outputs on the PUBLIC cases, as a student could compute them."""
    from helpers.batchnorm import batchnorm_forward
    from helpers.checks.cases import batch_norm_cases

    return [(case.args[0], batchnorm_forward(*case.args, **case.kwargs)[0])
            for case in batch_norm_cases()]


def test_hard_coded_public_outputs_pass_in_the_notebook_but_not_verified(tmp_path):
    table = ",\n".join(f"    ({a.tolist()!r}, {b.tolist()!r}, {str(a.dtype)!r})"
                       for a, b in public_outputs())
    code = (f"_TABLE = [\n{table}\n]\n"
            "def batch_norm(z, gamma, beta, eps=1e-5):\n"
            "    for inputs, outputs, dtype in _TABLE:\n"
            "        if np.shape(inputs) == z.shape and np.allclose(inputs, z):\n"
            "            return np.array(outputs, dtype=dtype)\n"
            "    return z\n")
    from helpers.checks import check_batch_norm

    namespace = {"np": np}
    exec(code, namespace)  # the notebook's in-kernel check, on the public cases
    assert check_batch_norm(namespace["batch_norm"])
    path = submit(tmp_path, NB02, {"batch_norm": code})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",))


# ----------------------------------------------------------------------------- bad input
def test_a_file_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "not.ipynb"
    path.write_text("this is not JSON")
    result = verify(path, NB02)
    assert result.problems and "not a notebook" in result.problems[0]
    assert_only_lost(result, NB02, lost=tuple(full_points(NB02)), reason="not a notebook")


def test_no_solution_cells(tmp_path):
    def strip(data):
        for cell in data["cells"]:
            cell.get("metadata", {}).pop("nbgrader", None)

    result = verify(submit(tmp_path, NB02, edit=strip), NB02)
    assert any("no solution cells" in problem for problem in result.problems)
    assert_only_lost(result, NB02, lost=tuple(full_points(NB02)), reason="missing")


def test_a_changed_cell_id(tmp_path):
    def rename(data):
        cells_by_id(data)["batch_norm"]["metadata"]["nbgrader"]["grade_id"] = "my_batch_norm"

    result = verify(submit(tmp_path, NB02, edit=rename), NB02)
    assert_only_lost(result, NB02, lost=("batch_norm_test",), reason="missing")


def test_a_syntax_error(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": "def batch_norm(z, gamma, beta:\n    pass\n"})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",), reason="parse")


def test_magics_and_a_failing_statement_after_the_def(tmp_path):
    """IPython syntax becomes plain Python; a test print using notebook variables fails and is
    skipped, the def above it survives."""
    path = submit(tmp_path, NB02, {"batch_norm": """
        %matplotlib inline
        !echo hello
        def batch_norm(z, gamma, beta, eps=1e-5):
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        print(batch_norm(z_digits, np.ones(3), np.zeros(3)))
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=())


@pytest.mark.parametrize("where", ["in the function", "at the top level of the cell"])
def test_an_infinite_loop_times_out_and_the_rest_is_graded(tmp_path, where):
    loop = ("def batch_norm(z, gamma, beta, eps=1e-5):\n    while True:\n        pass\n"
            if where == "in the function" else "while True:\n    pass\n" + WRONG_BN)
    result = verify(submit(tmp_path, NB02, {"batch_norm": loop}), NB02, timeout=3.0)
    assert_only_lost(result, NB02, lost=("batch_norm_test",), reason="timed out after 3 s")


def test_an_infinite_loop_in_the_first_cell_times_out_alone(tmp_path):
    path = submit(tmp_path, NB02, {"predict_almost_dead_unit_without_eps": "while True:\n    pass\n"})
    result = verify(path, NB02, timeout=3.0)
    assert_only_lost(result, NB02, lost=("predict_almost_dead_unit_without_eps_test",),
                     reason="timed out after 3 s while running the solution cell")


def test_a_forged_answer_in_the_grader_pipe_scores_0(tmp_path):
    """The student's code writes a well-formed 'right answer' frame into every descriptor."""
    path = submit(tmp_path, NB02, {"batch_norm": """
        import json, os, struct
        def batch_norm(z, gamma, beta, eps=1e-5):
            header = json.dumps({"json": {"dict": [["result", None]]}, "buffers": []}).encode()
            for fd in range(3, 64):
                try:
                    os.write(fd, struct.pack(">I", len(header)) + header)
                except OSError:
                    pass
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",), reason="forge")


def test_patching_the_child_harness_changes_nothing(tmp_path):
    """The hooks hold their own copies of what they use: rebinding or clearing the harness
    module's names (reachable as __main__ in the child) does not switch them off."""
    path = submit(tmp_path, NB02, {"batch_norm": """
        import __main__ as harness
        for name in ("REFUSED", "REFUSED_PREFIXES"):
            getattr(harness, name, {}).clear()
        harness.HELPERS_DIR = harness.GRADING_DIR = "/nowhere/"
        harness.reference_name = lambda code: "nothing"
        def batch_norm(z, gamma, beta, eps=1e-5):
            return batchnorm.batchnorm_forward(z, gamma, beta, eps)[0]
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",),
                     reason="calls helpers.batchnorm.batchnorm_forward")


def test_a_fork_bomb_is_refused(tmp_path):
    # Bounded (2 forks at most), so that even a broken guard could not bomb the machine.
    path = submit(tmp_path, NB02, {"batch_norm": """
        import os
        def batch_norm(z, gamma, beta, eps=1e-5):
            for _ in range(2):
                if os.fork() == 0:
                    os._exit(0)
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",), reason="fork")


def test_a_subprocess_is_refused(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        import subprocess
        def batch_norm(z, gamma, beta, eps=1e-5):
            subprocess.run(["true"])
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",),
                     reason="start a process")


def test_a_huge_allocation_fails_in_the_child_only(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        def batch_norm(z, gamma, beta, eps=1e-5):
            hoard = np.ones((200_000, 200_000))
            return z + hoard[0, 0]
        """})
    result = verify(path, NB02, memory_mb=2048)
    assert_only_lost(result, NB02, lost=("batch_norm_test",), reason="MemoryError")


def test_a_stdout_flood_costs_nothing(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        print("spam " * 10**6)
        def batch_norm(z, gamma, beta, eps=1e-5):
            for _ in range(200):
                print("spam " * 10**5)
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    result = verify(path, NB02)
    assert_only_lost(result, NB02, lost=())
    assert len(result.exercises["batch_norm_test"].message) < 2000


def test_os_exit_scores_0_and_a_fresh_child_grades_the_rest(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        import os
        def batch_norm(z, gamma, beta, eps=1e-5):
            os._exit(3)
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",), reason="ended")


def test_deleting_files_is_refused_and_the_folder_survives(tmp_path):
    canary_dir = tmp_path / "student" / "course-files"
    canary_dir.mkdir(parents=True)
    canary = canary_dir / "canary.txt"
    canary.write_text("alive")
    path = submit(tmp_path, NB02, {"batch_norm": f"""
        import os, shutil
        def batch_norm(z, gamma, beta, eps=1e-5):
            for action in (lambda: os.remove({str(canary)!r}),
                           lambda: shutil.rmtree({str(canary_dir)!r}),
                           lambda: open({str(canary)!r}, "w").write("dead")):
                try:
                    action()
                except OSError:
                    pass
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    result = verify(path, NB02)
    assert canary.read_text() == "alive"
    assert_only_lost(result, NB02, lost=("batch_norm_test",), reason="remove files")


def test_a_secret_is_required(tmp_path):
    for secret in (None, "", 42):
        with pytest.raises(ValueError, match="secret"):
            verify_submission(NB02, NB02, secret=secret)


# ----------------------------------------------------------------------------- the seeds
def test_public_seeds_outside_grading_secret_ones_inside():
    from helpers.checks.cases import batch_norm_cases
    from helpers.checks.seeds import case_seed, secret_cases

    assert case_seed(2025) == 2025
    public = batch_norm_cases()[1].args[0]
    with secret_cases("one secret"):
        first = batch_norm_cases()[1].args[0]
        assert case_seed(2025) != 2025
    with secret_cases("one secret"):
        again = batch_norm_cases()[1].args[0]
    with secret_cases("another secret"):
        other = batch_norm_cases()[1].args[0]
    assert np.array_equal(first, again)
    assert first.shape == public.shape
    assert not np.allclose(first, public) and not np.allclose(first, other)
    assert np.array_equal(batch_norm_cases()[1].args[0], public)  # the context is left


# ----------------------------------------------------------------------------- hardening
def test_a_clone_or_a_swap_of_the_forbidden_reference_scores_0(tmp_path):
    # The reference is looked up before the cell runs (a swap of the module's attribute
    # changes nothing) and matched by what its code does (a renamed clone is the same code).
    swap = """
        _ref = probes.reestimate_bn_stats
        probes.reestimate_bn_stats = lambda *args: None
        def reestimate_bn_stats(net, params, state, X):
            return _ref(net, params, state, X)
        """
    clone = """
        import types
        _f = probes.reestimate_bn_stats
        _mine = types.FunctionType(_f.__code__.replace(co_name="mine", co_filename="<mine>"),
                                   _f.__globals__, "mine", _f.__defaults__)
        def reestimate_bn_stats(net, params, state, X):
            return _mine(net, params, state, X)
        """
    NB06 = ROOT / "notebooks" / "06_why_batchnorm_works.ipynb"
    for source in (swap, clone):
        path = submit(tmp_path, NB06, {"reestimate_bn_stats": source})
        assert_only_lost(verify(path, NB06), NB06, lost=("reestimate_bn_stats_test",),
                         reason="calls helpers.probes.reestimate_bn_stats")


@pytest.mark.parametrize("where", ["in the cell", "in the function"])
def test_a_1000_deep_expression_scores_0_without_an_exception(tmp_path, where):
    deep = "z" + " + 0" * 1000
    source = (f"x = {deep}\n" if where == "in the cell" else "") + (
        "def batch_norm(z, gamma, beta, eps=1e-5):\n"
        f"    return {deep if where == 'in the function' else 'z'}\n")
    result = verify(submit(tmp_path, NB02, {"batch_norm": source}), NB02)
    assert_only_lost(result, NB02, lost=("batch_norm_test",))


def test_a_flood_of_findings_is_capped(tmp_path):
    path = submit(tmp_path, NB02, {"batch_norm": """
        import sys
        def batch_norm(z, gamma, beta, eps=1e-5):
            report = [c.cell_contents for c in sys.getprofile().__closure__
                      if getattr(c.cell_contents, "__name__", "") == "report"][0]
            emit = [c.cell_contents for c in report.__closure__
                    if getattr(c.cell_contents, "__name__", "") == "emit"][0]
            for i in range(300):
                emit({"finding": "refused", "text": f"{i} " + "x" * 100_000})
            return z
        """})
    result = verify(path, NB02)
    r = result.exercises["batch_norm_test"]
    assert r.points == 0.0
    assert 1 <= len(r.flags) <= 60 and max(len(flag) for flag in r.flags) < 400
    assert len(r.message) < 60 * 400


def test_the_graders_function_refuses_arrays_unlike_the_ones_passed(tmp_path):
    NB03 = ROOT / "notebooks" / "03_gamma_beta_identity.ipynb"
    path = submit(tmp_path, NB03, {"numerical_gradient": """
        def numerical_gradient(f, b, h=1e-5):
            f(np.zeros((2**20, 1, 1), dtype=np.float16))  # would broadcast in the grader
            return np.zeros_like(b, dtype=float)
        """})
    assert_only_lost(verify(path, NB03), NB03, lost=("numerical_gradient_test",),
                     reason="takes arrays like the ones passed to you")


def test_a_slow_notebook_stops_at_the_time_budget(tmp_path):
    slow = "import time\ntime.sleep(0.8)\n"
    path = submit(tmp_path, NB02, {
        "batch_norm": slow + "def batch_norm(z, gamma, beta, eps=1e-5):\n    while True:\n"
                             "        pass\n",
        "predict_tanh_saturation_at_gamma_1": slow + "tanh_prediction = 1\n",
        "predict_almost_dead_unit_without_eps": slow + "almost_dead_prediction = 1\n"})
    started = time.monotonic()
    result = verify(path, NB02, timeout=1.0, budget=3.0)
    assert time.monotonic() - started < 3.0 + 4.0  # the budget, and the last child's stop
    assert all(r.points == 0.0 for r in result.exercises.values())
    assert any("budget" in r.message for r in result.exercises.values()), [
        r.message for r in result.exercises.values()]


def test_a_huge_result_is_refused_not_read(tmp_path):
    # 24 MB: 3500 times the largest result of the solution notebooks (under 7 kB)
    path = submit(tmp_path, NB02, {"batch_norm": """
        def batch_norm(z, gamma, beta, eps=1e-5):
            return np.zeros(3 * 2**20)
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",),
                     reason="bytes of arrays (at most")


def test_without_bubblewrap_grading_works_and_says_so(tmp_path, monkeypatch):
    from helpers.grading import remote

    monkeypatch.setattr(remote.shutil, "which", lambda name: None)
    remote.sandbox.cache_clear()
    try:
        result = verify(submit(tmp_path, NB02), NB02)
    finally:
        monkeypatch.undo()
        remote.sandbox.cache_clear()
    assert result.sandbox == "none (bwrap not found)"
    assert_only_lost(result, NB02, lost=())


@pytest.mark.parametrize("action, reason", [
    ("import cffi", "use cffi"),
    ("import sqlite3; sqlite3.connect('grades.db')", "open a database"),
    ("os.mkdir(os.path.expanduser('~') + '/../made-by-student')", "create folders"),
    ("os.open(os.path.dirname(batchnorm.__file__), os.O_RDONLY)", "helpers source"),
    ("os.open('/', os.O_RDONLY)", "open a folder"),
    ("import subprocess; subprocess._posixsubprocess.fork_exec()", "start a process"),
], ids=["cffi", "sqlite3", "mkdir", "helpers folder", "dir_fd", "fork_exec"])
def test_more_actions_are_refused(tmp_path, action, reason):
    path = submit(tmp_path, NB02, {"batch_norm": f"""
        import os
        def batch_norm(z, gamma, beta, eps=1e-5):
            try:
                {action}
            except Exception:
                pass
            return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta
        """})
    assert_only_lost(verify(path, NB02), NB02, lost=("batch_norm_test",), reason=reason)


# ----------------------------------------------------------------------------- the OS sandbox
# Each submission first switches the child's hooks off (a known way, through the profile
# hook's closure: the hooks are in the child's reach), so that only the OS sandbox stands
# between its code and the machine; then it acts and still answers right.
HOOKS_OFF = """
import sys
def hooks_off():
    for cell in sys.getprofile().__closure__:
        if isinstance(cell.cell_contents, list) and len(cell.cell_contents) == 3:
            cell.cell_contents[0] = False
            return
    raise RuntimeError("the guard's state was not found")
"""
RIGHT = "return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta"


def needs_sandbox():
    from helpers.grading.remote import sandbox

    bwrap, name = sandbox()
    if bwrap is None:
        if os.environ.get("CI"):
            pytest.fail(f"the OS sandbox is required in CI, and there is none: {name}")
        pytest.skip(f"no OS sandbox on this machine: {name}")


@pytest.fixture
def outside_tmp():
    """A folder outside /tmp (which the sandbox replaces anyway), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="grading-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def attack(folder, body, after=""):
    """Verify a 02 submission in folder/student/ whose batch_norm switches the hooks off, runs
    body (its errors ignored), then `after`, and answers right; the result."""
    source = HOOKS_OFF + (
        "def batch_norm(z, gamma, beta, eps=1e-5):\n    hooks_off()\n    try:\n"
        + textwrap.indent(textwrap.dedent(body).strip() or "pass", " " * 8)
        + "\n    except Exception:\n        pass\n"
        + textwrap.indent(textwrap.dedent(after).strip(), " " * 4) + f"\n    {RIGHT}\n")
    result = verify(submit(folder, NB02, {"batch_norm": source}), NB02)
    assert result.sandbox == "bubblewrap"
    assert "does not parse" not in result.exercises["batch_norm_test"].message
    flags = [f for r in result.exercises.values() for f in r.flags]
    assert not any("refused" in f for f in flags), flags  # the hooks were off: only bwrap
    return result


def test_with_the_sandbox_processes_cannot_write_outside(tmp_path, outside_tmp):
    needs_sandbox()
    targets = [tmp_path / "by-system.txt", outside_tmp / "by-system.txt",
               tmp_path / "by-fork-exec.txt", outside_tmp / "by-fork-exec.txt"]
    attack(tmp_path, f"""
        import os, subprocess
        for target in {[str(t) for t in targets[:2]]!r}:
            os.system(f"echo escaped > {{target}}")
        for target in {[str(t) for t in targets[2:]]!r}:
            subprocess.run(["/bin/sh", "-c", f"echo escaped > {{target}}"])
        """)
    assert not any(t.exists() for t in targets)


def test_with_the_sandbox_the_submissions_folder_is_hidden(outside_tmp):
    needs_sandbox()
    canary = outside_tmp / "student" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("other students' work")
    result = attack(outside_tmp, f"import os\nos.remove({str(canary)!r})",
                    after=f"""
        import os
        if os.path.exists({str(canary)!r}):
            raise ValueError(open({str(canary)!r}).read())
        """)
    assert canary.read_text() == "other students' work"
    assert_only_lost(result, NB02, lost=())  # it did not even see the file


def test_with_the_sandbox_the_grader_cannot_be_signalled(tmp_path):
    needs_sandbox()
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda *args: received.append(args))
    try:
        result = attack(tmp_path, f"""
            import os, signal
            for pid in (os.getppid(), {os.getpid()}):
                try:
                    os.kill(pid, signal.SIGUSR1)
                except OSError:
                    pass
            """)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert received == []
    assert_only_lost(result, NB02, lost=())


def test_with_the_sandbox_the_graders_environment_is_out_of_reach(tmp_path):
    # /proc/<pid>/environ shows a process's environment as it started: so the grader here is a
    # fresh process started with the canary (as COURSE_GRADING_SECRET is given to make grade).
    needs_sandbox()
    canary = secrets.token_hex(8)
    after = """
        import os
        seen = [repr(dict(os.environ))]
        for pid in (os.getppid(), GRADER_PID, 1):
            try:
                seen.append(repr(open(f"/proc/{pid}/environ", "rb").read()))
            except OSError as error:
                seen.append(repr(error))
        raise ValueError(" ".join(seen))
        """
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from pathlib import Path
        import test_grading_verify as t
        after = {after!r}.replace("GRADER_PID", str(os.getpid()))
        result = t.attack(Path({str(tmp_path)!r}), "", after=after)
        print(json.dumps([r.message + " ".join(r.flags) for r in result.exercises.values()]))
        """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "GRADING_TEST_CANARY": canary}, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    texts = json.loads(run.stdout.strip().splitlines()[-1])
    assert "HOME" in " ".join(texts)  # what it read is in the message...
    assert not any(canary in text for text in texts)  # ...but not the grader's variable


def test_with_the_sandbox_nothing_outlives_the_child(tmp_path, outside_tmp):
    needs_sandbox()
    marker = f"sleep {secrets.randbelow(1000) + 1000}.5"
    attack(tmp_path, f"""
        import subprocess
        subprocess.Popen(["/bin/sh", "-c", "{marker}; echo late > {outside_tmp}/late.txt"],
                         start_new_session=True)
        """)

    def lingering():
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker.encode() in cmdline.read_bytes():
                    found.append(cmdline.parent.name)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 5.0
    while lingering() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lingering() == []
    assert not (outside_tmp / "late.txt").exists()


def test_the_folders_hidden_from_the_child(tmp_path):
    from helpers.grading.remote import hidden_folders

    course = tmp_path / "course"
    (course / "submitted").mkdir(parents=True)
    assert hidden_folders([course, tmp_path / "missing"]) == [str(course.resolve())]
    # a folder holding Python or the helpers package cannot be hidden: only students' folders
    assert hidden_folders(["/", ROOT]) == [str(ROOT / name) for name in (
        "submitted", "autograded", "feedback") if (ROOT / name).is_dir()]


def test_a_child_killed_by_its_own_alarm_scores_0_without_an_exception(tmp_path):
    # SIGALRM's default action ends the child after its first answer, while the grader reads or
    # writes (a broken pipe, which must not escape verify_submission).
    path = submit(tmp_path, NB02, {"batch_norm": f"""
        import signal, time
        calls = []
        def batch_norm(z, gamma, beta, eps=1e-5):
            if calls:
                time.sleep(2)
            calls.append(1)
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            {RIGHT}
        """})
    result = verify(path, NB02)
    assert result.exercises["batch_norm_test"].points == 0.0
    assert "Not graded" in result.exercises["batch_norm_test"].message
