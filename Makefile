# Two commands: `make run` serves kefu on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m service serve

# The whole suite, on SQLite and (when it answers, always under CI=true) on PostgreSQL.
test: $(STAMP)
	$(BIN)/python -m pytest

test-sqlite: $(STAMP)
	KEFU_TEST_BACKENDS=sqlite $(BIN)/python -m pytest

test-postgres: $(STAMP)
	KEFU_TEST_BACKENDS=postgresql $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check service tests migrations

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
