# Two commands do everything (see README.md):
#   make lab    set up .venv from requirements.txt and open the course in JupyterLab
#   make test   set up .venv from requirements-dev.txt and run every test:
#               unit tests, TensorFlow cross-checks, and strict nbval on every notebook
# For instructors:
#   make assignments   student versions of every notebook with nbgrader, in $(ASSIGNMENTS)/release
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Strict nbval (not the lax mode): every stored output must be reproduced.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# nbgrader course root of `make assignments` (ignored by git; holds source/, release/, and later
# submitted/, autograded/ and gradebook.db, which rebuilding never deletes).
ASSIGNMENTS ?= build/assignments

.PHONY: lab test bench assignments clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "the course needs Python 3.10 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# The stamp files make the install re-run whenever a requirements file changes ("stale").
$(VENV)/.course-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.course-installed
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

lab: $(VENV)/.course-installed
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ROOT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(NBVAL) tests notebooks

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_batchnorm.py
	$(BIN)/python benchmarks/bench_notebooks.py

assignments: $(VENV)/.dev-installed
	$(BIN)/python assignments/build.py --course-dir $(ASSIGNMENTS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
