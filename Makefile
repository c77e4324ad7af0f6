# sitrep: the two commands a newcomer needs are `make demo` and `make test`.
# Everything is installed here, from PyPI and Maven Central; nothing by hand.

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SITREP := $(BIN)/sitrep

.PHONY: install lint unit integration test demo stack-up stack-down bench clean

install: $(VENV)/.installed

# Re-installs when the dependencies change; constraints.txt pins every version we test with.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check services tests
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest tests/unit

integration: install
	$(BIN)/python -m pytest tests/integration

# Starts the local stack, lints, runs every test (unit and integration), and always stops
# the stack again, also when something failed; the exit code is the first failure's.
test: install
	@status=0; \
	$(SITREP) stack up || status=$$?; \
	if [ $$status -eq 0 ]; then \
	  $(MAKE) --no-print-directory lint || status=$$?; \
	  $(BIN)/python -m pytest || { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	fi; \
	$(SITREP) stack down || true; \
	exit $$status

# Fresh machine to working pipeline: stack, topics and template, the demo sites polled,
# cleaned, tagged and indexed, then a search for "border" with facets. The stack keeps running.
demo: install
	$(SITREP) stack up
	$(SITREP) setup
	$(SITREP) demo

stack-up: install
	$(SITREP) stack up

stack-down: install
	$(SITREP) stack down

clean:
	-$(SITREP) stack down
	rm -rf $(VENV) .stack .mypy_cache .ruff_cache .pytest_cache
