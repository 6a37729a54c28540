# teiten: `make demo` installs and runs the demo; `make test` installs and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-quick lint bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test,spark]'
	$(BIN)/python -m teiten.enrich.build
	touch $(STAMP)

demo: install
	$(BIN)/teiten demo

lint: install
	$(BIN)/ruff check teiten tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# every test, on all cores (pytest-xdist; the tests are independent)
test: install lint
	$(BIN)/pytest -q -n auto

# all but the tests marked slow: a developer's quick check
test-quick: install
	$(BIN)/pytest -q -n auto -m "not slow"

bench: install
	$(BIN)/python bench/ingest.py

docs: install
	$(BIN)/python -m teiten.schema > docs/schema.md
	$(BIN)/python -m teiten.settings > docs/settings.md

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
