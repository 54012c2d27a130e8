# The two commands of the README: `make run` and `make test`. Everything they need, they install.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PORT ?= 8000
PYTEST_ARGS ?=

# The make targets are development tools: DEBUG is on unless the environment says otherwise.
export DEBUG ?= 1
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install messages db setup run test bench lint fmt migrations-check lock stop-db clean

help:
	@echo "make run    set up everything and serve the site on http://127.0.0.1:$(PORT)/"
	@echo "make test   set up everything and run the whole test suite"
	@echo "make bench  measure the budgets of SPEC section 10 on 520,000 specialists"
	@echo "make lint | fmt | migrations-check | lock | stop-db | clean"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact keeps pip and uv themselves in the environment.
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --locked --inexact --quiet
	touch $@

install: $(VENV)/.installed

# Compiles the .po catalogues in Python (Babel): no GNU gettext needed.
messages: install
	$(BIN)/pybabel --quiet compile --domain django --directory locale

db: install
	$(BIN)/python -m config.database ensure

setup: install messages db
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo

run: setup
	@echo
	@echo "  Specialist Atlas: http://127.0.0.1:$(PORT)/"
	@if [ "$$DEBUG" != "0" ]; then echo "  Demo editor: http://127.0.0.1:$(PORT)/admin/  user editor, password editor"; fi
	@echo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark runs with DEBUG off, as production does, in a database of its own on the same
# server (DATABASE_NAME); the first run seeds it (a few minutes), later runs reuse it.
BENCH_ENV := DEBUG=0 SECRET_KEY=bench-only-not-secret ALLOWED_HOSTS=localhost \
	DATABASE_NAME=specialists_bench
bench: install messages
	$(BENCH_ENV) $(BIN)/python -m config.database ensure
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BENCH_ENV) $(BIN)/python manage.py bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: db
	$(BIN)/python manage.py makemigrations --check --dry-run

lock: $(BIN)/uv
	$(BIN)/uv lock

# Stops the embedded PostgreSQL (its data stays in var/postgres).
stop-db:
	if [ -x $(BIN)/python ]; then env -u DATABASE_URL $(BIN)/python -m config.database stop; fi

clean: stop-db
	rm -rf $(VENV) var staticfiles
	find . -name '*.mo' -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
