# Code Safety Reset tracker. Two commands on a fresh machine (see README.md):
#   make run    install, start an embedded PostgreSQL (unless DATABASE_URL is set), migrate,
#               load the demo data once, serve http://127.0.0.1:8000 with a Celery worker and beat
#   make test   the pre-commit hooks (ruff, djLint, django-upgrade, Django's checks), mypy,
#               check --deploy, then the test suite with its coverage gate against a real
#               PostgreSQL and Redis (DATABASE_URL / REDIS_URL, defaulting to this machine's)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The newest of Python 3.13, 3.12 and 3.11 on PATH that can make a virtual environment (a pyenv
# shim of a version that is not selected, or a Debian python3.X without python3.X-venv, does not
# count). `make run PYTHON=/path/to/python3.12` picks one.
PYTHON_CANDIDATES := python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell $(p) -c 'import ensurepip, venv' >/dev/null 2>&1 && echo $(p))))
endif
VENV ?= .venv
BIN := $(VENV)/bin
# Written after a successful install; requirements-dev.txt changing makes it stale.
INSTALLED := $(VENV)/.installed
RUN_ARGS ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test lint hooks fmt checks pytest smoke

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "No usable Python found: need one of $(PYTHON_CANDIDATES) with its venv module" \
			"(Debian/Ubuntu: apt-get install python3.X-venv), or PYTHON=/path/to/python3.11+." >&2; \
		exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		f"Python 3.11 or newer is needed; $(PYTHON) is {sys.version.split()[0]}")'
	@echo "creating $(VENV) with $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	@if command -v uv >/dev/null; then uv venv --python "$$(command -v $(PYTHON))" $(VENV); \
	else $(PYTHON) -m venv $(VENV); fi

$(INSTALLED): requirements-dev.txt | $(BIN)/python
	@if command -v uv >/dev/null; then uv pip install --python $(BIN)/python -r requirements-dev.txt; \
	else $(BIN)/python -m pip install --quiet -r requirements-dev.txt; fi
	@touch $@

install: $(INSTALLED) ## create .venv and install the pinned requirements (requirements-dev.txt)

run: $(INSTALLED) ## run the app, a Celery worker and beat on http://127.0.0.1:8000 (Ctrl-C stops all)
	$(BIN)/python scripts/run_local.py $(RUN_ARGS)

test: $(INSTALLED) lint checks ## everything CI runs: hooks, mypy, Django checks, the suite with its coverage gate
	@# The gate is fail_under in pyproject.toml's [tool.coverage.report]; it only goes up.
	$(BIN)/pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: hooks $(INSTALLED) ## the pre-commit hooks, then mypy
	$(BIN)/mypy

hooks: $(INSTALLED) ## every hook of .pre-commit-config.yaml on every tracked file (no network)
	@# The hooks run the tools by path, .venv/bin/...: they need VENV=.venv (the default).
	PRE_COMMIT_HOME="$${PRE_COMMIT_HOME:-$(CURDIR)/var/pre-commit}" \
		$(BIN)/pre-commit run --all-files --show-diff-on-failure --color=never

fmt: $(INSTALLED) ## format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

checks: $(INSTALLED) ## production settings pass check --deploy (the other checks are hooks)
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

smoke: $(INSTALLED) checks ## on a second Python (VENV=.venv-3.13 PYTHON=python3.13): migrate, check --deploy, the sign-in browser test
	DJANGO_SETTINGS_MODULE=safety_reset.settings.test $(BIN)/python manage.py migrate --no-input
	$(BIN)/pytest --create-db -p no:cacheprovider tests/browser/test_sign_in.py
