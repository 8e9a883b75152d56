# Two commands set everything up: `make run` (the webhook locally, on embedded defaults) and
# `make test` (lint, types, template check, every test). Both create .venv from the project's files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck template-check unit integration clean

$(STAMP): pyproject.toml src/function/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -r src/function/requirements.txt --group dev
	touch $(STAMP)

run: $(STAMP)
	PYTHONPATH=src/function:src $(BIN)/python -m bookhook_dev.local_runner demo

test: lint typecheck template-check
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src tests

template-check: $(STAMP)
	$(BIN)/cfn-lint template.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .aws-sam
