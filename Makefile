# Two commands: `make run` serves kefu on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint typecheck check clean bench bench-smoke

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
	$(BIN)/ruff check service tests migrations bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# The benchmark (docs/benchmarks.md): floor relay, kefu on SQLite and on PostgreSQL, phases A-F.
# It refuses a busy machine (load average above half the cores); BENCH_ARGS=--allow-noisy runs
# anyway and marks the results noisy. The last line printed is the one-line summary.
bench: $(STAMP)
	$(BIN)/python -m bench.run full --record $(BENCH_ARGS)

# About a minute, loose thresholds (nothing lost, audit clean, a minimum ratio to the floor).
bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run smoke --allow-noisy $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
