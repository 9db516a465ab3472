# Two commands on a fresh machine: `make run` and `make test` (see README.md).
VENV    ?= .venv
PYTHON  ?= python3
PORT    ?= $(or $(HIMAYA_PORT),5000)
STAMP   := $(VENV)/.installed
ASSETS  := node_modules/.installed
BUILT   := build/assets/manifest.json

.PHONY: run test lint install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

# Front-end packages (htmx, bpmn-js, form-js) from npm, served locally; --ignore-scripts keeps
# @carbon's telemetry post-install from running.
$(ASSETS): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(ASSETS)

# The static files pre-compressed (gzip, brotli) and fingerprinted: `himaya assets` (api/assets.py).
$(BUILT): $(STAMP) $(ASSETS) $(wildcard api/static/*)
	$(VENV)/bin/himaya assets

install: $(STAMP) $(ASSETS) $(BUILT)

run: $(STAMP) $(ASSETS) $(BUILT)
	$(VENV)/bin/himaya demo
	$(VENV)/bin/himaya serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP) $(ASSETS) $(BUILT)
	VENV=$(VENV) scripts/test.sh

# Style and types only (also the first step of `make test`).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/pip install -q -e '.[test,bench]'
	$(VENV)/bin/python bench/engine_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info
