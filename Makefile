# Two commands on a fresh machine: `make run` and `make test` (see README.md).
VENV    ?= .venv
PYTHON  ?= python3
PORT    ?= $(or $(HIMAYA_PORT),5000)
STAMP   := $(VENV)/.installed

.PHONY: run test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/himaya demo
	$(VENV)/bin/himaya serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	VENV=$(VENV) scripts/test.sh

bench: $(STAMP)
	$(VENV)/bin/python bench/engine_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache *.egg-info
