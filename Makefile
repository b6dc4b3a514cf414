# Two commands for a fresh machine:  make demo  (train on a built-in corpus, print samples)
#                                     make test  (set up and run the test suite)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.recur-installed

.PHONY: demo test lint bench docs setup clean reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned to the CPU build that lies on these machines, so pip never pulls CUDA wheels.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,lint,docs,music,classify,serve,export,series]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/recur train --corpus kjv --cell lstm --time 2m --val-fraction 0.02 --out runs/demo
	$(BIN)/recur generate runs/demo -n 3 --length 400 --seed 1

test: $(STAMP)
	$(BIN)/python -m pytest

# Every bad input, the fuzzing at length and the kill -9 loops; the counts go into docs/reliability.md
reliability: $(STAMP)
	tally=$$(mktemp) && RECUR_RELIABILITY=long RECUR_RELIABILITY_TALLY=$$tally \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/reliability && \
		$(BIN)/python -m tests.reliability.report $$tally docs/reliability.md; status=$$?; \
		rm -f $$tally; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check recur tests benchmarks scripts
	$(BIN)/ruff format --check recur tests benchmarks scripts
	$(BIN)/mypy recur

# make bench ARGS=--quick (speed only) or ARGS=--quality (the tiny Shakespeare rows only)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(ARGS)

# The site from docs/ (mkdocs.yml); --strict: a broken link or a missing page fails the build
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) runs
