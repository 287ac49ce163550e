# The front door of the repository: `make help` lists every target.
# Python environments are uv projects with their own lock (one per deployable); make creates
# them from the locks on first use, so a fresh clone needs only python3 and the registries.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export UV_PYTHON ?= 3.11
export UV_PYTHON_DOWNLOADS := never
export PANTRYPULSE_HOME ?= $(CURDIR)/.local
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

UV_VERSION := 0.13.8
UV := $(CURDIR)/.tools/uv/bin/uv
ING_ENV := ingestion/.venv/.synced
DBT_ENV := dbt/.venv/.synced
PY := ingestion/.venv/bin/python
PANTRYPULSE := ingestion/.venv/bin/pantrypulse
PYTEST := $(PY) -m pytest

.PHONY: help envs demo test test-unit test-pipelines lint fmt bench clean \
        simulate serve-source ingest import transform resolve status report

help: ## Show this help
	@echo "PantryPulse lakehouse. Start here: make demo, then make test."
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(ING_ENV): ingestion/uv.lock ingestion/pyproject.toml | $(UV)
	$(UV) sync --locked --project ingestion --quiet
	@touch $@

$(DBT_ENV): dbt/uv.lock dbt/pyproject.toml | $(UV)
	$(UV) sync --locked --project dbt --quiet
	@touch $@

envs: $(ING_ENV) $(DBT_ENV) ## Create the ingestion and dbt environments from their locks

# --- PantryPulse ------------------------------------------------------------------------

demo: envs ## Run PantryPulse end to end on the embedded default (no servers) and print a report
	$(PANTRYPULSE) demo

simulate: $(ING_ENV) ## Write simulated invoices + ground truth (OUT=dir, default $PANTRYPULSE_HOME/simulator)
	$(PANTRYPULSE) simulate $(if $(OUT),--out $(OUT))

serve-source: $(ING_ENV) ## Serve simulated invoices over HTTP (PORT=8765)
	$(PANTRYPULSE) serve-source --port $(or $(PORT),8765)

ingest: $(ING_ENV) ## Fetch invoices by date from the HTTP source (FROM=YYYY-MM-DD TO=YYYY-MM-DD)
	$(PANTRYPULSE) ingest $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

import: $(ING_ENV) ## Import a JSON Lines file into bronze (FILE=path)
	@test -n "$(FILE)" || { echo "usage: make import FILE=path/to/invoices.jsonl" >&2; exit 2; }
	$(PANTRYPULSE) import "$(FILE)"

resolve: $(ING_ENV) ## Resolve products and shops into the canonical registry
	$(PANTRYPULSE) resolve

transform: envs ## Resolve entities, then dbt build silver and gold (with tests)
	$(PANTRYPULSE) transform

status: $(ING_ENV) ## Show what bronze holds: counts, rejects, reconciliation, freshness
	$(PANTRYPULSE) status

report: envs ## Print the pipeline report (layers, rejects, quality, top spend)
	$(PANTRYPULSE) report

# --- Quality ----------------------------------------------------------------------------

lint: envs lint-infra ## ruff (Python) and sqlfluff (dbt SQL)
	ingestion/.venv/bin/ruff check ingestion dags tests
	ingestion/.venv/bin/ruff format --check ingestion dags tests
	cd dbt && .venv/bin/sqlfluff lint models macros tests analyses --processes 2

fmt: envs ## Format Python with ruff and fix SQL with sqlfluff
	ingestion/.venv/bin/ruff format ingestion dags tests
	ingestion/.venv/bin/ruff check --fix ingestion dags tests
	cd dbt && .venv/bin/sqlfluff fix models macros tests analyses --processes 2

test-unit: $(ING_ENV) ## Unit tests: contract, settings, sources, bronze, simulator, resolver
	$(PYTEST) tests/unit

test-pipelines: envs ## Pipeline tests: dbt models and the embedded end-to-end run
	$(PYTEST) tests/pipelines

test: lint test-unit test-pipelines test-infra test-gitops test-dashboard-assets test-alerts test-dags ## Everything offline: lint, unit, pipelines, infra, gitops, dashboards, DAGs (CI runs this)

bench: envs ## Benchmarks (ingest throughput, dbt build time, then bench-stream) -> tests/bench/results/
	$(PY) -m pantrypulse.bench --out tests/bench/results
	$(MAKE) bench-stream

# The stream bench runs in the integration venv: it starts Kafka as that tier does (the venv
# path is spelled out: $(IT_ENV) is defined in integration.mk, included further down).
.PHONY: bench-stream
bench-stream: tests/integration/.venv/.synced integration-prereqs ## Stream benchmark (Kafka -> bronze invoices/s, delay, files) -> tests/bench/results/
	$(IT_PY) -m pantrypulse.bench_stream --out tests/bench/results

clean: ## Remove local data and caches (keeps the environments)
	rm -rf .local .pytest_cache .ruff_cache dbt/target dbt/logs
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## Also remove the environments and the bootstrap uv
	rm -rf .tools ingestion/.venv dbt/.venv infra/.venv policies/.venv

# Each area owns its targets in a fragment beside its code.
include infra/infra.mk argocd/gitops.mk dags/dags.mk apps/superset-assets/dashboards.mk \
        tests/integration/integration.mk
