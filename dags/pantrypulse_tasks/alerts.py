"""Alerts and metrics with a stable shape, for the monitoring stack to pick up.

Every alert is one log line: the marker `PANTRYPULSE_ALERT`, a space, then a JSON object with
the keys in `ALERT_KEYS` (always all present, `null` when unknown). Loki rules match the marker
and parse the JSON; the same event also increments the StatsD/OpenTelemetry counter
`pantrypulse.alerts` when Airflow metrics are enabled. Metrics are the `PANTRYPULSE_METRIC`
line with the keys in `METRIC_KEYS`, and a gauge of the same name.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

ALERT_MARKER = "PANTRYPULSE_ALERT"
METRIC_MARKER = "PANTRYPULSE_METRIC"
ALERT_KEYS = (
    "alert",
    "severity",
    "dag_id",
    "task_id",
    "run_id",
    "try_number",
    "logical_date",
    "reason",
    "at",
)
METRIC_KEYS = ("metric", "value", "labels", "at")

log = logging.getLogger("pantrypulse.alerts")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stats(kind: str, name: str, value: float, tags: dict[str, str]) -> None:
    """Best effort: Airflow's metrics client is a no-op when metrics are not configured."""
    try:
        from airflow.sdk.observability.stats import Stats

        if kind == "incr":
            Stats.incr(name, tags=tags)
        else:
            Stats.gauge(name, value, tags=tags)
    except Exception:  # never let a metrics backend hide the alert itself
        log.debug("metrics backend unavailable for %s", name, exc_info=True)


def format_alert(**fields: Any) -> str:
    """The alert line: marker + JSON with every key of `ALERT_KEYS`, in that order."""
    unknown = set(fields) - set(ALERT_KEYS)
    if unknown:
        raise ValueError(f"unknown alert keys: {sorted(unknown)}")
    payload = {key: fields.get(key) for key in ALERT_KEYS}
    payload["at"] = payload["at"] or _now()
    return f"{ALERT_MARKER} {json.dumps(payload, default=str, separators=(',', ':'))}"


def format_metric(metric: str, value: float | None, **labels: Any) -> str:
    """The metric line: marker + JSON with every key of `METRIC_KEYS`."""
    payload = {"metric": metric, "value": value, "labels": labels, "at": _now()}
    return f"{METRIC_MARKER} {json.dumps(payload, default=str, separators=(',', ':'))}"


def emit_alert(**fields: Any) -> str:
    """Log the alert line (level ERROR) and count it; return the line."""
    line = format_alert(**fields)
    log.error(line)
    _stats(
        "incr",
        "pantrypulse.alerts",
        1,
        {
            "alert": str(fields.get("alert")),
            "dag_id": str(fields.get("dag_id")),
        },
    )
    return line


def emit_metric(metric: str, value: float | None, **labels: Any) -> str:
    """Log the metric line and set the gauge; return the line."""
    line = format_metric(metric, value, **labels)
    log.info(line)
    if value is not None:
        _stats("gauge", metric, float(value), {k: str(v) for k, v in labels.items()})
    return line


def task_failed(context: dict[str, Any]) -> None:
    """`on_failure_callback` of every task: the task failed after its last retry."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    emit_alert(
        alert="task_failed",
        severity="critical",
        dag_id=getattr(ti, "dag_id", None),
        task_id=getattr(ti, "task_id", None),
        run_id=getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        try_number=getattr(ti, "try_number", None),
        logical_date=context.get("logical_date"),
        reason=(f"{type(exc).__name__}: {exc}"[:500] if exc else None),
    )


def task_retrying(context: dict[str, Any]) -> None:
    """`on_retry_callback`: a warning, so flapping steps show before they fail."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    emit_alert(
        alert="task_retrying",
        severity="warning",
        dag_id=getattr(ti, "dag_id", None),
        task_id=getattr(ti, "task_id", None),
        run_id=getattr(ti, "run_id", None),
        try_number=getattr(ti, "try_number", None),
        logical_date=context.get("logical_date"),
        reason=(f"{type(exc).__name__}: {exc}"[:500] if exc else None),
    )


async def deadline_missed(dag_id: str, deadline: str, context: dict | None = None) -> None:
    """Deadline callback (runs on the triggerer): the run was not finished in time."""
    dag_run = (context or {}).get("dag_run") or {}
    run_id = dag_run.get("run_id") if isinstance(dag_run, dict) else None
    emit_alert(
        alert="deadline_missed",
        severity="critical",
        dag_id=dag_id,
        run_id=run_id,
        reason=f"not finished within its deadline ({deadline})",
    )
