"""pantrypulse_daily: invoices from the API to gold, every day, with no manual step.

plan_window -> ingest -> resolve -> silver -> silver_tests -> gold -> gold_tests
                      \\-> bronze_status -> publish_freshness   (runs even if ingest failed)

Schedule: 02:30 UTC, for the previous day plus `lookback_days` earlier days (late arrivals and
corrections; re-ingesting a date replaces it, so overlaps never duplicate).
Catchup is off: each run already re-reads a window of past days, and silver/gold are full
rebuilds, so replaying every missed day would rebuild the same tables N times. A longer gap is
filled by one run with `date_from`/`date_to` (a backfill by date range, committed in chunks).
The first run on an empty platform needs nothing created by hand: ingest creates the bronze
namespace and tables, resolve the registry, dbt its schemas.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, Param, dag
from airflow.timetables.trigger import CronTriggerTimetable

from pantrypulse_tasks import alerts
from pantrypulse_tasks.pipelines import (
    START_DATE,
    build_daily_steps,
    default_args,
    plan_window,
    publish_freshness,
)
from pantrypulse_tasks.steps import template_macros


@dag(
    dag_id="pantrypulse_daily",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    default_args=default_args(),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(hours=4),
        callback=AsyncCallback(
            alerts.deadline_missed,
            kwargs={"dag_id": "pantrypulse_daily", "deadline": "gold by 06:30 UTC"},
        ),
    ),
    user_defined_macros=template_macros(),
    params={
        "date_from": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Backfill: first date (YYYY-MM-DD); empty = scheduled",
        ),
        "date_to": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Backfill: last date; empty = the day before the run",
        ),
        "lookback_days": Param(
            3,
            type="integer",
            minimum=0,
            maximum=60,
            description="Days before yesterday re-read for late arrivals",
        ),
    },
    tags=["pantrypulse", "pipeline", "daily"],
    doc_md=__doc__,
)
def pantrypulse_daily():
    """Ingest, resolve, build and test silver and gold, publish freshness."""
    steps = build_daily_steps()
    window = plan_window()
    window >> steps["ingest"] >> steps["resolve"] >> steps["silver"] >> steps["silver_tests"]
    steps["silver_tests"] >> steps["gold"] >> steps["gold_tests"]
    steps["ingest"] >> steps["bronze_status"]
    publish_freshness(steps["bronze_status"].output)


pantrypulse_daily()
