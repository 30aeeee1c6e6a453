# roisim: every target creates .venv if it is missing and installs the project into it.
# make bench KEEP=--keep also keeps the run in results/benchmarks/ for git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the package's bytecode, as pip writes it for a regular install (an editable one
# has none): where PYTHONDONTWRITEBYTECODE is set, every run would otherwise
# compile roisim's modules from source (50 ms); quick when they are up to date
BYTECODE := $(BIN)/python -m compileall -q src/roisim

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BYTECODE)
	$(BIN)/roisim run scenarios/ --out results/

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BYTECODE)
	mkdir -p results/benchmarks
	$(BIN)/python -m pytest benchmarks/ -p no:cacheprovider --benchmark-only \
		--benchmark-json=results/benchmarks/latest.json
	$(BIN)/python -m pytest benchmarks/test_startup.py -p no:cacheprovider -k compiles_nothing
	$(BIN)/python benchmarks/report.py results/benchmarks/latest.json $(KEEP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info
