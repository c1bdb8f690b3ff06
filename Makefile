# Two commands: `make dev` runs the whole system locally, `make test` runs the tests.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test test-python test-js test-browser test-sam browser lint typecheck check check-template bench clean openapi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# The whole system on 127.0.0.1 (docs/local-stack.md); options via ARGS, e.g. make dev ARGS=--free-ports
dev: $(STAMP)
	$(PY) -m local_stack $(ARGS)

# Everything: the Python suites (unit, integration, end to end, browser) and the page's JS units.
test: test-python test-js

test-python: $(STAMP) browser
	$(PY) -m pytest

test-js:
	@command -v node >/dev/null || { echo "The page's unit tests need Node.js 18.19+ (apt-get install nodejs)"; exit 1; }
	node --test tests/js/

test-browser: $(STAMP) browser
	$(PY) -m pytest tests/e2e/browser

browser:
	@scripts/ensure-chromium

# The API and the worker in real Lambda containers under `sam local` (Docker), offline: installs
# Docker, debootstrap and the pinned SAM CLI, starts dockerd if none runs (and stops it after),
# builds the local Lambda image once (cached), then tests/e2e/sam. See docs/local-stack.md.
test-sam: $(STAMP)
	PYTHON=$(abspath $(PY)) scripts/test-sam

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck check-template

# sam validate --lint, sam build (arm64, python3.13, no Docker), cfn-lint, checkov, workflow schema
check-template:
	scripts/check-template

openapi: $(STAMP)
	$(PY) -m api.openapi_export docs/openapi.json

# Every benchmark, one table (docs/benchmarks.md); each script also runs alone: bench/<name>.py [--json]
bench: $(STAMP)
	$(PY) bench/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
