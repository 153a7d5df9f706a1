# Tonle: `make run` sets up and serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# the demo's sandbox connections call the server back at this address
export SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run serve setup test test-deps chromium lint format bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

## The demo's own settings (DEBUG on, its own keys), written once, never overwritten;
## the settings read it, so `.venv/bin/python manage.py …` works in this checkout.
.env: | $(VENV)/.installed
	$(PY) config/demo_env.py .env

setup: $(VENV)/.installed .env
	mkdir -p var
	$(PY) manage.py compile_translations
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

## The back-office on the embedded default: SQLite, filesystem broker, sandbox, demo data.
run: setup serve

serve:
	@echo "Tonle on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server, worker and beat)"
	@trap 'kill 0' EXIT; \
	$(VENV)/bin/celery -A config worker -B --loglevel=INFO --concurrency=2 \
	  --schedule=var/celerybeat-schedule & \
	$(PY) manage.py runserver $(HOST):$(PORT)

## Debian's chromium for the browser tests (Playwright drives it; nothing is downloaded).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test-deps: $(VENV)/.test-installed chromium

## Everything the tests need, then the whole suite (2 workers).
test: test-deps
	mkdir -p var
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.test-installed
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf var staticfiles
