# `make run` and `make test` install everything they need on a fresh Debian machine.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PYTHON ?= python3

MO     := web/translations/pt_BR/LC_MESSAGES/messages.mo
ASSETS := web/static/dist/.built

.PHONY: install run demo test test-sqlite test-postgres lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Compiled translation catalogues (the .po files are the source).
$(MO): web/translations/pt_BR/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d web/translations >/dev/null

# The editor, viewer and chart JavaScript, bundled from npm packages into web/static/dist (no CDN at run time).
$(ASSETS): web/assets/package.json web/assets/package-lock.json $(wildcard web/assets/*.mjs web/assets/src/*)
	scripts/system-packages.sh node
	cd web/assets && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $(ASSETS)

install: $(STAMP) $(MO) $(ASSETS)

# Debian's headless Chromium for the browser tests.
browser:
	scripts/system-packages.sh chromium

# Serves the product at http://127.0.0.1:8000 on the embedded SQLite database with the scheduler running:
# schema, shipped processes, demo customers at different points of their journey (first run only), demo users.
run: install
	$(BIN)/jornada init-db
	$(BIN)/jornada deploy bpmn/*.bpmn
	$(BIN)/jornada demo --if-empty --customers 24 --days 30 --signup-share 0.85 --idle-hours 72 --quiet
	$(BIN)/jornada users demo
	$(BIN)/jornada serve --scheduler

# The simulated journey alone (KPI table and alert counts), without the web app.
demo: install
	$(BIN)/jornada init-db
	$(BIN)/jornada deploy bpmn/*.bpmn
	$(BIN)/jornada demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: install browser
	JORNADA_TEST_DB=sqlite $(BIN)/pytest -q -m "not postgres"

test-postgres: install browser
	JORNADA_TEST_DB=postgresql JORNADA_TEST_PG_URL="$$(scripts/postgres.sh)" $(BIN)/pytest -q

# The whole suite on SQLite and again on PostgreSQL (installed and started by scripts/postgres.sh).
test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python bench/engine_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
