# Two commands do everything (see README.md):
#   make lab    set up .venv from requirements.txt and open your copy of the course
#               (exercises without their answers, in $(LEARNER)/) in JupyterLab
#   make test   set up .venv from requirements-dev.txt and run every test:
#               unit tests, TensorFlow cross-checks, and strict nbval on every notebook
#   make test PYTHON=python3.12 VENV=.venv-3.12   the same with another Python, in its own venv
# For instructors:
#   make assignments   student versions of every notebook with nbgrader, in $(ASSIGNMENTS)/release
#   make grade         verify every submission in $(ASSIGNMENTS)/submitted outside the students'
#                      kernels (secret in COURSE_GRADING_SECRET; ASSIGNMENT=<name> for one) and
#                      write the scores into $(ASSIGNMENTS)/gradebook.db
# The Python that creates the venv: python3, unless it is newer than TensorFlow's wheels
# (TensorFlow 2.21 has them for CPython 3.10 to 3.13; on 3.14 pip would fall back to a release
# candidate): then the newest of TF_PYTHONS found on PATH, said in one line. PYTHON=... wins.
TF_PYTHONS := python3.13 python3.12 python3.11 python3.10
ifeq ($(origin PYTHON),undefined)
PYTHON3_TOO_NEW := $(shell python3 -c 'import sys; print("%d.%d" % sys.version_info[:2] if sys.version_info >= (3, 14) else "")' 2>/dev/null)
ifneq ($(PYTHON3_TOO_NEW),)
PYTHON := $(firstword $(foreach p,$(TF_PYTHONS),$(shell $(p) -c 'print("$(p)")' 2>/dev/null)))
PYTHON_NOTE := python3 is Python $(PYTHON3_TOO_NEW), which TensorFlow supports only with a release candidate: using $(PYTHON) (another one: make PYTHON=...)
ifeq ($(PYTHON),)
PYTHON := python3
PYTHON_NOTE := python3 is Python $(PYTHON3_TOO_NEW) and no python3.13 to python3.10 is on PATH: pip will install TensorFlow's release candidate (another Python: make PYTHON=...)
endif
endif
endif
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# What `make test` runs; .ci/run narrows it for the other Pythons it tests.
TESTS  ?= tests notebooks
# Strict nbval (not the lax mode): every stored output must be reproduced.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# nbgrader course root of `make assignments` (ignored by git; holds source/, release/, and later
# submitted/, autograded/ and gradebook.db, which rebuilding never deletes).
ASSIGNMENTS ?= build/assignments

.PHONY: lab test bench assignments grade clean

$(BIN)/python:
	$(if $(PYTHON_NOTE),@echo "$(PYTHON_NOTE)")
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

# JupyterHub's proxy for tests/test_hub.py, from the npm registry, into the venv. Without npm
# (apt-get install -y npm; .ci/run does it) the hub test skips, or fails when CI is set.
# 5.0.1 asks for Node 18 or newer (Debian 12 has 18); 5.3 and its dependencies ask for Node 22.
PROXY := $(VENV)/node_modules/.bin/configurable-http-proxy
$(PROXY):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(VENV) --no-save --no-audit --no-fund configurable-http-proxy@5.0.1; \
	else echo "npm not found: tests/test_hub.py needs configurable-http-proxy"; fi

# The learner's copy of the course (ignored by git): notebooks/ with every answer replaced by
# nbgrader's stub and the outputs cleared. Each notebook is copied once, never overwritten (the
# learner's work survives pulls and rebuilds); JupyterLab opens on that folder alone, so the
# solutions in notebooks/ stay out of sight. See README, "Learner copy vs solution notebooks".
LEARNER ?= my-notebooks

lab: $(VENV)/.course-installed
	$(BIN)/python assignments/learner_copy.py --to $(LEARNER)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LEARNER) $(LAB_ROOT)

test: $(VENV)/.dev-installed $(PROXY)
	$(BIN)/python -m pytest $(NBVAL) $(TESTS)

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_batchnorm.py
	$(BIN)/python benchmarks/bench_notebooks.py

assignments: $(VENV)/.dev-installed
	$(BIN)/python assignments/build.py --course-dir $(ASSIGNMENTS)

# Verified grading (README, "Verified grading"): refuses to run without COURSE_GRADING_SECRET.
grade: $(VENV)/.dev-installed
	$(BIN)/python -m helpers.grading --course-dir $(ASSIGNMENTS) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
