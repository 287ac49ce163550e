"""Hourly bronze maintenance on the embedded stack: what `bronze_stream_maintenance` runs locally.

The streaming consumer appends to bronze every ~2 s, one small file and one snapshot per commit.
`pantrypulse maintain --retention-hours H --since-days N --no-orphans --table ...` must bring
the recent partitions back to one file each and drop the snapshots older than H hours, without
touching a row or an older partition.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from click.testing import CliRunner

from pantrypulse import maintenance
from pantrypulse.catalog import ensure_table
from pantrypulse.cli import main as cli
from pantrypulse.maintenance import MaintenanceError, maintain
from pantrypulse.tables import INVOICES_RAW, LOAD_LOG

APPENDS = 200  # the stream's commits of a few minutes, each a few rows
OLD_FILES = 10  # small files in a partition outside the compaction window
ROWS_PER_APPEND = 3
RETENTION = timedelta(hours=6)


def _raw_rows(start: int, n: int, ingest_date: date) -> pa.Table:
    at = datetime.combine(ingest_date, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
    rows = [
        {
            "invoice_id": f"INV-{i}",
            "revision": 1,
            "issued_at": at,
            "issued_date": ingest_date,
            "payload_sha256": f"{i:064x}",
            "raw_json": json.dumps({"invoice_id": f"INV-{i}"}),
            "source": "kafka",
            "slice_key": f"kafka:invoices:0:{i}",
            "source_position": str(i),
            "load_id": f"load-{i}",
            "ingested_at": at,
            "ingest_date": ingest_date,
            "kafka_topic": "invoices",
            "kafka_partition": 0,
            "kafka_offset": i,
        }
        for i in range(start, start + n)
    ]
    return pa.Table.from_pylist(rows, INVOICES_RAW.schema.as_arrow())


def _files_by_day(table) -> dict[date, int]:
    out: dict[date, int] = {}
    for f in table.inspect.files().to_pylist():
        day = f["partition"]["ingest_date"]
        out[day] = out.get(day, 0) + 1
    return out


def _offsets(table) -> list[int]:
    return sorted(table.scan().to_arrow().column("kafka_offset").to_pylist())


@pytest.fixture
def streamed(catalog):
    """bronze.invoices_raw after a stream's many small appends, with a time mark in between.

    The maintenance clock is set to `mark + 6 h`, so with a 6 h retention exactly the
    snapshots committed before `mark` (the first half of the appends and the old partition's)
    are past the retention: snapshot ages are faked by moving "now", as test_maintenance does.
    """
    table = ensure_table(catalog, INVOICES_RAW)
    offset = 0
    # Days relative to the maintenance clock (so the test holds across midnight UTC).
    now_guess = datetime.now(UTC) + RETENTION
    today = now_guess.date()
    old, recent = today - timedelta(days=3), (today - timedelta(days=1), today)
    for _ in range(OLD_FILES):
        table.append(_raw_rows(offset, ROWS_PER_APPEND, old))
        offset += ROWS_PER_APPEND
    for i in range(APPENDS // 2):
        table.append(_raw_rows(offset, ROWS_PER_APPEND, recent[i % 2]))
        offset += ROWS_PER_APPEND
    time.sleep(0.01)
    mark = datetime.now(UTC)
    time.sleep(0.01)
    for i in range(APPENDS // 2):
        table.append(_raw_rows(offset, ROWS_PER_APPEND, recent[i % 2]))
        offset += ROWS_PER_APPEND
    now = mark + RETENTION
    assert now.date() == today  # fails only if midnight UTC falls within these few seconds
    return catalog.load_table(INVOICES_RAW.identifier), mark, now, old, recent


@pytest.mark.slow  # 200 real commits: each pyiceberg commit copies the growing metadata
def test_hourly_maintenance_bounds_files_and_snapshots(catalog, streamed):
    table, mark, now, old, recent = streamed
    rows = _offsets(table)
    files_before = _files_by_day(table)
    snapshots_before = len(table.metadata.snapshots)
    assert sum(files_before.values()) == APPENDS + OLD_FILES
    assert snapshots_before == APPENDS + OLD_FILES

    report = maintain(
        catalog,
        [INVOICES_RAW.identifier, "bronze.invoices_rejected", LOAD_LOG.identifier],
        RETENTION,
        remove_orphans=False,
        compact_since_days=1,
        now=now,
    )

    table = catalog.load_table(INVOICES_RAW.identifier)
    files_after = _files_by_day(table)
    # The recent partitions are one file each; the old one is outside the window, untouched.
    assert files_after == {recent[0]: 1, recent[1]: 1, old: OLD_FILES}
    assert _offsets(table) == rows
    stats = report["tables"][INVOICES_RAW.identifier]
    assert (stats["compacted_partitions"], stats["files_rewritten"]) == (2, APPENDS)
    assert report["compact_since"] == (now.date() - timedelta(days=1)).isoformat()
    # No snapshot older than the retention survives (the branch head is never older here).
    cutoff_ms = int(mark.timestamp() * 1000)
    assert all(s.timestamp_ms >= cutoff_ms for s in table.metadata.snapshots)
    assert stats["snapshots_expired"] == OLD_FILES + APPENDS // 2
    assert len(table.metadata.snapshots) < snapshots_before
    # The oldest remaining snapshot still reads (the expired ones' files are the orphan sweep's).
    oldest = min(table.metadata.snapshots, key=lambda s: s.timestamp_ms)
    assert table.scan(snapshot_id=oldest.snapshot_id).to_arrow().num_rows > 0
    # Tables the stream has not created yet are skipped, not errors.
    assert report["tables"]["bronze.invoices_rejected"]["skipped"] == "table does not exist yet"
    assert report["totals"]["orphans_removed"] == 0

    again = maintain(
        catalog,
        [INVOICES_RAW.identifier],
        RETENTION,
        remove_orphans=False,
        compact_since_days=1,
        now=now,
    )
    assert again["totals"]["compacted_partitions"] == 0
    assert again["totals"]["snapshots_expired"] == 0


def test_since_days_does_not_filter_an_unpartitioned_table(catalog):
    log = ensure_table(catalog, LOAD_LOG)
    schema = LOAD_LOG.schema.as_arrow()
    at = datetime(2020, 1, 1, tzinfo=UTC)
    for i in range(6):
        row = {
            "load_id": f"l{i}",
            "slice_key": f"s{i}",
            "source": "kafka",
            "delivered": 1,
            "accepted": 1,
            "rejected": 0,
            "committed_at": at,
        }
        log.append(pa.Table.from_pylist([row], schema))
    report = maintain(
        catalog, [LOAD_LOG.identifier], RETENTION, remove_orphans=False, compact_since_days=0
    )
    table = catalog.load_table(LOAD_LOG.identifier)
    assert report["tables"][LOAD_LOG.identifier]["compacted_partitions"] == 1
    assert len(table.inspect.files()) == 1
    assert table.scan().to_arrow().num_rows == 6


def test_retention_hours_and_days_are_exclusive(settings, monkeypatch):
    monkeypatch.setenv("PANTRYPULSE_HOME", str(settings.home))
    runner = CliRunner()
    both = runner.invoke(cli, ["maintain", "--retention-days", "7", "--retention-hours", "6"])
    assert both.exit_code == 2
    assert "mutually exclusive" in both.output
    short = runner.invoke(cli, ["maintain", "--retention-hours", "0.5"])
    assert short.exit_code == 2
    assert "at least" in short.output
    ok = runner.invoke(
        cli,
        [
            "maintain",
            "--retention-hours",
            "6",
            "--since-days",
            "1",
            "--no-orphans",
            "--table",
            "bronze.invoices_raw",
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["older_than_hours"] == 6
    assert report["tables"]["bronze.invoices_raw"]["skipped"] == "table does not exist yet"
    with pytest.raises(SystemExit):
        maintenance.main(["--retention-days", "7", "--retention-hours", "6"])


def test_retention_helper_and_bad_since():
    assert maintenance.retention() == timedelta(days=7)
    assert maintenance.retention(hours=6) == timedelta(hours=6)
    assert maintenance.retention(days=2) == timedelta(days=2)
    with pytest.raises(MaintenanceError):
        maintenance.retention(1, 1)


def test_refuses_negative_since(catalog):
    with pytest.raises(MaintenanceError, match="compact_since_days"):
        maintain(catalog, older_than=RETENTION, compact_since_days=-1)
