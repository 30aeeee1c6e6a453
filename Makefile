# roisim: every target creates .venv if it is missing and installs the project into it.
# make bench KEEP=--keep also keeps the run in results/benchmarks/ for git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/roisim run scenarios/ --out results/

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	mkdir -p results/benchmarks
	$(BIN)/python -m pytest benchmarks/ -p no:cacheprovider --benchmark-only \
		--benchmark-json=results/benchmarks/latest.json
	$(BIN)/python -m pytest benchmarks/test_startup.py -p no:cacheprovider -k compiles_nothing
	$(BIN)/python benchmarks/report.py results/benchmarks/latest.json $(KEEP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info
