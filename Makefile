# SalesOps — two commands do everything: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo serve test lint format bench clean messages

RUN_STAMP := $(VENV)/.installed-run-stamp
INSTALL_LOG := var/install.log
# When `make` started: `make demo` reports the time to a ready demo, install included.
STARTED := $(shell date +%s)

# pip's and setuptools' output goes to the log; on failure the log's tail is shown.
define pip_install
	@mkdir -p var
	@echo "正在安装依赖（首次约 1 分钟）… / Installing dependencies (first run takes about a minute)…"
	@{ test -x $(BIN)/python || $(PY) -m venv $(VENV); } >$(INSTALL_LOG) 2>&1 \
	  && $(BIN)/python -m pip install --upgrade pip >>$(INSTALL_LOG) 2>&1 \
	  && $(BIN)/python -m pip install -e '$(1)' >>$(INSTALL_LOG) 2>&1 \
	  || { tail -n 25 $(INSTALL_LOG); \
	       echo "安装失败，完整日志 / install failed, full log: $(INSTALL_LOG)"; exit 1; }
endef

# The demo needs only the runtime dependencies (a quarter less to install on a fresh
# machine); tests and lint need the dev ones too, which include them.
$(RUN_STAMP): pyproject.toml
	$(call pip_install,.)
	@touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	$(call pip_install,.[dev])
	@touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

demo: $(RUN_STAMP)
	@SALESOPS_STARTED=$(STARTED) $(BIN)/salesops demo

serve: $(RUN_STAMP)
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
	$(BIN)/python bench/bench_list_pages.py
	$(BIN)/python bench/bench_crm.py
	@if command -v wrk >/dev/null; then $(BIN)/python bench/bench_load.py; \
	  else echo "bench_load.py skipped: needs wrk (apt-get install -y wrk)"; fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
