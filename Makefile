# `make run` and `make test` install everything they need on a fresh Debian machine.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PYTHON ?= python3

.PHONY: install run demo test test-sqlite test-postgres lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Runs the product on the embedded SQLite database: schema, shipped processes, then the demo journey.
run: install
	$(BIN)/jornada init-db
	$(BIN)/jornada deploy bpmn/*.bpmn
	$(BIN)/jornada demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: install
	JORNADA_TEST_DB=sqlite $(BIN)/pytest -q -m "not postgres"

test-postgres: install
	JORNADA_TEST_DB=postgresql JORNADA_TEST_PG_URL="$$(scripts/postgres.sh)" $(BIN)/pytest -q

# The whole suite on SQLite and again on PostgreSQL (installed and started by scripts/postgres.sh).
test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python bench/engine_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
