# Two commands a newcomer needs:
#   make run   - set up a virtualenv and run the service (embedded Redis unless IVR_REDIS_URL is set)
#   make test  - set up the virtualenv and run the whole test suite (Redis from IVR_TEST_REDIS_URL,
#                else a throwaway embedded one)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

$(BIN)/ivr: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/ivr

setup: $(BIN)/ivr

run: setup
	$(BIN)/ivr serve

test: setup
	$(BIN)/ruff check ivr tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check ivr tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
