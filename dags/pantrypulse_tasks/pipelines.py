"""What the PantryPulse DAGs run: their steps, defaults and the small in-Airflow tasks.

dbt maps to one task per layer and kind (`silver`, `silver_tests`, `gold`, `gold_tests`), not
one task per model (Cosmos). Reasons: every dbt invocation pays ~6 s of start-up (and, in the
cluster, a pod start), so a task per node would add minutes to a run of a few dozen nodes;
dbt already orders and parallelises models inside a layer; the gates the pipeline needs are
between layers (silver tests must pass before gold is built), which four tasks show plainly in
the UI; and a retry re-runs a layer, which is idempotent (table materializations).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator, task
from airflow.sdk.exceptions import AirflowFailException

from pantrypulse_tasks import alerts
from pantrypulse_tasks.config import RunnerConfig, runner_config
from pantrypulse_tasks.steps import Resources, Step, build_step
from pantrypulse_tasks.windows import WindowError
from pantrypulse_tasks.windows import plan_window as _plan_window

log = logging.getLogger(__name__)

OWNER = "data-platform"
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
DATE_FROM = "{{ ti.xcom_pull(task_ids='plan_window')['date_from'] }}"
DATE_TO = "{{ ti.xcom_pull(task_ids='plan_window')['date_to'] }}"

# dbt selections by folder; `buildable` keeps a test in the first gate whose parents are all
# built by then (a reconciliation test that also reads gold waits for the gold gate).
SILVER = ("--select", "path:models/bronze", "path:models/silver")
GOLD = ("--select", "path:models/gold")
INDIRECT = ("--indirect-selection", "buildable")

DBT_RESOURCES = Resources(cpu="250m", memory="512Mi", cpu_limit="1", memory_limit="1Gi")


def default_args(retries: int = 3) -> dict[str, Any]:
    """Retries with exponential back-off, a timeout on every task, alerts on failure."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=1),
        "on_failure_callback": alerts.task_failed,
        "on_retry_callback": alerts.task_retrying,
    }


DAILY_STEPS: tuple[Step, ...] = (
    Step(
        "ingest",
        "ingestion",
        ("ingest", "--from", DATE_FROM, "--to", DATE_TO),
        timedelta(minutes=45),
        "Fetch the planned dates from the invoice API into bronze (creates the bronze "
        "namespace and tables on first use; re-running a date replaces it).",
        Resources(cpu="500m", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
    ),
    Step(
        "resolve",
        "ingestion",
        ("resolve",),
        timedelta(minutes=30),
        "Entity resolution: products and shops into the canonical registry (stable ids).",
        Resources(cpu="1", memory="2Gi", cpu_limit="2", memory_limit="4Gi"),
    ),
    Step(
        "silver",
        "dbt",
        ("run", *SILVER),
        timedelta(minutes=45),
        "dbt: build bronze staging and silver.",
        DBT_RESOURCES,
    ),
    Step(
        "silver_tests",
        "dbt",
        ("test", *SILVER, *INDIRECT),
        timedelta(minutes=20),
        "dbt: silver tests, the gate before gold.",
        DBT_RESOURCES,
    ),
    Step(
        "gold",
        "dbt",
        ("run", *GOLD),
        timedelta(minutes=30),
        "dbt: build the gold marts.",
        DBT_RESOURCES,
    ),
    Step(
        "gold_tests",
        "dbt",
        ("test", *GOLD, *INDIRECT),
        timedelta(minutes=20),
        "dbt: gold tests, reconciliation to the cent included.",
        DBT_RESOURCES,
    ),
    Step(
        "bronze_status",
        "ingestion",
        ("status", "--json"),
        timedelta(minutes=10),
        "Bronze counts, reconciliation and freshness as JSON (exit 3 = does not reconcile, "
        "reported by publish_freshness).",
        returns_json=True,
        ok_exit_codes=(0, 3),
    ),
)

# Test gates fail for data reasons far more often than for transient ones: one retry only.
GATE_RETRIES = {"silver_tests": 1, "gold_tests": 1}


def build_daily_steps(cfg: RunnerConfig | None = None) -> dict[str, BaseOperator]:
    """The daily pipeline's command steps, keyed by task id."""
    cfg = cfg or runner_config()
    out = {}
    for step in DAILY_STEPS:
        extra = {"retries": GATE_RETRIES[step.task_id]} if step.task_id in GATE_RETRIES else {}
        if step.task_id == "bronze_status":
            # Publish freshness even when ingestion failed: a stale value is the signal.
            extra["trigger_rule"] = "all_done"
        out[step.task_id] = build_step(step, cfg, **extra)
    return out


@task(task_id="plan_window", retries=0, execution_timeout=timedelta(minutes=5))
def plan_window(**context: Any) -> dict[str, str]:
    """Dates to ingest: the day before the run plus the late-arrival window, or a backfill."""
    params = context["params"]
    dag_run = context["dag_run"]
    run_at = context.get("logical_date") or dag_run.run_after
    try:
        window = _plan_window(
            run_at, int(params["lookback_days"]), params.get("date_from"), params.get("date_to")
        )
    except WindowError as exc:
        raise AirflowFailException(str(exc)) from None
    log.info("ingesting %s..%s", window.date_from, window.date_to)
    return window.as_dict()


@task(task_id="publish_freshness", retries=0, execution_timeout=timedelta(minutes=5))
def publish_freshness(status: dict[str, Any]) -> dict[str, Any]:
    """Emit bronze freshness and counts as metric lines; fail when bronze does not reconcile."""
    alerts.emit_metric(
        "pantrypulse_bronze_freshness_hours",
        status.get("freshness_hours"),
        last_http_date=status.get("last_http_date"),
    )
    alerts.emit_metric("pantrypulse_bronze_accepted_rows", status.get("accepted"))
    alerts.emit_metric("pantrypulse_bronze_rejected_rows", status.get("rejected"))
    alerts.emit_metric("pantrypulse_bronze_reconciled", 1 if status.get("reconciled") else 0)
    if not status.get("reconciled"):
        raise AirflowFailException(
            "bronze does not reconcile: unsealed "
            f"{status.get('unsealed_slices')}, mismatched {status.get('mismatched_slices')}"
        )
    return status
