# Debugging Neural Networks: course tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup sysdeps data lab test lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

sysdeps:  ## install missing Debian packages (Fashion-MNIST data)
	@scripts/install-system-deps.sh

setup: sysdeps $(STAMP)  ## create .venv and install the course (idempotent)

data: setup  ## check that Fashion-MNIST is available (downloads it if it must)
	@$(PY) -m course data

lab: data  ## set up, then start JupyterLab on the course
	$(VENV)/bin/jupyter lab --notebook-dir=. source/debugging_nn

lint: setup  ## ruff over the code and the notebooks
	$(PY) -m ruff check .

test: data lint  ## set up, then run the whole test suite
	$(PY) -m pytest

format: setup
	$(PY) -m ruff format course autograder tests

clean:  ## remove generated grading folders
	rm -rf submitted autograded feedback gradebook.db grades.csv
