# Two commands do all the set-up on a fresh machine:
#   make demo   — create .venv, install, run the bundled demo
#   make test   — create .venv, install with the test extra, run the test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Exactly this torch first: it is a CPU wheel; a loose `torch` would pull CUDA packages.
TORCH_PIN := torch==2.13.0

.PHONY: demo test bench venv clean

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_PIN)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base pyproject.toml
	$(PIP) install -q $(TORCH_PIN) -e '.[dev]'
	touch $@

venv: $(VENV)/.base

demo: $(VENV)/.base
	$(PIP) install -q $(TORCH_PIN) -e '.[plots]'
	$(PY) -m polymodal.demo

test: $(VENV)/.dev
	$(PY) -m ruff check src tests benchmarks scripts
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev
	$(PY) benchmarks/bench_features.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info demo_output
