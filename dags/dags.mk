# Orchestration (dags/): the Airflow environment from its own lock, the DAG tests, and a local
# Airflow on the embedded stack. Included by the root Makefile (UV, ING_ENV, DBT_ENV and
# PANTRYPULSE_HOME come from there).

DAGS_ENV := dags/.venv/.synced
AIRFLOW_BIN := dags/.venv/bin/airflow
AIRFLOW_LOCAL_HOME ?= $(PANTRYPULSE_HOME)/airflow
AIRFLOW_PORT ?= 8080
AIRFLOW_SOURCE_PORT ?= 8765
# The local source serves the last 60 days, so the daily run always finds "yesterday".
AIRFLOW_SOURCE_DAYS ?= 60

.PHONY: test-dags airflow

$(DAGS_ENV): dags/uv.lock dags/pyproject.toml | $(UV)
	$(UV) sync --locked --project dags --quiet
	@touch $@

test-dags: $(DAGS_ENV) $(ING_ENV) $(DBT_ENV) ## DAG tests: load, structure, no parse-time I/O, pod specs, ruff AIR, dag.test() end to end
	dags/.venv/bin/ruff check --select AIR --preview dags
	dags/.venv/bin/python -m pytest tests/dags

airflow: $(DAGS_ENV) $(ING_ENV) $(DBT_ENV) ## Local Airflow on the embedded stack: DAGs unpaused and scheduled, simulator source (PORT=8080)
	@mkdir -p "$(AIRFLOW_LOCAL_HOME)"
	@start=$$(date -u -d "$(AIRFLOW_SOURCE_DAYS) days ago" +%F); \
	$(PANTRYPULSE) serve-source --port $(AIRFLOW_SOURCE_PORT) --start $$start \
	  --days $(AIRFLOW_SOURCE_DAYS) > "$(AIRFLOW_LOCAL_HOME)/source.log" 2>&1 & src=$$!; \
	export PATH="$(CURDIR)/dags/.venv/bin:$$PATH" AIRFLOW_HOME="$(AIRFLOW_LOCAL_HOME)" \
	  AIRFLOW__CORE__DAGS_FOLDER="$(CURDIR)/dags" \
	  AIRFLOW__CORE__LOAD_EXAMPLES=False \
	  AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False \
	  AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin \
	  AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	  AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(AIRFLOW_PORT)/execution/ \
	  DAGS__RUNNER=local \
	  PANTRYPULSE_SOURCE__BASE_URL=http://127.0.0.1:$(AIRFLOW_SOURCE_PORT); \
	( for _ in $$(seq 1 120); do \
	    f="$(AIRFLOW_LOCAL_HOME)/simple_auth_manager_passwords.json.generated"; \
	    if [ -s "$$f" ] && curl -sf -o /dev/null http://localhost:$(AIRFLOW_PORT)/api/v2/version; then \
	      echo; echo "Airflow is up: http://localhost:$(AIRFLOW_PORT)  user: admin  password: $$(sed -E 's/.*"admin": *"([^"]*)".*/\1/' "$$f")"; \
	      echo "DAGs run on their schedule (pantrypulse_daily 02:30 UTC, lakehouse_maintenance 05:15 UTC);"; \
	      echo "run one now: AIRFLOW_HOME=$(AIRFLOW_LOCAL_HOME) $(AIRFLOW_BIN) dags trigger pantrypulse_daily"; \
	      echo "Source: http://127.0.0.1:$(AIRFLOW_SOURCE_PORT), data under $(PANTRYPULSE_HOME). Ctrl-C stops."; echo; \
	      break; fi; sleep 2; done ) & poll=$$!; \
	trap 'kill $$src $$poll 2>/dev/null' EXIT INT TERM; \
	$(AIRFLOW_BIN) standalone
