# crm1c — the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
AIRFLOW_COMPONENTS := api-server scheduler dag-processor triggerer
RUN := $(or $(AIRFLOW_HOME),.airflow)/run

.PHONY: help venv lock test test-deep lint demo up down contour-up contour-down contour-seed clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "needs $(PY) (Python 3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.txt -c constraints.txt

venv: $(BIN)/python  ## create .venv and install the pinned dependencies
	@touch $(BIN)/python

lock: $(BIN)/python  ## re-freeze constraints.txt from the installed environment
	$(BIN)/uv pip freeze --python $(BIN)/python | grep -v '^-e' > constraints.txt

test: venv  ## run all tests
	$(BIN)/pytest

test-deep: venv  ## property and state-machine tests with 1 000 examples each, no time limit (before resolving an engine change)
	CRM1C_PROPERTY_EXAMPLES=$(or $(EXAMPLES),1000) CRM1C_STATEFUL_EXAMPLES=$(or $(EXAMPLES),1000) \
	  $(BIN)/pytest tests/domain tests/clients/test_odata_filter.py tests/clients/test_phpquery.py \
	  tests/sync/test_sync_stateful.py tests/sync/test_money_stateful.py -p no:cacheprovider --timeout=0

lint: venv  ## ruff, then mypy (the files it checks are set in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/mypy

contour-up: venv  ## start the Bitrix24 and 1C emulators in the background (state in .contour/)
	$(BIN)/python -m contour up

contour-down:  ## stop the emulators
	@[ -x $(BIN)/python ] && $(BIN)/python -m contour down || true

contour-seed: venv  ## reset the emulators' data: make contour-seed PROFILE=demo|empty|scale SIZE=N
	$(BIN)/python -m contour seed --profile $(or $(PROFILE),demo) --size $(or $(SIZE),1000)

demo: venv  ## the main job end to end on the embedded default, with a short report
	$(BIN)/python -m contour down >/dev/null
	$(BIN)/python -m contour seed --profile demo >/dev/null
	$(BIN)/python -m contour up
	CRM1C_ROLLOUT_PROFILE=demo $(BIN)/python scripts/demo.py

up: venv contour-up  ## Airflow (API server, scheduler, dag-processor, triggerer) + contour on 127.0.0.1; UI http://127.0.0.1:8080
	@mkdir -p $(RUN)
	@./airflow.sh version >/dev/null
	@for c in $(AIRFLOW_COMPONENTS); do \
	  if [ -f $(RUN)/$$c.pid ] && kill -0 $$(cat $(RUN)/$$c.pid) 2>/dev/null; then echo "$$c already running"; continue; fi; \
	  setsid ./airflow.sh $$c > $(RUN)/$$c.log 2>&1 < /dev/null & echo $$! > $(RUN)/$$c.pid; \
	done
	@source scripts/airflow-env.sh 2>/dev/null; \
	  host=$$AIRFLOW__API__HOST; case $$host in 0.0.0.0|::|'') host=127.0.0.1;; *:*) host="[$$host]";; esac; \
	  url="http://$$host:$${AIRFLOW__API__PORT:-8080}"; pwfile=$$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE; \
	  for i in $$(seq 1 90); do curl -sf $$url/api/v2/monitor/health >/dev/null && break; sleep 1; done; \
	  curl -sf $$url/api/v2/monitor/health >/dev/null || { echo "Airflow did not become healthy; see $(RUN)/*.log"; exit 1; }; \
	  pw=$$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("admin", ""))' "$$pwfile" 2>/dev/null); \
	  case $$AIRFLOW__API__HOST in 127.*|localhost|::1) reach="this machine only; CRM1C_LISTEN=0.0.0.0 opens it";; \
	    *) reach="listening on $$AIRFLOW__API__HOST: reachable from the network";; esac; \
	  echo "Airflow UI: $$url ($$reach)"; \
	  echo "  login: admin  password: $${pw:-see the file}  (kept in $$pwfile)"; \
	  echo "  logs in $(RUN)/"

# The API server goes last: stopped before its clients, it waits about 15 s for them to let go.
down:  ## stop Airflow and the contour (by PID)
	@for c in triggerer dag-processor scheduler api-server; do \
	  if [ -f $(RUN)/$$c.pid ]; then pid=$$(cat $(RUN)/$$c.pid); \
	    kill -TERM -- -$$pid 2>/dev/null || kill -TERM $$pid 2>/dev/null; \
	    for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
	    kill -KILL -- -$$pid 2>/dev/null; rm -f $(RUN)/$$c.pid; echo "stopped $$c"; fi; \
	done
	@$(MAKE) --no-print-directory contour-down

clean: down  ## remove local state (.airflow, .contour); keeps .venv
	rm -rf .airflow .contour
