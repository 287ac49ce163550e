"""lakehouse_maintenance: keep the Iceberg tables fast and their storage bounded.

Compaction of small files, expiry of snapshots older than `retention_days`, removal of orphan
files. In the cluster through Trino (every Iceberg table of the pipeline's schemas); locally
`pantrypulse maintain` on the embedded catalog. It runs on its own schedule, after the daily
pipeline usually finished, and is safe beside running writers (optimistic commits with retry;
only files older than the retention and unreferenced by any live snapshot are deleted).
Catchup is off: maintenance is idempotent and only the latest state matters.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, Param, dag
from airflow.timetables.trigger import CronTriggerTimetable

from pantrypulse_tasks import alerts
from pantrypulse_tasks.maintenance import build_maintenance
from pantrypulse_tasks.pipelines import START_DATE, default_args


@dag(
    dag_id="lakehouse_maintenance",
    schedule=CronTriggerTimetable("15 5 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args=default_args(retries=2),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=2, minutes=30),
        callback=AsyncCallback(
            alerts.deadline_missed,
            kwargs={"dag_id": "lakehouse_maintenance", "deadline": "2h30 after queued"},
        ),
    ),
    params={
        "retention_days": Param(
            7,
            type="integer",
            minimum=1,
            maximum=365,
            description="Keep snapshots and unreferenced files this long "
            "(Trino refuses less than its min-retention, 7d by default)",
        ),
    },
    tags=["pantrypulse", "maintenance", "iceberg"],
    doc_md=__doc__,
)
def lakehouse_maintenance():
    """Compact, expire snapshots, remove orphan files."""
    build_maintenance()


lakehouse_maintenance()
