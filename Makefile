# zerohsi_ros — the two commands: `make demo` and `make test`. Both set up .venv first (idempotent).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test lint format bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m zerohsi_core.cli demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: setup
	$(PY) bench/render_cpu.py

clean:
	rm -rf build outputs .pytest_cache .ruff_cache
