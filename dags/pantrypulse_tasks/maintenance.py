"""Iceberg table maintenance: compaction, snapshot expiry, orphan-file removal.

Two DAGs build on this module: `lakehouse_maintenance` (daily, every table, days of retention,
orphan removal) and `bronze_stream_maintenance` (hourly, the three bronze tables the stream
appends to, recent partitions only, hours of retention, no orphan removal).

In the cluster it runs through Trino (`ALTER TABLE ... EXECUTE optimize | expire_snapshots |
remove_orphan_files`) on every Iceberg table of the pipeline's schemas, discovered at run time
so new dbt models are maintained without a DAG change. Locally it is the `ingestion` step
`pantrypulse maintain`, the embedded equivalent with pyiceberg. Both are safe beside running
writers: compaction and expiry are optimistic Iceberg commits (a concurrent commit makes them
retry, never lose data), and only files older than the retention and referenced by no live
snapshot are removed, so an in-flight writer's new files are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from pantrypulse_tasks import alerts
from pantrypulse_tasks.config import RunnerConfig, runner_config
from pantrypulse_tasks.steps import Resources, Step, build_step

RETENTION = "{{ params.retention_days }}"
SCHEMAS = ("bronze", "resolution", "silver", "gold")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

# The bronze tables the stream appends to every ~2 s, with the column they are partitioned by
# (None: unpartitioned, compacted whole).
BRONZE_SCHEMA = "bronze"
BRONZE_STREAM_TABLES: dict[str, str | None] = {
    "invoices_raw": "ingest_date",
    "invoices_rejected": "ingest_date",
    "load_log": None,
}
RETENTION_HOURS = "{{ params.snapshot_retention_hours }}"
SINCE_DAYS = "{{ params.compact_since_days }}"

MAINTAIN_STEP = Step(
    "maintain",
    "ingestion",
    ("maintain", "--retention-days", RETENTION, "--json"),
    timedelta(hours=2),
    "Compact small files, expire snapshots older than the retention, remove orphan files.",
    Resources(cpu="500m", memory="1Gi", cpu_limit="2", memory_limit="4Gi"),
    returns_json=True,
)

BRONZE_STREAM_STEP = Step(
    "maintain",
    "ingestion",
    (
        "maintain",
        "--retention-hours",
        RETENTION_HOURS,
        "--since-days",
        SINCE_DAYS,
        "--no-orphans",
        *(arg for table in BRONZE_STREAM_TABLES for arg in ("--table", f"{BRONZE_SCHEMA}.{table}")),
        "--json",
    ),
    timedelta(minutes=30),
    "Compact the recent partitions of the stream's bronze tables and expire their snapshots "
    "older than the retention in hours (orphan files: the daily lakehouse_maintenance).",
    Resources(cpu="500m", memory="1Gi", cpu_limit="2", memory_limit="4Gi"),
    returns_json=True,
)


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def maintenance_statements(
    catalog: str, schema: str, table: str, retention_days: int, file_size_threshold: str = "128MB"
) -> list[str]:
    """The Trino statements for one table, in order: compact, expire, remove orphans."""
    if retention_days < 1:
        raise ValueError("retention_days must be >= 1")
    name = ".".join(_ident(p) for p in (catalog, schema, table))
    keep = f"'{int(retention_days)}d'"
    return [
        f"ALTER TABLE {name} EXECUTE optimize(file_size_threshold => '{file_size_threshold}')",
        f"ALTER TABLE {name} EXECUTE expire_snapshots(retention_threshold => {keep})",
        f"ALTER TABLE {name} EXECUTE remove_orphan_files(retention_threshold => {keep})",
    ]


def bronze_stream_statements(
    catalog: str,
    schema: str,
    table: str,
    retention_hours: int,
    partition_column: str | None,
    since_days: int = 1,
    file_size_threshold: str = "128MB",
) -> list[str]:
    """The hourly Trino statements for one streamed table: compact recent files, expire.

    Only the partitions of the last `since_days` days (and today) are compacted when the table
    is partitioned by `partition_column`; an unpartitioned table is compacted whole. Expiry
    keeps `retention_hours` of time travel; Trino refuses less than the catalog's
    `iceberg.expire-snapshots.min-retention` (1h in infra/lakehouse/lakehouse_config.py).
    """
    if retention_hours < 1:
        raise ValueError("retention_hours must be >= 1")
    if since_days < 0:
        raise ValueError("since_days must be >= 0")
    name = ".".join(_ident(p) for p in (catalog, schema, table))
    optimize = (
        f"ALTER TABLE {name} EXECUTE optimize(file_size_threshold => '{file_size_threshold}')"
    )
    if partition_column is not None:
        optimize += (
            f" WHERE {_ident(partition_column)} >= current_date - interval '{int(since_days)}' day"
        )
    return [
        optimize,
        f"ALTER TABLE {name} EXECUTE expire_snapshots(retention_threshold => "
        f"'{int(retention_hours)}h')",
    ]


def tables_query(catalog: str, schemas: Sequence[str]) -> str:
    """Trino query listing the base tables of `schemas` (views are not maintained)."""
    listed = ", ".join(f"'{s}'" for s in schemas if _IDENT.match(s))
    # Identifiers are validated above; the values are literals this module generates.
    return (
        f"SELECT table_schema, table_name FROM {_ident(catalog)}.information_schema.tables "  # noqa: S608
        f"WHERE table_type = 'BASE TABLE' AND table_schema IN ({listed}) ORDER BY 1, 2"
    )


def _run_per_table(
    op: BaseOperator, hook: Any, statements: dict[str, Callable[[], list[str]]]
) -> tuple[list[str], dict[str, str]]:
    """Run each table's statements; a failing table does not stop the others (it is returned)."""
    done, failed = [], {}
    for name, make in statements.items():
        try:
            for sql in make():
                op.log.info("%s", sql)
                hook.run(sql)
            done.append(name)
        except Exception as exc:  # reported by the caller, and fails the task
            failed[name] = str(exc)[:300]
    return done, failed


