# The two commands of the README:  `make lab` (run the kit) and `make test` (run every test).
# Each creates its own virtual environment on first use and reuses it afterwards.

PYTHON ?= $(shell command -v python3.13 || command -v python3)
LAB_VENV := .venv
TEST_VENV := .venv-test
PIP_FLAGS := --quiet --disable-pip-version-check
# `make lab` shows pip is alive: a status line on a terminal, a line every 5 s elsewhere
LAB_PIP_FLAGS := --disable-pip-version-check --progress-bar off

.PHONY: lab test lint clean-venvs

lab: $(LAB_VENV)/.installed
	$(LAB_VENV)/bin/dojo lab

test: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/pytest

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check dbdojo tests benchmarks
	$(TEST_VENV)/bin/ruff format --check dbdojo tests benchmarks

$(LAB_VENV)/.installed: requirements.txt requirements-core.txt pyproject.toml
	$(PYTHON) -m venv $(LAB_VENV)
	$(PYTHON) dbdojo/install_progress.py -- \
		$(LAB_VENV)/bin/pip install $(LAB_PIP_FLAGS) -r requirements.txt -e .
	touch $@

$(TEST_VENV)/.installed: requirements-test.txt requirements-core.txt pyproject.toml
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-test.txt -e .
	touch $@

clean-venvs:
	rm -rf $(LAB_VENV) $(TEST_VENV)
