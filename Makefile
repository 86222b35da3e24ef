# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Test processes (pytest-xdist): one a core, each with a database of its own.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS)

.PHONY: run test test-sqlite test-postgres test-whoosh lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	REGISTRY_DEMO=1 $(BIN)/registry init
	REGISTRY_DEMO=1 $(BIN)/registry demo
	REGISTRY_DEMO=1 REGISTRY_ISSUER=http://$(HOST):$(PORT) $(BIN)/registry serve --host $(HOST) --port $(PORT)

# The whole suite, on SQLite and then on PostgreSQL.
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(PYTEST)

# Skipped, and said so, only when no PostgreSQL server answers.
test-postgres: $(STAMP)
	@if $(BIN)/python -m tests.pg_available "$(PG_URL)"; then \
		REGISTRY_TEST_DATABASE_URL="$(PG_URL)" $(PYTEST); \
	else \
		echo "SKIPPED: the PostgreSQL run; no server answers at $(PG_URL)"; \
	fi

# The optional Whoosh backend through the leak and hostile-query suites too (minutes).
test-whoosh: $(STAMP)
	REGISTRY_TEST_WHOOSH_FULL=1 $(PYTEST) tests/search

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
