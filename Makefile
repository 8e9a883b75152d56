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

.PHONY: run test lint typecheck template-check unit integration runtime-test build bench interleavings fuzz clean FORCE

# Which interpreter a command runs, e.g. "3.11.7 /usr/bin/python3.11" (empty: it runs none). A venv's
# own python answers with the interpreter that made it: one made by another is rebuilt, not reused.
python_id = $(shell $(1) -c 'import os, sys; print("%d.%d.%d" % sys.version_info[:3], os.path.realpath(sys.executable))' 2>/dev/null)
PYTHON_ID := $(call python_id,$(PYTHON))
PYTHON_VERSION := $(word 1,$(PYTHON_ID))

# $(PYTHON) is checked before anything is installed (every target but clean): an older one would
# fail later, inside pip, with a message that does not say why.
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),default)),)
ifeq ($(PYTHON_VERSION),)
$(error Python 3.11 or newer is needed; $(PYTHON) does not run (set PYTHON=…, e.g. PYTHON=python3.12))
endif
ifeq ($(shell case '$(PYTHON_VERSION)' in (3.1[1-9]|3.1[1-9].*|3.[2-9][0-9]|3.[2-9][0-9].*|[4-9].*) echo ok;; esac),)
$(error Python 3.11 or newer is needed; $(PYTHON) is $(PYTHON_VERSION) (set PYTHON=…, e.g. PYTHON=python3.12))
endif
endif

# $(call venv,DIR,PYTHON): a venv with the function's requirements, the dev tools and the project
# itself, editable (the `bookhook` command runs the tree as it is; setuptools from the dev group
# builds it, so nothing beyond the requirements is fetched; its notice that an editable install
# is one is silenced). VENV_FLAGS: --clear for another Python's.
define venv
$(2) -m venv $(VENV_FLAGS) $(1)
$(1)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
$(1)/bin/python -m pip install --quiet -r src/function/requirements.txt --group dev
PYTHONWARNINGS="ignore:Editable installation" \
	$(1)/bin/python -m pip install --quiet --no-deps --no-build-isolation --editable .
touch $(1)/.installed
endef

ifneq ($(PYTHON_ID),$(call python_id,$(BIN)/python))
$(STAMP): FORCE
$(STAMP): VENV_FLAGS := --clear
endif
$(STAMP): pyproject.toml src/function/requirements.txt
	$(call venv,$(VENV),$(PYTHON))

run: $(STAMP)
	$(BIN)/bookhook run

test: lint typecheck template-check
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory runtime-test

ifneq ($(RUNTIME_PYTHON),)
ifneq ($(call python_id,$(RUNTIME_PYTHON)),$(call python_id,$(RUNTIME_VENV)/bin/python))
$(RUNTIME_VENV)/.installed: FORCE
$(RUNTIME_VENV)/.installed: VENV_FLAGS := --clear
endif
$(RUNTIME_VENV)/.installed: pyproject.toml src/function/requirements.txt
	$(call venv,$(RUNTIME_VENV),$(RUNTIME_PYTHON))

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

# Our step runs from .venv-py312: bytecode is per Python version.
build: $(SAM_VENV)/.installed $(if $(RUNTIME_PYTHON),$(RUNTIME_VENV)/.installed)
	@[ -n "$(RUNTIME_PYTHON)" ] || { echo "make build needs Python 3.12 (the runtime in template.yaml)"; exit 1; }
	PATH="$(dir $(RUNTIME_PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	$(RUNTIME_VENV)/bin/bookhook build-package .aws-sam/build

bench: $(STAMP) $(RUNTIME_VENV)/.installed
	$(BIN)/bookhook bench --runtime-python $(RUNTIME_VENV)/bin/python

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

FORCE:

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) $(SAM_VENV) build bench-results.json .mypy_cache .ruff_cache .pytest_cache .hypothesis .aws-sam
