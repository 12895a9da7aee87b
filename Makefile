# Every target installs what it needs into .venv first, so each works on a fresh machine with only Python.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench stress lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: a bare `pip install torch` could pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test,remote]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m simple_ckpt demo

test: $(STAMP)
	$(PY) -m pytest -q tests

# The fault-injection loops run a small sample under `make test`; SIMPLE_CKPT_STRESS=1 runs them in full.
stress: $(STAMP)
	SIMPLE_CKPT_STRESS=1 $(PY) -m pytest -q -m stress tests

# One table of ratios against same-run baselines; `make bench BENCH_ARGS="--quick"` (or "journey") for a subset.
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info
