# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench migrate services clispec mcpdocs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Web (http://127.0.0.1:8000, or WEB_PORT), Celery worker and Celery beat on the embedded
# default: the local env file (.env) written on first run, SQLite in WAL mode and an embedded
# Redis under var/, unless DATABASE_URL / REDIS_URL say otherwise (fibe_access/embedded.py).
run: install
	$(BIN)/python -m fibe_access.embedded

migrate: install
	$(BIN)/python manage.py migrate --noinput

services:
	@bash scripts/ensure-services.sh

# The whole suite against the local PostgreSQL and Redis, browser tests on Debian's Chromium.
test: install services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install services
	@bash scripts/ensure-bench-tools.sh
	$(BIN)/python bench/run.py

# The `fibe` CLI's command spec, generated from the operation registry (tests/cli checks it).
clispec: install
	$(BIN)/python scripts/clispec.py

# The README's table of MCP tools and the scope each needs, from the operation registry.
mcpdocs: install
	$(BIN)/python scripts/mcpdocs.py
