"""The shared module's pieces on their own: date windows, alert shape, the local runner."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from pantrypulse_tasks import alerts
from pantrypulse_tasks.config import ConfigError, runner_config, validate_image
from pantrypulse_tasks.steps import PantryPulseCommandOperator
from pantrypulse_tasks.windows import MAX_WINDOW_DAYS, WindowError, plan_window

RUN = datetime(2026, 1, 15, 2, 30, tzinfo=UTC)


def test_scheduled_window_is_yesterday_plus_lookback():
    w = plan_window(RUN, lookback_days=3)
    assert (w.date_from, w.date_to) == (date(2026, 1, 11), date(2026, 1, 14))
    assert plan_window(RUN, 0).as_dict() == {"date_from": "2026-01-14", "date_to": "2026-01-14"}


def test_backfill_window_is_exactly_the_range():
    w = plan_window(RUN, 3, "2025-12-01", "2025-12-31")
    assert (w.date_from, w.date_to) == (date(2025, 12, 1), date(2025, 12, 31))
    assert plan_window(RUN, 3, "2026-01-01").date_to == date(2026, 1, 14)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, "2026-01-01"), "date_to given without date_from"),
        (("2026-01-10", "2026-01-01"), "before date_from"),
        (("2026-01-10", "2026-01-15"), "not a past day"),
        (("15/01/2026", None), "param date_from: expected YYYY-MM-DD"),
        (("2020-01-01", "2026-01-01"), f"at most {MAX_WINDOW_DAYS} days"),
    ],
)
def test_bad_backfill_params_name_the_param(args, message):
    with pytest.raises(WindowError, match=message):
        plan_window(RUN, 3, *args)


def test_runner_config_from_environment():
    cfg = runner_config(
        {
            "DAGS__RUNNER": "kubernetes",
            "DAGS__K8S_NAMESPACE": "pp-dev",
            "DAGS__K8S_SECRETS": "a, b",
        }
    )
    assert cfg.runner == "kubernetes"
    assert cfg.kubernetes.namespace == "pp-dev"
    assert cfg.kubernetes.secrets == ("a", "b")
    with pytest.raises(ConfigError, match="DAGS__K8S_IN_CLUSTER"):
        runner_config({"DAGS__K8S_IN_CLUSTER": "maybe"})


@pytest.mark.parametrize(
    "ref", ["reg/pp/ingestion:0.1.0-abc1234", "reg:5000/pp/dbt@sha256:" + "0" * 64]
)
def test_pinned_images_pass(ref):
    assert validate_image(ref, "test") == ref


@pytest.mark.parametrize("ref", ["reg:5000/pp/dbt", "pp/dbt:latest", "pp/dbt@md5:00"])
def test_unpinned_images_fail(ref):
    with pytest.raises(ConfigError):
        validate_image(ref, "test")


def _parse(line: str, marker: str) -> dict:
    head, _, payload = line.partition(" ")
    assert head == marker
    return json.loads(payload)


def test_alert_line_has_a_stable_shape(caplog):
    ti = SimpleNamespace(dag_id="pantrypulse_daily", task_id="ingest", run_id="r1", try_number=4)
    with caplog.at_level(logging.ERROR, logger="pantrypulse.alerts"):
        alerts.task_failed({"ti": ti, "exception": RuntimeError("source down")})
    (record,) = caplog.records
    payload = _parse(record.getMessage(), alerts.ALERT_MARKER)
    assert tuple(payload) == alerts.ALERT_KEYS
    assert payload["alert"] == "task_failed"
    assert payload["task_id"] == "ingest"
    assert payload["reason"] == "RuntimeError: source down"


def test_deadline_callback_emits_the_same_shape(caplog):
    import asyncio

    with caplog.at_level(logging.ERROR, logger="pantrypulse.alerts"):
        asyncio.run(alerts.deadline_missed("pantrypulse_daily", "by 06:30", context={}))
    payload = _parse(caplog.records[0].getMessage(), alerts.ALERT_MARKER)
    assert (payload["alert"], payload["dag_id"]) == ("deadline_missed", "pantrypulse_daily")


def test_metric_line_shape():
    line = alerts.format_metric("pantrypulse_x", 1.5, layer="bronze")
    payload = _parse(line, alerts.METRIC_MARKER)
    assert tuple(payload) == alerts.METRIC_KEYS
    assert payload["labels"] == {"layer": "bronze"}


@pytest.fixture
def fake_python(tmp_path):
    """Stands in for the ingestion interpreter: prints its arguments, exits with $FAKE_EXIT."""
    script = tmp_path / "python"
    script.write_text(
        "#!/bin/sh\n"
        'echo "progress on stderr" >&2\n'
        "shift 2\n"  # drop "-m pantrypulse.cli"
        'printf \'{"argv": "%s"}\\n\' "$*"\n'
        'exit "${FAKE_EXIT:-0}"\n'
    )
    script.chmod(0o755)
    return script


def _op(python, **kwargs):
    return PantryPulseCommandOperator(
        task_id="t",
        image="ingestion",
        arguments=["status", "--json"],
        python=str(python),
        workdir=str(python.parent),
        execution_timeout=timedelta(minutes=1),
        **kwargs,
    )


def test_local_runner_returns_the_json_of_stdout(fake_python):
    assert _op(fake_python, returns_json=True).execute({}) == {"argv": "status --json"}


def test_local_runner_accepts_listed_exit_codes(fake_python, monkeypatch):
    monkeypatch.setenv("FAKE_EXIT", "3")
    assert _op(fake_python, returns_json=True, ok_exit_codes=(0, 3)).execute({})
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match="pantrypulse status exited 3"):
        _op(fake_python).execute({})


def test_local_runner_names_the_setting_when_the_env_is_missing(tmp_path):
    with pytest.raises(ConfigError, match="DAGS__LOCAL_PYTHON"):
        _op(tmp_path / "nope").execute({})
