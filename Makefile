# Two commands: `make dev` runs the whole system locally, `make test` runs the tests.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck check bench clean openapi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck

openapi: $(STAMP)
	$(PY) -m api.openapi_export docs/openapi.json

bench: $(STAMP)
	$(PY) bench/api_cold_start.py
	$(PY) bench/api_warm_overhead.py
	$(PY) bench/worker_validate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
