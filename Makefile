# Tailor — two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .sam-venv
PY312 := $(shell pyenv prefix 3.12.1 2>/dev/null || dirname $$(dirname $$(command -v python3.12 2>/dev/null || echo /usr/bin/python3.12)))

.PHONY: setup demo test lint typecheck pytest bench build validate schemas clean

setup: $(STAMP)

# Re-install only when the package metadata changed: `make setup` is a no-op otherwise.
$(STAMP): pyproject.toml shared/requirements.txt
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 not found on PATH" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/tailor local demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Each handler is a module named `app`: one mypy run per service (a single run would see duplicates).
typecheck: setup
	$(BIN)/mypy shared/tailor
	@for service in services/*/; do echo "mypy $$service"; $(BIN)/mypy $$service || exit 1; done

pytest: setup
	$(BIN)/pytest -n auto -q

test: lint typecheck validate pytest

# The JSON Schemas and the event reference are generated from the catalog (drift tests check both).
schemas: setup
	$(BIN)/python -m tailor.events.schemas events/schemas
	$(BIN)/python -m tailor.events.reference docs/event-reference.md

bench: setup
	$(BIN)/python benchmarks/run.py

# SAM CLI pins boto3/click exactly: it lives in its own virtualenv, never in .venv.
$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli

# No telemetry from the SAM CLI (these machines have no network besides PyPI).
validate build: export SAM_CLI_TELEMETRY := 0

validate: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1

# `sam build` needs a real python3.12 first on PATH (pyenv's shim is not enough); never
# --use-container (no Docker).
build: $(SAM_VENV)/bin/sam
	@test -x "$(PY312)/bin/python3.12" || { echo "error: python3.12 not found (looked in $(PY312)/bin)" >&2; exit 2; }
	PATH="$(PY312)/bin:$$PATH" $(SAM_VENV)/bin/sam build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
