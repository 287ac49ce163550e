"""Fixtures for the DAG tier (runs in the dags environment: `make test-dags`).

Airflow reads its configuration from the environment when first imported, so this module sets
a throwaway AIRFLOW_HOME (SQLite metadata DB) before anything imports airflow.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="pantrypulse-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)

os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)
os.environ.setdefault("DAGS__RUNNER", "local")
# The DAG bundle's folder is on sys.path at run time; the same for tests importing the package.
sys.path.insert(0, str(DAGS))

DAG_IDS = {"pantrypulse_daily", "lakehouse_maintenance", "bronze_stream_maintenance"}


def load_dagbag(runner: str, monkeypatch: pytest.MonkeyPatch | None = None, **env: str):
    """Parse the dags folder like the DAG processor does, with `runner` configured."""
    from airflow.dag_processing.dagbag import BundleDagBag

    settings = {"DAGS__RUNNER": runner, **env}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        return BundleDagBag(str(DAGS), bundle_path=DAGS)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def local_dagbag():
    """Every DAG as the local runner builds it."""
    return load_dagbag("local")


@pytest.fixture(scope="session")
def k8s_dagbag():
    """Every DAG as the kubernetes runner builds it (no cluster needed to parse)."""
    return load_dagbag("kubernetes", DAGS__K8S_IN_CLUSTER="false")


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata database, for dag.test()."""
    from airflow.utils import db

    db.initdb()
    return _AIRFLOW_HOME
