"""What every notebook shares: the same setup cell, no test-tool plumbing in the code students
read, no TensorFlow log lines in the stored outputs, every cell executed. (nbval, run by
`make test` on notebooks/, checks that the stored outputs are reproduced.)"""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TF_LOG = re.compile(r"^[IWEF]\d{4} |cuInit|oneDNN|absl::InitializeLog|cuda_|node_def_util", re.M)


def code_cells(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]


def test_every_notebook_starts_with_the_same_setup_cell():
    first = {p.name: "".join(code_cells(p)[0]["source"]) for p in NOTEBOOKS}
    assert len(set(first.values())) == 1, first
    assert "from helpers.notebook import setup" in next(iter(first.values()))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_code_is_free_of_plumbing_and_outputs_free_of_tensorflow_logs(path):
    for cell in code_cells(path):
        source = "".join(cell["source"])
        assert "NBVAL" not in source, "nbval markers are cell tags, not comments"
        assert "import tensorflow" not in source, "use helpers.tf_reference.import_tensorflow()"
        assert cell["execution_count"] is not None, "notebooks are committed executed"
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            assert not TF_LOG.search(text), f"TensorFlow log line in a stored output: {text[:200]}"
            assert output.get("output_type") != "error", "a stored output is an error"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_only_explorers_and_version_prints_skip_nbval_comparison(path):
    for cell in code_cells(path):
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            source = "".join(cell["source"])
            assert "Explorer" in source or "__version__" in source or re.search(
                r"^\w+$", source.strip().splitlines()[-1]), source
