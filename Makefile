# Two commands on a machine with only python3 (3.11+): `make run` and `make test`.
# Both create .venv from the pinned requirements first (once; again when the pins change).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: help run test test-fast lint bench lab student clean-notebooks venv lock clean clean-runs

help: ## this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(STAMP) ## the main job: every notebook on every case it supports, and runs/index.html
	$(BIN)/workbench report

test: $(STAMP) ## the test suite (unit, data, notebooks, system, nbval), on every core
	$(BIN)/python -m pytest --nbval-lax -n auto --dist loadfile tests notebooks

test-fast: $(STAMP) ## unit and data tests only (the edit loop, under a minute)
	$(BIN)/python -m pytest -n auto tests/unit tests/data

lint: $(STAMP) ## ruff, mypy on the library, and notebook hygiene
	$(BIN)/ruff check lib tests benchmarks casestudies
	$(BIN)/mypy
	$(BIN)/workbench notebooks check

bench: $(STAMP) ## benchmarks: whole-process timings and peak memory against targets (benchmarks/results/)
	$(BIN)/python benchmarks/bench.py

lab: $(STAMP) ## JupyterLab on 127.0.0.1 with the project's kernel
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks $(ROOT_FLAG)

student: $(STAMP) ## student editions of every notebook into runs/student/
	$(BIN)/workbench export --student runs/student

clean-notebooks: $(STAMP) ## strip outputs and execution counts (cells tagged nbval-check-output keep theirs)
	$(BIN)/workbench notebooks clean

venv: $(STAMP) ## create .venv from the pinned requirements (the other targets do it when needed)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "need Python 3.11 or newer, found " + sys.version.split()[0])'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

lock: ## re-pin requirements.txt from requirements.in in a scratch venv
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in setuptools
	{ echo "# Pinned, co-installing versions of every package (generated from requirements.in by 'make lock')."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude pip; } > requirements.txt
	rm -rf .lock-venv

clean-runs: ## delete every run folder
	rm -rf runs

clean: clean-runs
	rm -rf $(VENV)
