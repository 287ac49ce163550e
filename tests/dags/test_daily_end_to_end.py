"""`pantrypulse_daily` end to end with dag.test() on the embedded stack (local runner).

The simulator's HTTP source runs on a free loopback port; every step runs the real
`pantrypulse` / `dbt` command in the ingestion and dbt environments. Then the same dates run
again (as a backfill by params) and every table must hold the same data. A failing step is
retried and then fails the run, with the alert line emitted.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, load_dagbag

pytestmark = pytest.mark.slow

INGESTION_PY = REPO / "ingestion" / ".venv" / "bin" / "python"
SIM_START, SIM_DAYS = "2026-01-10", 5
# Run "at" 2026-01-13 02:30 with one day of lookback: ingests 2026-01-11 and 2026-01-12.
LOGICAL = datetime(2026, 1, 13, 2, 30, tzinfo=UTC)
WINDOW = {"date_from": "2026-01-11", "date_to": "2026-01-12"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve-source exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("serve-source did not start listening")


@pytest.fixture(scope="module")
def source():
    """The simulator's HTTP source, a few days of invoices around the test dates."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(INGESTION_PY),
            "-m",
            "pantrypulse.cli",
            "serve-source",
            "--port",
            str(port),
            "--start",
            SIM_START,
            "--days",
            str(SIM_DAYS),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _digest(home: Path) -> dict:
    out = subprocess.run(
        [str(INGESTION_PY), str(Path(__file__).with_name("table_digest.py"))],
        env={"PANTRYPULSE_HOME": str(home), "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _states(run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (str(ti.state), ti.try_number) for ti in run.get_task_instances()}


@pytest.fixture
def embedded(tmp_path, monkeypatch, source):
    """An empty embedded platform: a fresh PANTRYPULSE_HOME and the source's URL."""
    home = tmp_path / "home"
    monkeypatch.setenv("PANTRYPULSE_HOME", str(home))
    monkeypatch.setenv("PANTRYPULSE_SOURCE__BASE_URL", source)
    return home


def _testable(dag):
    """The DAG without its DeadlineAlert, which dag.test() cannot handle.

    dag.test() in Airflow 3.3.2 fails at the end of a run of a DAG with a DeadlineAlert (it
    looks the alert up by id in the metadata DB, where only a DAG stored by the DAG processor
    has it). The deadline is covered by the structure tests and its callback by the alert
    tests, so it is dropped here.
    """
    assert dag.deadline is not None
    dag.deadline = None
    return dag


def test_daily_run_end_to_end_then_same_dates_again_change_nothing(airflow_db, embedded):
    dag = _testable(load_dagbag("local").dags["pantrypulse_daily"])

    first = dag.test(logical_date=LOGICAL, run_conf={"lookback_days": 1})
    states = _states(first)
    assert str(first.state) == "success", states
    assert all(state == "success" for state, _ in states.values()), states
    assert first.get_task_instance("plan_window").xcom_pull(task_ids="plan_window") == WINDOW

    before = _digest(embedded)
    assert before["iceberg:bronze.invoices_raw"]["rows"] > 0
    assert any(key.startswith("duckdb:silver.") for key in before)
    assert any(key.startswith("duckdb:gold.") for key in before)

    # The same dates again, as a backfill through the DAG params, on a later logical date.
    second = dag.test(logical_date=LOGICAL + timedelta(days=1), run_conf=dict(WINDOW))
    assert str(second.state) == "success", _states(second)
    assert _digest(embedded) == before


def test_failing_step_is_retried_then_fails_the_run_visibly(
    airflow_db, embedded, monkeypatch, caplog
):
    # Nothing listens on this port: the source is down, ingest fails on every try.
    monkeypatch.setenv("PANTRYPULSE_SOURCE__BASE_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("PANTRYPULSE_SOURCE__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("PANTRYPULSE_SOURCE__BACKOFF_FACTOR", "0")
    dag = _testable(load_dagbag("local").dags["pantrypulse_daily"])
    ingest = dag.get_task("ingest")
    assert ingest.retries >= 1
    ingest.retries, ingest.retry_delay, ingest.retry_exponential_backoff = 1, timedelta(0), 0

    with caplog.at_level(logging.WARNING, logger="pantrypulse.alerts"):
        run = dag.test(logical_date=LOGICAL, run_conf={"lookback_days": 0})
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["ingest"] == ("failed", 2)  # tried, retried, then failed
    for task_id in ("resolve", "silver", "silver_tests", "gold", "gold_tests"):
        assert states[task_id][0] == "upstream_failed", states
    # Freshness is still published on an empty platform (nothing was created by hand).
    assert states["bronze_status"][0] == "success"
    assert states["publish_freshness"][0] == "success"
    alerts = [r.getMessage() for r in caplog.records if "PANTRYPULSE_ALERT" in r.getMessage()]
    kinds = [json.loads(a.split(" ", 1)[1])["alert"] for a in alerts]
    assert "task_retrying" in kinds
    assert "task_failed" in kinds


def test_maintenance_dag_runs_locally(airflow_db, embedded):
    probe = subprocess.run(
        [str(INGESTION_PY), "-m", "pantrypulse.cli", "maintain", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("`pantrypulse maintain` is not wired into the CLI yet")
    dag = _testable(load_dagbag("local").dags["lakehouse_maintenance"])
    run = dag.test(logical_date=LOGICAL)
    assert str(run.state) == "success", _states(run)
    report = run.get_task_instance("maintain").xcom_pull(task_ids="maintain")
    assert report["engine"] == "pyiceberg"


def test_bronze_stream_maintenance_dag_runs_locally(airflow_db, embedded):
    # On an empty platform the three tables do not exist yet: skipped, and the run succeeds.
    dag = _testable(load_dagbag("local").dags["bronze_stream_maintenance"])
    run = dag.test(logical_date=LOGICAL)
    assert str(run.state) == "success", _states(run)
    report = run.get_task_instance("maintain").xcom_pull(task_ids="maintain")
    assert report["engine"] == "pyiceberg"
    assert report["older_than_hours"] == 2
    assert set(report["tables"]) == {
        "bronze.invoices_raw",
        "bronze.invoices_rejected",
        "bronze.load_log",
    }
    assert report["totals"]["orphans_removed"] == 0
