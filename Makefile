# aimap — two commands set everything up on a fresh clone (Python 3.11 + make):
#   make demo   create .venv, install, run the whole chain on the embedded default
#   make test   install dev extras, run the whole test suite (SQLite and PostgreSQL)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# test processes (pytest-xdist); each test module stays in one process (--dist loadscope)
TEST_WORKERS ?= 2

.PHONY: demo test install install-dev lint clean help

help:
	@echo "make demo  — install and run the demo chain (SQLite, Prefect ephemeral, local site) -> out/"
	@echo "make test  — install dev extras and run the whole suite"
	@echo "make lint  — ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/demosite demo

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf var out .pytest_cache .ruff_cache

.PHONY: screenshots
screenshots: $(VENV)/.installed  ## headless-Chromium screenshots of report.html, tiny and small demo (not part of make test)
	$(BIN)/python benchmarks/screenshots.py
