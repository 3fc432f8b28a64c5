# Two commands do all set-up on a fresh machine (see README.md):
#   make run   - install into .venv and start the service on 127.0.0.1 (SQLite, bundled models, outbox SMS)
#   make test  - install the dev extras and test tools, then run every check and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test install install-dev lint typecheck proto proto-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel

# The server depends on idverify-client (clients/python), which is not on an index: install both from the tree.
$(VENV)/.run-installed: $(BIN)/python pyproject.toml clients/python/pyproject.toml constraints.txt
	$(PIP) -e clients/python -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed
	$(PIP) -e 'clients/python[grpc]' -e '.[dev]'
	touch $@

install: $(VENV)/.run-installed

install-dev: $(VENV)/.dev-installed

run: install
	IDVERIFY_LOG_FORMAT=$${IDVERIFY_LOG_FORMAT:-console} $(BIN)/idverify serve

test: install-dev
	bash scripts/test-deps.sh
	$(BIN)/python scripts/gen_proto.py --check
	$(BIN)/python scripts/gen_kserve_proto.py --check
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

proto:
	$(BIN)/python scripts/gen_proto.py

proto-check:
	$(BIN)/python scripts/gen_proto.py --check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
