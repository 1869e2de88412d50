# The two commands of the README:  `make lab` (run the kit) and `make test` (run every test).
# Each creates its own virtual environment on first use and reuses it afterwards.
#
# dbdojo supports one Python, 3.13: scripts/find-python finds it (PATH, pyenv, uv) or says in
# one line how to get it, before anything is installed. `make PYTHON=/path/to/python3.13 ...`
# names one explicitly. A virtual environment of another Python (an older checkout's) is rebuilt.

PYTHON ?=
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

# $(call venv,DIR,REQUIREMENTS,PIP): DIR built with Python 3.13, REQUIREMENTS and the kit
# installed by PIP (a pip command line; DIR's pip, quiet, by default)
define venv
	@python="$$(scripts/find-python "$(PYTHON)")" && \
	if [ -e $(1)/bin/python ] && ! scripts/find-python $(1)/bin/python >/dev/null 2>&1; then \
		echo "$(1) is not Python 3.13: rebuilding it"; rm -rf $(1); fi && \
	echo "$(1): $$python -m venv" && "$$python" -m venv $(1)
	$(or $(3),$(1)/bin/pip install $(PIP_FLAGS)) -r $(2) -e .
	touch $(1)/.installed
endef

$(LAB_VENV)/.installed: requirements.txt requirements-core.txt pyproject.toml
	$(call venv,$(LAB_VENV),requirements.txt,\
		$(LAB_VENV)/bin/python dbdojo/install_progress.py -- \
		$(LAB_VENV)/bin/pip install $(LAB_PIP_FLAGS))

$(TEST_VENV)/.installed: requirements-test.txt requirements-core.txt pyproject.toml
	$(call venv,$(TEST_VENV),requirements-test.txt)

clean-venvs:
	rm -rf $(LAB_VENV) $(TEST_VENV)
