# loadlab: every user action is a make target. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    := .venv
PY      := $(VENV)/bin/python
LOADLAB := $(VENV)/bin/loadlab
STAMP   := $(VENV)/.installed

PROFILE   ?=
SERVERS   ?=
SCENARIOS ?=
LABEL     ?=
SERVER    ?=
SCENARIO  ?=
PROJECT   ?=
RESULTS   ?=
A ?=
B ?=

.PHONY: help setup bench capacity longlived calibrate ui serve compare fidelity check test lint docs clean distclean

help: ## this list
	@echo "loadlab: should this Django view be async, and on which server?"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'
	@echo "examples: make bench PROFILE=smoke SERVERS=gunicorn-sync,uvicorn SCENARIOS=weather"
	@echo "          make ui SERVER=uvicorn SCENARIO=weather    make compare A=results/<run>"

$(STAMP): pyproject.toml
	@py=$$(bin/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "setup: creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	fi
	@echo "setup: installing loadlab and its test tools into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv (Python >= 3.12) and install everything
	@echo "setup: ready ($$($(PY) --version)) in $(VENV)"

bench: $(STAMP) ## run the matrix: [PROFILE=quick] [SERVERS=a,b] [SCENARIOS=x,y] [LABEL=name]
	$(LOADLAB) bench $(if $(PROFILE),--profile $(PROFILE)) $(if $(SERVERS),--servers $(SERVERS)) \
	  $(if $(SCENARIOS),--scenarios $(SCENARIOS)) $(if $(LABEL),--label $(LABEL)) \
	  $(if $(PROJECT),--project $(PROJECT))

capacity: $(STAMP) ## the load each configuration holds within its SLO: [SERVERS=a,b] [SCENARIOS=x,y]
	$(LOADLAB) capacity $(if $(SERVERS),--servers $(SERVERS)) \
	  $(if $(SCENARIOS),--scenarios $(SCENARIOS)) $(if $(LABEL),--label $(LABEL)) \
	  $(if $(PROJECT),--project $(PROJECT))

longlived: $(STAMP) ## held connections (streams, websockets, slow uploads) per server, sync vs async: [SERVERS=a,b]
	$(LOADLAB) capacity --profile longlived --events 6 --interval-ms 200 --size-kb 64 --rate-kbps 64 \
	  $(if $(SERVERS),--servers $(SERVERS)) $(if $(SCENARIOS),--scenarios $(SCENARIOS)) \
	  --label $(or $(LABEL),longlived)

calibrate: $(STAMP) ## this machine's noise floor for compare: [PROFILE=quick] [SERVERS=a,b] [SCENARIOS=x,y]
	$(LOADLAB) calibrate $(if $(PROFILE),--profile $(PROFILE)) $(if $(SERVERS),--servers $(SERVERS)) \
	  $(if $(SCENARIOS),--scenarios $(SCENARIOS))

ui: $(STAMP) ## Locust web UI on 127.0.0.1:8089: SERVER=uvicorn [SCENARIO=weather] [LABEL=] [RESULTS=] [WARMUP=]
	@[ -n "$(SERVER)" ] || { echo "make ui: say which server, e.g. make ui SERVER=uvicorn (loadlab list)"; exit 2; }
	$(LOADLAB) ui --server $(SERVER) $(if $(SCENARIO),--scenario $(SCENARIO)) \
	  $(if $(PROJECT),--project $(PROJECT)) $(if $(LABEL),--label $(LABEL)) \
	  $(if $(RESULTS),--results $(RESULTS)) $(if $(WARMUP),--warmup $(WARMUP))

serve: $(STAMP) ## the app alone for manual poking: SERVER=gunicorn-sync
	@[ -n "$(SERVER)" ] || { echo "make serve: say which server, e.g. make serve SERVER=gunicorn-sync"; exit 2; }
	$(LOADLAB) serve --server $(SERVER) $(if $(PROJECT),--project $(PROJECT))

compare: $(STAMP) ## compare runs: A=results/<run> [B=results/<run>]
	@[ -n "$(A)" ] || { echo "make compare: say which run, e.g. make compare A=results/<run> [B=results/<run>]"; exit 2; }
	$(LOADLAB) compare $(A) $(B)

fidelity: $(STAMP) ## hello's peak throughput, loadlab vs wrk (gunicorn-sync, uvicorn)
	$(LOADLAB) fidelity

lint: $(STAMP) ## ruff over the code
	$(VENV)/bin/ruff check app scripts locustfiles tests manage.py

# make test runs two tests at a time (JOBS, at most the machine's CPUs): most e2e tests
# wait on sleeps and sockets and use about one core. Tests marked `alone` assert a
# relation between measurements that a neighbour would move, so they run after the
# rest, one at a time, with the machine to themselves.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 2 ? n : 2 )))

check: $(STAMP) ## lint, the harness's shape and the fast tests (no servers): under 2 minutes
	$(VENV)/bin/ruff check app scripts locustfiles tests manage.py
	@if [ -x ../shared/tools/check-structure ]; then ../shared/tools/check-structure; fi
	$(PY) -m pytest -q -n $(JOBS) -m "not e2e and not alone" --durations=5
	$(PY) -m pytest -q -m "alone and not e2e" --durations=0

test: $(STAMP) ## the whole test suite (what CI runs): JOBS=2 at a time, then the `alone` tests one by one
	$(VENV)/bin/ruff check app scripts locustfiles tests manage.py
	$(PY) -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder -m "not alone"
	$(PY) -m pytest -m alone

docs: $(STAMP) ## write docs/cli.md, the command-line reference, from the parser (a test checks it)
	$(PY) -c 'from scripts.args import cli_reference; print(cli_reference(), end="")' > docs/cli.md.tmp
	@mv docs/cli.md.tmp docs/cli.md && echo "docs: wrote docs/cli.md from scripts/args.py"

clean: ## remove caches and the lab's scratch files (keeps results/ and .venv)
	rm -rf .pytest_cache .ruff_cache .loadlab build *.egg-info
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
