# SalesOps — two commands do everything: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo serve test lint format bench clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/salesops demo

serve: install
	$(BIN)/salesops serve

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy salesops
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	cd salesops && ../$(BIN)/python ../manage.py makemessages -l en --no-obsolete --ignore 'static/*' --ignore 'tests/*' --ignore '*/tests/*'
	$(BIN)/python manage.py compilemessages -v 0 --ignore '.venv'

bench: install
	$(BIN)/python bench/bench_member_tree.py
	$(BIN)/python bench/bench_import_orders.py
	$(BIN)/python bench/bench_comp_engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
