# Two commands a newcomer needs:
#   make run   - set up a virtualenv and run the service (embedded Redis unless IVR_REDIS_URL is set)
#   make test  - set up the virtualenv and run the whole test suite (Redis from IVR_TEST_REDIS_URL,
#                else a throwaway embedded one)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean browser specs redis

# Installs exactly the versions in uv.lock, and only those (run `uv lock` after changing
# pyproject.toml's dependencies: --locked stops when the lock is out of date). Needs only
# python3 and PyPI: pip bootstraps uv into the virtualenv once; the sync then keeps uv at
# its locked version (it is in the dev extra) and removes what the lock does not name.
$(BIN)/ivr: pyproject.toml uv.lock
	$(PY) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install -q 'uv>=0.5'
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --extra dev
	touch $(BIN)/ivr

setup: $(BIN)/ivr

run: setup
	$(BIN)/ivr serve

# The dashboard test drives Debian's Chromium through Playwright (its own browser
# download does not work offline); install it when it is missing (needs root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "install Chromium first: sudo apt-get install -y chromium" >&2; exit 1; fi; }

# The telephony lint checks every document against Twilio's and jambonz's own npm packages
# (tests/specs/package.json, locked): install them when node_modules is missing or stale,
# and extract the allowed TwiML values from the twilio types.
specs: tests/specs/node_modules/.package-lock.json

tests/specs/node_modules/.package-lock.json: tests/specs/package-lock.json
	cd tests/specs && npm ci --no-audit --no-fund --loglevel=error
	cd tests/specs && node extract-twiml.js > allowed.json

# The fault tests start redis-server processes of their own: install it when missing.
redis:
	@command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server; \
	  else echo "install Redis first: sudo apt-get install -y redis-server" >&2; exit 1; fi; }

test: setup browser specs redis
	$(BIN)/ruff check ivr tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check ivr tests bench
	$(BIN)/mypy

# Benchmarks print their own figures (bench/README.md records what was seen).
bench: setup
	$(BIN)/python bench/bench_acd.py
	$(BIN)/python bench/bench_webhook.py
	$(BIN)/python bench/bench_staffing.py
	$(BIN)/python bench/bench_sim.py
	$(BIN)/python bench/bench_storm.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
