# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench migrate services

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Web (http://127.0.0.1:8000), Celery worker and Celery beat, with embedded defaults:
# SQLite and Celery's filesystem broker unless DATABASE_URL / REDIS_URL are set.
run: export DJANGO_DEBUG ?= 1
run: export WEBHOOKS_ALLOW_PRIVATE_TARGETS ?= 1
run: install
	@mkdir -p var/celery/broker var/celery/processed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/honcho --procfile Procfile start

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
	$(BIN)/python bench/run.py
