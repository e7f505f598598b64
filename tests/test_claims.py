"""The claims ledger: every number the prose states is backed by the notebook itself.

A number in a markdown cell must appear in a code cell above it: in a printed output (a result,
which strict nbval re-computes on every test run) or in the code (a setting such as a batch size
or a learning rate). So prose cannot drift from the outputs when code changes: change a seed or
a default, and a sentence that quotes the old number fails here.

Not counted as claims: headings, list numbering, years, references to notebooks/sections/figures
("notebook 04", "§2", "Fig. 1"), LaTeX math ($...$, formulas) and `code spans` (names and
arguments). The introduction ("What you will learn", the first cell) may point forward: its
numbers may appear anywhere in the notebook. A number that is a fact of the world rather than a
result of the notebook (a dataset's size quoted before it is loaded, a paper's figure) is listed
with its reason in the notebook's metadata under "claims_exempt" ({number: reason}).

The README's notebook table is held to the same rule against each notebook's outputs and code.
"""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
# Too common to be a claim: 0, 1 and 2 as in "one layer", "two passes", "mean 0, variance 1".
TRIVIAL = {0.0, 1.0, 2.0}


def _value(token):
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def numbers(text):
    """The numbers in a piece of text, as floats (1,346 -> 1346.0; 97.8% -> 97.8)."""
    out = set()
    for match in NUMBER.finditer(text.replace("−", "-")):
        value = _value(match.group())
        if value is not None:
            out.add(value)
    return out


def prose(markdown):
    """The parts of a markdown cell that state things, without the ones that are not claims."""
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", markdown, flags=re.S)  # LaTeX math
    text = re.sub(r"`[^`\n]*`", " ", text)  # code spans: names, arguments, file names
    text = re.sub(r"^#+ .*$", " ", text, flags=re.M)  # headings
    text = re.sub(r"^\s*(\d+\.|[-*])\s", " ", text, flags=re.M)  # list markers
    text = re.sub(r"\b(1[89]|20)\d\d\b", " ", text)  # years
    text = re.sub(r"(?i)\b(notebooks?|section|fig\.|figure|algorithm|step|cell|layer|table)"
                  r"\s+\d+([-–, ]+\d+)*", " ", text)
    text = re.sub(r"§\s*\d+", " ", text)
    text = re.sub(r"\b\d\d_\w+", " ", text)  # notebook file names
    text = re.sub(r"\b\d+\s*[x×]\s*\d+\b", " ", text)  # shapes such as 8x8
    text = re.sub(r"https?://\S+", " ", text)
    return text


def _outputs(cell):
    for output in cell.get("outputs", []):
        if "text" in output:
            yield "".join(output["text"])
        elif "data" in output:
            yield "".join(output["data"].get("text/plain", ""))


def backed_numbers(cells):
    """Every number in the code and printed outputs of these code cells."""
    found = set()
    for cell in cells:
        if cell["cell_type"] == "code":
            found |= numbers("".join(cell["source"]))
            for text in _outputs(cell):
                found |= numbers(text)
    return found


def _close(value, backed):
    # The prose may round what was printed: 97.84% printed, "97.8%" stated.
    return any(abs(value - b) <= 1e-9 * max(1.0, abs(b)) for b in backed) or any(
        b != 0 and _rounds_to(b, value) for b in backed)


def _rounds_to(printed, stated):
    text = repr(stated)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return round(printed, decimals) == stated


def unbacked_claims(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    exempt = {float(k) for k in nb.get("metadata", {}).get("claims_exempt", {})}
    everything = backed_numbers(nb["cells"])
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        backed = everything if index == 0 else backed_numbers(nb["cells"][:index])
        for value in sorted(numbers(prose("".join(cell["source"])))):
            if value in TRIVIAL or value in exempt or _close(value, backed):
                continue
            problems.append((index, value))
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_number_in_the_prose_is_printed_or_set_above_it(path):
    problems = unbacked_claims(path)
    assert not problems, (
        f"{path.name}: numbers stated in markdown but neither printed nor set in a code cell "
        f"above them, as (cell index, number): {problems}")


def test_readme_notebook_table_numbers_come_from_the_notebooks():
    rows = [line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
            if re.match(r"\| `\d\d_\w+` \|", line)]
    assert len(rows) == len(NOTEBOOKS)
    problems = []
    for row in rows:
        name = re.match(r"\| `(\d\d_\w+)` \|", row).group(1)
        nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        backed = backed_numbers(nb["cells"])
        for value in sorted(numbers(prose(row.split("|", 2)[2]))):
            if value not in TRIVIAL and not _close(value, backed):
                problems.append((name, value))
    assert not problems, f"README numbers not printed or set in their notebook: {problems}"


def test_the_ledger_catches_a_drifted_number(tmp_path):
    # A prose number that no cell above prints or sets is reported; the printed one is not.
    cells = [
        {"cell_type": "code", "source": ["print(acc)"], "outputs": [{"text": ["accuracy 96.2%\n"]}]},
        {"cell_type": "markdown", "source": ["BN reaches 96.2%, no BN 58.5%."]},
    ]
    path = tmp_path / "claims_probe.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}}), encoding="utf-8")
    assert unbacked_claims(path) == [(1, 58.5)]
