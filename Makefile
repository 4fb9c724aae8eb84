# ism-tui: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+ and make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv bytecode demo test bench lint sim clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ism-tui needs Python 3.11+ (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

## Byte-compile the project: an editable install is not compiled by pip, and where
## PYTHONDONTWRITEBYTECODE is set every start recompiled it (a noticeable part of the start).
## Only changed files are recompiled.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 ism_tui screens storage bench >/dev/null

## Start the simulator with the demo scenario on a free loopback port and open the console on it.
demo: bytecode
	$(BIN)/ism-tui demo

## Just the simulator (demo scenario) on 127.0.0.1:8765.
sim: bytecode
	$(BIN)/ism-tui sim --port 8765

## The whole suite, a worker per logical CPU: a VM's vCPUs may be threads of one core, which
## "auto" (physical cores) would count once. TEST_WORKERS=0 runs it in one process, to debug.
TEST_WORKERS ?= logical
test: bytecode
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

## Speed and memory targets (bench/README.md).
bench: bytecode
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy ism_tui storage

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
