# Dashboards as code: PantryPulse in Superset (apps/superset-assets), the platform in Grafana and
# Prometheus alerts (apps/observability).
#   apps/superset-assets/.venv   Superset 6.1.0 + duckdb-engine + Playwright + pytest (its own
#                                environment: it pins SQLAlchemy 1.4, pyarrow 18, numpy 1.26)
# The browser is Debian's chromium and promtool comes from Debian's prometheus package: the
# targets that need them install them with apt-get when missing (as root, e.g. in CI).

SUPERSET_ENV := apps/superset-assets/.venv/.synced
SUPERSET_PY := apps/superset-assets/.venv/bin/python
SUPERSET_LOCAL := $(SUPERSET_PY) apps/superset-assets/local.py
GOLD_DB := $(PANTRYPULSE_HOME)/pantrypulse.duckdb

.PHONY: dashboards dashboards-down dashboards-import test-dashboard-assets test-dashboards \
        test-alerts chromium promtool

$(SUPERSET_ENV): apps/superset-assets/uv.lock apps/superset-assets/pyproject.toml | $(UV)
	$(UV) sync --locked --project apps/superset-assets --quiet
	@touch $@

chromium: ## Install headless Chromium + chromedriver from Debian if missing (root)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

promtool: ## Install promtool (Debian's prometheus package) if missing (root)
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

dashboards: $(SUPERSET_ENV) ## Start Superset on the embedded gold, import the dashboards, print URL + login
	@test -f "$(GOLD_DB)" || $(MAKE) demo
	$(SUPERSET_LOCAL) up

dashboards-import: $(SUPERSET_ENV) ## Re-import the dashboards into the running local Superset
	$(SUPERSET_LOCAL) import

dashboards-down: $(SUPERSET_ENV) ## Stop the local Superset started by `make dashboards`
	$(SUPERSET_LOCAL) down

test-dashboard-assets: $(ING_ENV) $(DBT_ENV) ## Superset assets vs dbt manifest (no Superset needed)
	$(PYTEST) tests/dashboards/test_assets.py

test-alerts: $(ING_ENV) promtool ## Grafana dashboard JSON + PrometheusRules (promtool check + unit tests)
	$(PYTEST) tests/dashboards/test_observability.py

test-dashboards: $(SUPERSET_ENV) $(ING_ENV) $(DBT_ENV) chromium ## Live: small demo, Superset, chart data API, browser + screenshots
	$(SUPERSET_PY) -m pytest tests/dashboards/live
