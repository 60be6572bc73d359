# Code Safety Reset tracker. Two commands on a fresh machine (see README.md):
#   make run    install, start an embedded PostgreSQL (unless DATABASE_URL is set), migrate,
#               load the demo data once, serve http://127.0.0.1:8000 with a Celery worker and beat
#   make test   ruff, mypy, Django's checks, then the test suite against a real PostgreSQL and
#               Redis (DATABASE_URL / REDIS_URL, defaulting to the servers on this machine)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Written after a successful install; requirements-dev.txt changing makes it stale.
INSTALLED := $(VENV)/.installed
RUN_ARGS ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test lint fmt checks pytest

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	@if command -v uv >/dev/null; then uv venv --python 3.11 $(VENV); \
	else $(PYTHON) -m venv $(VENV); fi

$(INSTALLED): requirements-dev.txt | $(BIN)/python
	@if command -v uv >/dev/null; then uv pip install --python $(BIN)/python -r requirements-dev.txt; \
	else $(BIN)/python -m pip install --quiet -r requirements-dev.txt; fi
	@touch $@

install: $(INSTALLED) ## create .venv and install the pinned requirements (requirements-dev.txt)

run: $(INSTALLED) ## run the app, a Celery worker and beat on http://127.0.0.1:8000 (Ctrl-C stops all)
	$(BIN)/python scripts/run_local.py $(RUN_ARGS)

test: $(INSTALLED) lint checks pytest ## everything CI runs: lint, Django checks, the test suite

lint: $(INSTALLED) ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(INSTALLED) ## format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

checks: $(INSTALLED) ## no missing migrations; production settings pass check --deploy
	@# Models against migrations only; whether some database's history is consistent (a
	@# RuntimeWarning when that database does not exist yet) is not this check's business.
	DJANGO_SETTINGS_MODULE=safety_reset.settings.test \
		$(BIN)/python -W ignore::RuntimeWarning manage.py makemigrations --check --dry-run
	@# Dummy production values: the check reads settings, it connects to nothing.
	DJANGO_SETTINGS_MODULE=safety_reset.settings.production \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	ALLOWED_HOSTS=reset.example.com \
	DATABASE_URL=postgres://app:app@127.0.0.1:5432/safety_reset \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	EMAIL_URL=smtp://127.0.0.1:25 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

pytest: $(INSTALLED) ## the test suite only (PYTEST_ARGS="-k name -x" to narrow it)
	$(BIN)/pytest $(PYTEST_ARGS)
