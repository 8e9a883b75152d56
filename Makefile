# Two commands set everything up: `make run` (the webhook locally, on embedded defaults) and
# `make test` (lint, types, template check, every test). Both create .venv from the project's files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Lambda runtime in template.yaml is python3.12: the suite also runs on it when it is installed
# (pyenv's build first, since pyenv's shim answers even when the version is not selected).
RUNTIME_PYTHON ?= $(or $(shell ls -1 $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1),\
	$(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null))
RUNTIME_VENV := .venv-py312
SAM_VENV := .venv-sam

.PHONY: run test lint typecheck template-check unit integration runtime-test build bench interleavings fuzz clean

$(STAMP): pyproject.toml src/function/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -r src/function/requirements.txt --group dev
	touch $(STAMP)

run: $(STAMP)
	PYTHONPATH=src/function:src $(BIN)/python -m bookhook_dev.local_runner demo

test: lint typecheck template-check
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory runtime-test

ifneq ($(RUNTIME_PYTHON),)
$(RUNTIME_VENV)/.installed: pyproject.toml src/function/requirements.txt
	$(RUNTIME_PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(RUNTIME_VENV)/bin/python -m pip install --quiet -r src/function/requirements.txt --group dev
	touch $@

runtime-test: $(RUNTIME_VENV)/.installed
	@echo "Running the suite again on the Lambda runtime's Python: $$($(RUNTIME_VENV)/bin/python --version)"
	$(RUNTIME_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not harness"
else
runtime-test:
	@echo "WARNING: no Python 3.12 found: the suite ran on $$($(BIN)/python --version) only"
endif

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src tests

template-check: $(STAMP)
	$(BIN)/cfn-lint template.yaml

# `sam build` without Docker (it needs python3.12 on the PATH), then our step: drop what the
# runtime provides, compile to hash-based bytecode with the runtime's Python.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==1.170.0"
	touch $@

build: $(SAM_VENV)/.installed
	@[ -n "$(RUNTIME_PYTHON)" ] || { echo "make build needs Python 3.12 (the runtime in template.yaml)"; exit 1; }
	PATH="$(dir $(RUNTIME_PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	PYTHONPATH=src $(RUNTIME_PYTHON) -m bookhook_dev.build_package .aws-sam/build

bench: $(STAMP) $(RUNTIME_VENV)/.installed
	PYTHONPATH=src/function:src $(BIN)/python -m bookhook_dev.bench --runtime-python $(RUNTIME_VENV)/bin/python

# The exactly-once interleaving test on 2,000 seeded orders (make test runs 200).
interleavings: $(STAMP)
	INTERLEAVINGS=2000 $(BIN)/python -m pytest -q tests/integration/test_interleavings.py

# The route fuzzer long, with a random seed (make test runs 100 fixed examples per route);
# FUZZ_SEED=N replays one run.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} FUZZ_RANDOM=1 $(BIN)/python -m pytest -q tests/fuzz

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) $(SAM_VENV) build bench-results.json .mypy_cache .ruff_cache .pytest_cache .hypothesis .aws-sam
