# Debugging Neural Networks: course tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONDONTWRITEBYTECODE := 1
# nbgrader runs `alembic` (from the venv) to create a new gradebook.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

NBGRADER := $(PY) -m nbgrader
ASSIGNMENT := debugging_nn
EXERCISES := *_exercise_*

.PHONY: help setup sysdeps data lab test lint format clean release check-release \
	autograde feedback grades demo test-fast sysdeps-test \
	autograde-plain bench bench-grading bench-notebooks student-kit venv-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# The supported Pythons (pyproject.toml's requires-python): checked before the
# venv is made and every time it is used, so a venv made with another Python is
# never reused silently.
PYCHECK := import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 12) \
	else f"{sys.executable} is Python {v[0]}.{v[1]}; the course needs 3.11 or 3.12.\n" \
	"Rebuild the environment with a supported one, e.g.: rm -rf $(VENV) && make PYTHON=python3.11 $(or $(MAKECMDGOALS),lab)")

$(STAMP): pyproject.toml
	@test -x $(PY) || { $(PYTHON) -c '$(PYCHECK)' && $(PYTHON) -m venv $(VENV); }
	@$(PY) -c '$(PYCHECK)'
	@echo "Installing the course and its dependencies into $(VENV) (first time: about 1 GB, 1-3 minutes)..."
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	set -o pipefail; $(PY) -m pip install --disable-pip-version-check --progress-bar on \
		-e '.[grading,test,bench]' | { grep -v '^Requirement already satisfied' || true; }
	@touch $(STAMP)

venv-check:
	@test ! -x $(PY) || $(PY) -c '$(PYCHECK)'

sysdeps:  ## install missing Debian packages (Fashion-MNIST data)
	@scripts/install-system-deps.sh

sysdeps-test:  ## Debian packages the tests need: grading sandbox, PostgreSQL, browser, ACLs (hub)
	@scripts/install-system-deps.sh bubblewrap postgresql chromium acl

setup: venv-check sysdeps $(STAMP)  ## create .venv and install the course (idempotent)

data: setup  ## check that Fashion-MNIST is available (downloads it if it must)
	@$(PY) -m course data

lab: data  ## set up, then start JupyterLab on your copy of the course (student-work/)
	@$(PY) scripts/lab.py $(if $(PORT),--port $(PORT)) -- $(LAB_ARGS)

lint: setup  ## ruff over the code and the notebooks
	$(PY) -m ruff check .

# Lesson notebooks: every numbered notebook but the exercises.
LESSONS := $(foreach nb,$(sort $(wildcard source/$(ASSIGNMENT)/[0-9][0-9]_*.ipynb)),\
	$(if $(findstring _exercise_,$(nb)),,$(nb)))
NBVAL := --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
	--nbval-cell-timeout 300

test: sysdeps-test data lint  ## set up, then run the whole test suite
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15 \
		tests $(LESSONS) $(NBVAL)

test-fast: setup  ## unit tests only (no notebooks, no grading pipeline)
	$(PY) -m pytest tests -m "not slow"

bench-notebooks: data  ## execute each lesson notebook and report its wall time
	$(PY) scripts/bench_notebooks.py

release: setup  ## generate the student version into release/ (commit it)
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force --log-level=WARN

student-kit: setup  ## dist/student-kit(.zip): release + course wheel + set-up README
	$(PY) scripts/student_kit.py

check-release: setup  ## fail if release/ is out of date with source/
	$(PY) -m autograder.pipeline check-release

autograde: setup  ## autograde every submitted/<student>/debugging_nn/ (sandboxed, parallel)
	$(PY) -m autograder.driver $(GRADE_ARGS)

autograde-plain: release  ## the same with plain `nbgrader autograde` (sandboxed too; one at a time)
	$(NBGRADER) autograde $(ASSIGNMENT) --force --log-level=WARN \
		--CourseDirectory.notebook_id='$(EXERCISES)'

feedback: setup  ## HTML feedback for students into feedback/
	$(NBGRADER) generate_feedback $(ASSIGNMENT) --force --log-level=WARN \
		--CourseDirectory.notebook_id='$(EXERCISES)'

grades: setup  ## export the gradebook to grades.csv
	$(NBGRADER) export --to grades.csv --log-level=WARN
	@$(PY) -m autograder.pipeline table

demo: data sysdeps-test  ## the whole instructor cycle on bundled sample submissions
	$(PY) scripts/demo_samples.py
	$(MAKE) --no-print-directory autograde GRADE_ARGS="--force $(GRADE_ARGS)"
	@# The manual part, scripted for the demo: model answers get full marks.
	$(PY) -m autograder.pipeline grade-written-demo
	$(MAKE) --no-print-directory feedback grades
	@$(PY) -m autograder.pipeline next

bench: data sysdeps-test  ## benchmark suite -> bench/results.md (ratios to same-run baselines)
	$(PY) scripts/bench.py $(BENCH_ARGS)

bench-grading: data sysdeps-test  ## seconds per submission: plain nbgrader vs the driver
	$(PY) scripts/bench_grading.py

format: setup
	$(PY) -m ruff format course autograder tests

clean:  ## remove generated grading folders
	rm -rf submitted autograded feedback gradebook.db grades.csv

# The course on JupyterHub (docs/hub.md), on the machine that hosts it, as root:
# Unix accounts from hub/roster.json, nbgrader's exchange, the course directory,
# the hub's own environment under $(HUB_PREFIX) (JupyterHub, proxy, course).
export HUB_PREFIX ?= /opt/debugging-nn-hub
.PHONY: hub hub-setup
hub-setup:  ## (root) set up the course's JupyterHub: accounts, exchange, course, environment
	/usr/bin/python3 hub/setup.py install

hub: hub-setup  ## (root) set up and start the course's JupyterHub (docs/hub.md)
	$(HUB_PREFIX)/venv/bin/jupyterhub -f hub/jupyterhub_config.py
