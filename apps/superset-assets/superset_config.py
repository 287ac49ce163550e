"""Superset configuration for the local PantryPulse run (`make dashboards`).

Everything secret or machine-specific comes from the environment that `local.py` prepares:
SUPERSET_HOME (metadata database, logs) and SUPERSET_SECRET_KEY (generated once per home).
The cluster uses the Helm chart's own configuration; only the asset bundle is shared.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{os.environ['SUPERSET_HOME']}/superset.db"

FEATURE_FLAGS = {
    "DASHBOARD_CROSS_FILTERS": True,
    "ALERT_REPORTS": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
}

# Local, loopback only: no HTTPS, so no Talisman; no login rate limit for the browser test.
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False

# The gold file changes under us on every `make demo`: never serve stale numbers.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}

SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 10000