class TrinoMaintenanceOperator(BaseOperator):
    """Run the maintenance statements on every Iceberg table of `schemas` through Trino."""

    template_fields: Sequence[str] = ("retention_days",)
    ui_color = "#dde7f7"

    def __init__(
        self,
        *,
        conn_id: str,
        catalog: str,
        schemas: Sequence[str] = SCHEMAS,
        retention_days: int | str = RETENTION,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.catalog = catalog
        self.schemas = tuple(schemas)
        self.retention_days = retention_days

    def execute(self, context: Any) -> dict[str, Any]:
        """Maintain each table; one table failing does not stop the others, but fails the task."""
        from airflow.providers.trino.hooks.trino import TrinoHook

        hook = TrinoHook(trino_conn_id=self.conn_id)
        retention = int(self.retention_days)
        tables = hook.get_records(tables_query(self.catalog, self.schemas)) or []
        done, failed = _run_per_table(
            self,
            hook,
            {
                f"{schema}.{table}": partial(
                    maintenance_statements, self.catalog, schema, table, retention
                )
                for schema, table in tables
            },
        )
        alerts.emit_metric("pantrypulse_maintenance_tables", len(done), engine="trino")
        if failed:
            raise AirflowException(f"maintenance failed for {sorted(failed)}: {failed}")
        return {"engine": "trino", "tables": done, "retention_days": retention}


class TrinoBronzeStreamMaintenanceOperator(BaseOperator):
    """Hourly: compact recent partitions and expire old snapshots of the streamed bronze tables.

    The tables that do not exist yet (an empty platform, a stream not started) are skipped.
    """

    template_fields: Sequence[str] = ("retention_hours", "since_days")
    ui_color = "#dde7f7"

    def __init__(
        self,
        *,
        conn_id: str,
        catalog: str,
        schema: str = BRONZE_SCHEMA,
        tables: dict[str, str | None] | None = None,
        retention_hours: int | str = RETENTION_HOURS,
        since_days: int | str = SINCE_DAYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.catalog = catalog
        self.schema = schema
        self.tables = dict(BRONZE_STREAM_TABLES if tables is None else tables)
        self.retention_hours = retention_hours
        self.since_days = since_days

    def execute(self, context: Any) -> dict[str, Any]:
        """Maintain each table; one table failing does not stop the others, but fails the task."""
        from airflow.providers.trino.hooks.trino import TrinoHook

        hook = TrinoHook(trino_conn_id=self.conn_id)
        retention, since = int(self.retention_hours), int(self.since_days)
        listed = hook.get_records(tables_query(self.catalog, [self.schema])) or []
        existing = {table for _schema, table in listed}
        skipped = [f"{self.schema}.{t}" for t in self.tables if t not in existing]
        done, failed = _run_per_table(
            self,
            hook,
            {
                f"{self.schema}.{table}": partial(
                    bronze_stream_statements,
                    self.catalog,
                    self.schema,
                    table,
                    retention,
                    column,
                    since,
                )
                for table, column in self.tables.items()
                if table in existing
            },
        )
        alerts.emit_metric(
            "pantrypulse_maintenance_tables", len(done), engine="trino", scope="bronze_stream"
        )
        if failed:
            raise AirflowException(f"maintenance failed for {sorted(failed)}: {failed}")
        return {
            "engine": "trino",
            "tables": done,
            "skipped": skipped,
            "retention_hours": retention,
            "since_days": since,
        }


def _build(step: Step, trino_op: type[BaseOperator], cfg: RunnerConfig | None) -> BaseOperator:
    """`step` through Trino in the cluster, else `pantrypulse maintain` as a local step."""
    cfg = cfg or runner_config()
    if cfg.runner == "kubernetes":
        return trino_op(
            task_id=step.task_id,
            conn_id=cfg.kubernetes.trino_conn_id,
            catalog=cfg.kubernetes.trino_catalog,
            execution_timeout=step.execution_timeout,
            doc_md=step.doc,
        )
    return build_step(step, cfg)


def build_maintenance(cfg: RunnerConfig | None = None) -> BaseOperator:
    """The maintenance task for the configured runner."""
    return _build(MAINTAIN_STEP, TrinoMaintenanceOperator, cfg)


def build_bronze_stream_maintenance(cfg: RunnerConfig | None = None) -> BaseOperator:
    """The hourly bronze maintenance task for the configured runner."""
    return _build(BRONZE_STREAM_STEP, TrinoBronzeStreamMaintenanceOperator, cfg)
