"""bronze_stream_maintenance: keep the streamed bronze tables' files and snapshots bounded.

`pantrypulse stream` appends to `bronze.invoices_raw`, `bronze.invoices_rejected` and
`bronze.load_log` every ~2 s: up to ~43,000 commits per table a day, each a small file and a
snapshot. Every hour this DAG compacts the recent partitions (`ingest_date` of yesterday and
today, `compact_since_days`; `load_log` is unpartitioned and compacted whole) and expires the
snapshots older than `snapshot_retention_hours` (bronze keeps hours of time travel, not days).
Orphan-file removal stays with the daily `lakehouse_maintenance`.

In the cluster through Trino (`optimize ... WHERE ingest_date >= current_date - interval 'N'
day`, `expire_snapshots`; the catalog's `iceberg.expire-snapshots.min-retention` is 1h);
locally `pantrypulse maintain --retention-hours ... --since-days ... --no-orphans` on the three
tables. Safe beside the running stream (optimistic commits, re-read and retried on conflict).
Catchup is off and one run at a time: only the latest state matters.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, Param, dag
from airflow.timetables.trigger import CronTriggerTimetable

from pantrypulse_tasks import alerts
from pantrypulse_tasks.maintenance import build_bronze_stream_maintenance
from pantrypulse_tasks.pipelines import START_DATE, default_args


@dag(
    dag_id="bronze_stream_maintenance",
    # Hourly, at :45: away from the daily pipeline's (02:30) and maintenance's (05:15) starts.
    schedule=CronTriggerTimetable("45 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    default_args=default_args(retries=2),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=50),
        callback=AsyncCallback(
            alerts.deadline_missed,
            kwargs={"dag_id": "bronze_stream_maintenance", "deadline": "50 min after queued"},
        ),
    ),
    params={
        # Every commit rewrites the table metadata, which lists every live snapshot: at 2 s
        # batches that is 1,800 snapshots an hour, so bronze keeps two hours of time travel.
        "snapshot_retention_hours": Param(
            2,
            type="integer",
            minimum=1,
            maximum=168,
            description="Expire bronze snapshots older than this many hours "
            "(at least 1: Trino's iceberg.expire-snapshots.min-retention and the embedded "
            "minimum)",
        ),
        "compact_since_days": Param(
            1,
            type="integer",
            minimum=0,
            maximum=7,
            description="Compact the partitions with ingest_date >= today (UTC) - N days",
        ),
    },
    tags=["pantrypulse", "maintenance", "iceberg", "bronze", "streaming"],
    doc_md=__doc__,
)
def bronze_stream_maintenance():
    """Compact recent bronze partitions, expire snapshots older than hours."""
    build_bronze_stream_maintenance()


bronze_stream_maintenance()
