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

.PHONY: help install install-checks audit screenshots loadtest messages map-data db setup run test bench lint fmt migrations-check lock stop-db clean

help:
	@echo "make run    set up everything and serve the site on http://127.0.0.1:$(PORT)/"
	@echo "make test   set up everything and run the whole test suite"
	@echo "make bench  measure the performance budgets on 520,000 specialists"
	@echo "make audit  Lighthouse scores of home, search, condition page and profile"
	@echo "make screenshots  docs/screenshots: condition and search pages, phone and laptop"
	@echo "make loadtest  gunicorn under load: throughput, p95 and errors"
	@echo "make map-data  rebuild the map's outlines from npm's world-atlas (committed output)"
	@echo "make lint | fmt | migrations-check | lock | stop-db | clean"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact keeps pip and uv themselves in the environment.
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --locked --inexact --quiet
	touch $@

install: $(VENV)/.installed

# The page checkers (npm): the Nu HTML checker for the test suite, Lighthouse for make audit.
# --ignore-scripts: vnu-jar's install script would download a Java; the machine's Java runs it.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Without npm (a machine with only Python, make and git) the HTML check is skipped locally; CI
# installs npm and Java, and there a missing checker fails the run.
install-checks:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory node_modules/.installed; \
	else echo "npm is missing: the HTML validity test will be skipped (apt-get install npm default-jre-headless)"; fi

# Compiles the .po catalogues in Python (Babel): no GNU gettext needed.
messages: install
	$(BIN)/pybabel --quiet compile --domain django --directory locale

# The map's country outlines, directory/reference/map/dach.json, from Natural Earth's 1:50m
# countries as npm's world-atlas ships them, simplified. The output is committed: the site reads
# only that file, never node_modules.
map-data: install node_modules/.installed
	$(BIN)/python directory/reference/map/build.py

db: install
	$(BIN)/python -m config.database ensure

setup: install messages db
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_reference
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py write_renditions

run: setup
	@echo
	@echo "  Specialist Atlas: http://127.0.0.1:$(PORT)/"
	@if [ "$$DEBUG" != "0" ]; then echo "  Demo editor: http://127.0.0.1:$(PORT)/admin/  user editor, password editor"; fi
	@echo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: setup install-checks
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark runs with DEBUG off, as production does, in a database of its own on the same
# server (DATABASE_NAME); the first run seeds it (a few minutes), later runs reuse it.
BENCH_ENV := DEBUG=0 SECRET_KEY=bench-only-not-secret ALLOWED_HOSTS=localhost SECURE_SSL_REDIRECT=0 \
	DATABASE_NAME=specialists_bench
bench: install messages
	$(BENCH_ENV) $(BIN)/python -m config.database ensure
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BENCH_ENV) $(BIN)/python manage.py bench

# Lighthouse on home, search, a condition page and a profile, served with DEBUG off (whitenoise,
# hashed static files) from the demo data; prints the scores and writes bench/audit.json.
AUDIT_PORT ?= 8765
AUDIT_ENV := DEBUG=0 SECRET_KEY=audit-only-not-secret ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 \
	WEB_CONCURRENCY=1 SERVE_MEDIA=1
audit: setup node_modules/.installed
	$(AUDIT_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(AUDIT_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(AUDIT_PORT) --noreload >var/audit-server.log 2>&1 & \
		server=$$!; trap "kill $$server" EXIT; \
		$(BIN)/python bench/audit.py http://127.0.0.1:$(AUDIT_PORT)

# The screenshots in docs/screenshots/: the condition and search pages on a phone and a laptop,
# in both languages, from the demo data with DEBUG off.
screenshots: setup
	$(AUDIT_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(AUDIT_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(AUDIT_PORT) --noreload >var/audit-server.log 2>&1 & \
		server=$$!; trap "kill $$server" EXIT; \
		$(BIN)/python bench/screenshots.py http://127.0.0.1:$(AUDIT_PORT)

# A fixed-time load test under gunicorn (DEBUG off) with locust: the patient mix, the condition
# page alone and /healthz alone. LOADTEST_DATABASE=specialists_bench runs it on make bench's
# 520,000 specialists; LOADTEST_SECONDS and LOADTEST_USERS change the run.
LOADTEST_DATABASE ?= specialists
# Several gunicorn workers need a shared cache (production refuses a per-process one).
LOADTEST_REDIS_URL ?= redis://127.0.0.1:6379/14
LOADTEST_ENV := DEBUG=0 SECRET_KEY=loadtest-only-not-secret ALLOWED_HOSTS=127.0.0.1 \
	SECURE_SSL_REDIRECT=0 DATABASE_NAME=$(LOADTEST_DATABASE) REDIS_URL=$(LOADTEST_REDIS_URL)
loadtest: setup
	$(LOADTEST_ENV) $(BIN)/python -m config.database ensure
	$(LOADTEST_ENV) $(BIN)/python manage.py migrate --noinput --verbosity 0
	$(LOADTEST_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(LOADTEST_ENV) $(BIN)/python bench/loadtest.py

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
	rm -rf $(VENV) var staticfiles node_modules
	find . -name '*.mo' -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
