# Two commands: `make run` serves kefu on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` installs only what serving needs; the test, lint and bench targets add
# the dev extras. Each is redone when pyproject.toml changes.
SERVE := $(VENV)/.installed-serve
DEV := $(VENV)/.installed-dev

.PHONY: run demo test test-sqlite test-postgres lint typecheck check clean bench bench-smoke

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(SERVE)

# The dev extras include everything serving needs, so this stamp stands for both.
$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(SERVE) $(DEV)

run: $(SERVE)
	$(BIN)/python -m service serve

# `make run` plus the demo host page's signed sample VIP player (/demo/), with a throw-away
# player secret unless KEFU_PLAYER_SECRET is set, and the demo site's brand in the templates
# unless KEFU_BRAND is set. For trying the embed, never for production.
demo: $(SERVE)
	KEFU_DEMO=true KEFU_BRAND="$${KEFU_BRAND:-星辰游戏}" KEFU_PLAYER_SECRET="$${KEFU_PLAYER_SECRET:-demo-$$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}" \
		$(BIN)/python -m service serve

# The whole suite, on SQLite and (when it answers, always under CI=true) on PostgreSQL.
test: $(DEV)
	$(BIN)/python -m pytest

test-sqlite: $(DEV)
	KEFU_TEST_BACKENDS=sqlite $(BIN)/python -m pytest

test-postgres: $(DEV)
	KEFU_TEST_BACKENDS=postgresql $(BIN)/python -m pytest

lint: $(DEV)
	$(BIN)/ruff check service tests migrations bench

typecheck: $(DEV)
	$(BIN)/mypy

check: lint typecheck test

# The benchmark (docs/benchmarks.md): floor relay, kefu on SQLite and on PostgreSQL, phases A-F.
# It refuses a busy machine (load average above half the cores); BENCH_ARGS=--allow-noisy runs
# anyway and marks the results noisy. The last line printed is the one-line summary.
bench: $(DEV)
	$(BIN)/python -m bench.run full --record $(BENCH_ARGS)

# About a minute, loose thresholds (nothing lost, audit clean, a minimum ratio to the floor).
bench-smoke: $(DEV)
	$(BIN)/python -m bench.run smoke --allow-noisy $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
