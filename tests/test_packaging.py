"""The course as an installed package: a wheel built from a clean copy of the repository,
installed into a fresh virtual environment outside the checkout, carries the datasets and runs
notebook 01 (a JupyterHub image built with `pip install .` works the same way).

The fresh environment gets the course's dependencies (NumPy, Matplotlib, ipykernel ...) from the
test's own environment through a .pth file, so nothing is downloaded; `helpers` itself can only
come from the wheel: the checkout is not on its path and the editable install's hook is not read.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """(python of a fresh venv with only the wheel installed, a work folder outside the repo)."""
    root = tmp_path_factory.mktemp("wheel")
    # A clean copy: what git tracks or would track, so ignored build artefacts stay out.
    source = root / "source"
    for name in _tracked_files():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(dist), str(source)], check=True)
    (wheel,) = dist.glob("*.whl")

    env_dir = root / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # Dependencies from this test's environment; a plain path line does not run the .pth hooks
    # found there, so the checkout's editable install stays invisible.
    Path(site, "course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", site, str(wheel)], check=True)
    work = root / "work"
    work.mkdir()
    return python, work, wheel


def test_wheel_contains_the_datasets_and_their_readme(wheel_env):
    import zipfile

    _, _, wheel = wheel_env
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("helpers/datasets/wine.csv", "helpers/datasets/digits.csv.gz",
                 "helpers/datasets/README.md", "helpers/batchnorm.py"):
        assert name in names, f"{name} missing from {wheel.name}"


def test_installed_wheel_loads_both_datasets_outside_the_checkout(wheel_env):
    python, work, _ = wheel_env
    script = (
        "import helpers, helpers.data as d\n"
        "print(helpers.__file__)\n"
        "print(d.DATA_DIR)\n"
        "print(d.load_wine().X.shape, d.load_digits().X.shape)\n"
    )
    out = subprocess.run([str(python), "-c", script], cwd=work, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr
    helpers_file, data_dir, shapes = out.stdout.strip().splitlines()
    assert str(REPO) not in helpers_file and "site-packages" in helpers_file
    assert data_dir.endswith(os.path.join("helpers", "datasets")) and str(REPO) not in data_dir
    assert shapes == "(178, 13) (1797, 64)"


def test_installed_wheel_runs_notebook_01(wheel_env, tmp_path):
    python, work, _ = wheel_env
    # A kernel that runs the fresh environment's Python.
    kernels = tmp_path / "jupyter" / "kernels" / "wheel"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course wheel", "language": "python",
        "env": {"PYTHONPATH": "", "MPLBACKEND": "Agg"},
    }))
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        nb = nbformat.read(REPO / "notebooks" / "01_input_normalization.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import helpers; print(helpers.__file__)"))
        client = NotebookClient(nb, kernel_name="wheel", timeout=120,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
    finally:
        del os.environ["JUPYTER_PATH"]
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    # The notebook ran on the wheel's helpers, not on the checkout's.
    origin = nb.cells[-1].outputs[0]["text"].strip()
    assert origin.startswith(str(python.parent.parent)), origin
