# Everything runs from .venv, which the targets create from the repo's own pinned files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ARCHIVE ?= demo-archive

.PHONY: demo test test-fast bench lint clean

$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/archivist --archive $(DEMO_ARCHIVE) demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

# Benchmarks print figures and ratios against a peer measured in the same run; they assert nothing.
bench: $(STAMP)
	$(BIN)/python -m bench.log
	$(BIN)/python -m bench.relevance
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.tui
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.faults

lint: $(STAMP)
	$(BIN)/ruff check store index archivist tui tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_ARCHIVE) build *.egg-info
