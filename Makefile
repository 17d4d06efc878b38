# The project's own commands. With no DATABASE_URL/REDIS_URL, everything runs on embedded
# PostgreSQL and Redis under var/ (see portal/devservers.py).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
STAMP := $(VENV)/.requirements.lock

.PHONY: install deps servers run test test-fast bench lint clean chromium

# The servers check, then migrate + load_products unless no migration or product file changed since
# they last ran against this database (portal/install.py): a second `make install` is only a check.
install: deps
	@$(PY) portal/install.py

deps: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/uv --version >/dev/null 2>&1 || $(VENV)/bin/pip install -q "uv==$(UV_VERSION)"
	@$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock
	@cp requirements.lock $(STAMP)

# Start (or reach) PostgreSQL and Redis; stops with a message naming the server and the reason.
servers: deps
	@$(PY) -m portal.devservers check

run: install
	@$(PY) manage.py load_demo
	@$(PY) -m portal.devservers run

chromium:
	@command -v /usr/bin/chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

test: install chromium
	@$(PY) -m pytest

test-fast: install
	@$(PY) -m pytest -m "not e2e" -x -q

# Figures, one JSON line each (README "Figures"); bench/load.py is the load suite (gunicorn, a worker).
bench: install
	@$(PY) bench/rules.py
	@$(PY) bench/claims.py
	@$(PY) bench/imports.py
	@$(PY) bench/uploads.py
	@$(PY) bench/recovery.py
	@$(PY) bench/window.py
	@$(PY) bench/load.py

lint: deps
	@$(VENV)/bin/ruff check .

clean:
	-@$(PY) -m portal.devservers stop
	rm -rf var
