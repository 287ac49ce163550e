"""Live tier: a small embedded demo, Superset on it with the assets imported, an API session.

Runs in apps/superset-assets/.venv (`make test-dashboards`). Environment knobs:
  PANTRYPULSE_TEST_GOLD   reuse this gold DuckDB file instead of running a 60-day demo
  SUPERSET_TEST_PORT      port for the test Superset (default: a free one)
  SCREENSHOT_DIR          where the browser test saves its screenshots (default: a temp dir)
  SUPERSET_TEST_URL       use this running Superset (with SUPERSET_TEST_PASSWORD for admin, and
                          PANTRYPULSE_TEST_GOLD for the file it reads) instead of starting one
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

# Only Superset's environment runs this tier; elsewhere (e.g. `pytest tests`) it is skipped.
if importlib.util.find_spec("superset") is None or importlib.util.find_spec("playwright") is None:
    collect_ignore_glob = ["test_*.py"]

REPO = Path(__file__).resolve().parents[3]
APP = REPO / "apps" / "superset-assets"
PANTRYPULSE = REPO / "ingestion" / ".venv" / "bin" / "pantrypulse"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gold_path(tmp_path_factory) -> Path:
    given = os.environ.get("PANTRYPULSE_TEST_GOLD")
    if given:
        return Path(given).resolve()
    if not PANTRYPULSE.exists():
        pytest.skip("ingestion/.venv is not set up (make envs)")
    home = tmp_path_factory.mktemp("pantrypulse-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANTRYPULSE_", "DBT_"))}
    env.update(PANTRYPULSE_HOME=str(home), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    subprocess.run(
        [str(PANTRYPULSE), "demo", "--days", "60"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return home / "pantrypulse.duckdb"


@pytest.fixture(scope="session")
def gold(gold_path):
    """Read-only connection to the same gold file Superset reads: the expected numbers."""
    con = duckdb.connect(str(gold_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def superset(tmp_path_factory, gold_path):
    """Superset started by local.py on a throwaway home; stopped at the end of the session."""
    if os.environ.get("SUPERSET_TEST_URL"):
        yield {
            "url": os.environ["SUPERSET_TEST_URL"].rstrip("/"),
            "user": "admin",
            "password": os.environ["SUPERSET_TEST_PASSWORD"],
        }
        return
    home = tmp_path_factory.mktemp("superset-home")
    port = int(os.environ.get("SUPERSET_TEST_PORT") or _free_port())
    cmd = [
        sys.executable,
        str(APP / "local.py"),
        "--home",
        str(home),
        "--duckdb",
        str(gold_path),
        "--port",
        str(port),
    ]
    env = {**os.environ, "SUPERSET_ADMIN_PASSWORD": "test-only-password"}
    subprocess.run([*cmd[:2], "up", *cmd[2:]], env=env, check=True)
    yield {"url": f"http://127.0.0.1:{port}", "user": "admin", "password": "test-only-password"}
    subprocess.run([*cmd[:2], "down", *cmd[2:]], env=env, check=False)


@pytest.fixture(scope="session")
def api(superset) -> requests.Session:
    s = requests.Session()
    r = s.post(
        f"{superset['url']}/api/v1/security/login",
        timeout=30,
        json={"username": superset["user"], "password": superset["password"], "provider": "db"},
    )
    r.raise_for_status()
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    s.base = superset["url"]
    return s


@pytest.fixture(scope="session")
def assets() -> dict[str, dict]:
    """Asset documents by kind and file stem, as in the repository."""
    out: dict[str, dict] = {}
    for path in (APP / "assets").rglob("*.yaml"):
        kind = path.relative_to(APP / "assets").parts[0]
        out.setdefault(kind, {})[path.stem] = yaml.safe_load(path.read_text())
    return out
