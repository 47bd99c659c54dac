# rs_assets: two commands set everything up: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
REPO := $(abspath .)
export DAGSTER_HOME := $(REPO)/.dagster_home
export GX_ANALYTICS_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install img2dataset demo ui test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -c deploy/constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# img2dataset pins pandas<3 and webdataset<0.3, so it lives in its own venv; the URL-list test runs it
.venv-img2dataset/bin/img2dataset: deploy/img2dataset.txt
	$(PY) -m venv .venv-img2dataset
	.venv-img2dataset/bin/pip install -q -r deploy/img2dataset.txt
	touch $@

img2dataset: .venv-img2dataset/bin/img2dataset

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/rs-assets demo

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $${PORT:-3000}

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m rs_assets_tests.bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) data .dagster_home
