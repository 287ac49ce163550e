"""Embedded Iceberg maintenance: compaction, snapshot expiry, orphan files, beside writers."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from pyiceberg.table import DataScan
from pyiceberg.types import DateType, LongType, StringType

from pantrypulse import maintenance
from pantrypulse.catalog import ensure_table
from pantrypulse.maintenance import MaintenanceError, maintain
from pantrypulse.tables import TableDef, _fields

EVENTS = TableDef(
    "bronze",
    "events",
    _fields(
        ("id", LongType(), True, ""),
        ("day", DateType(), True, "partition"),
        ("payload", StringType(), True, ""),
    ),
    partition_by=("day",),
)
D1, D2 = date(2026, 1, 15), date(2026, 1, 16)
LATER = datetime.now(UTC) + timedelta(days=8)  # "now" for which everything is 8 days old


def _batch(start: int, n: int, day: date) -> pa.Table:
    schema = EVENTS.schema.as_arrow()
    return pa.Table.from_pylist(
        [{"id": i, "day": day, "payload": f"row {i}"} for i in range(start, start + n)], schema
    )


def _rows(table) -> list[tuple]:
    data = table.scan().to_arrow().sort_by("id")
    return list(zip(*(data.column(c).to_pylist() for c in ("id", "day", "payload")), strict=True))


def _files_by_day(table) -> dict[date, int]:
    out: dict[date, int] = {}
    for f in table.inspect.files().to_pylist():
        out[f["partition"]["day"]] = out.get(f["partition"]["day"], 0) + 1
    return out


@pytest.fixture
def events(catalog):
    """bronze.events with 5 small files in D1 and 2 in D2 (7 appends, 7 snapshots)."""
    table = ensure_table(catalog, EVENTS)
    for i in range(5):
        table.append(_batch(i * 10, 10, D1))
    for i in range(2):
        table.append(_batch(100 + i * 10, 10, D2))
    return catalog.load_table(EVENTS.identifier)


def test_compaction_rewrites_only_partitions_with_many_small_files(catalog, events):
    before = _rows(events)
    report = maintain(catalog, [EVENTS.identifier], expire=False, remove_orphans=False)
    table = catalog.load_table(EVENTS.identifier)
    assert _rows(table) == before
    assert _files_by_day(table) == {D1: 1, D2: 2}
    stats = report["tables"][EVENTS.identifier]
    assert (stats["compacted_partitions"], stats["files_rewritten"]) == (1, 5)
    assert table.current_snapshot().summary["pantrypulse.maintenance"] == "compaction"


def test_expiry_keeps_recent_snapshots_and_branch_head(catalog, events):
    snapshots = len(events.metadata.snapshots)
    report = maintain(catalog, [EVENTS.identifier], compact=False, remove_orphans=False)
    assert report["totals"]["snapshots_expired"] == 0  # all younger than 7 days

    report = maintain(catalog, [EVENTS.identifier], compact=False, remove_orphans=False, now=LATER)
    table = catalog.load_table(EVENTS.identifier)
    assert report["totals"]["snapshots_expired"] == snapshots - 1
    assert [s.snapshot_id for s in table.metadata.snapshots] == [
        table.current_snapshot().snapshot_id
    ]
    assert len(_rows(table)) == 70


def test_orphans_removed_but_never_a_file_a_live_snapshot_references(catalog, events):
    root = events.metadata.location.removeprefix("file://")
    orphan = os.path.join(root, "data", "orphan-from-a-crashed-writer.parquet")
    with open(orphan, "wb") as fh:
        fh.write(b"x" * 100)
    fresh_orphan = os.path.join(root, "data", "in-flight-writer.parquet")
    with open(fresh_orphan, "wb") as fh:
        fh.write(b"y")
    old = (datetime.now(UTC) - timedelta(days=30)).timestamp()
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name != "in-flight-writer.parquet":
                os.utime(os.path.join(folder, name), (old, old))

    # Snapshots are younger than the retention, so all of them stay live: only the old,
    # unreferenced file may go; every snapshot can still be read afterwards.
    report = maintain(catalog, [EVENTS.identifier], compact=False, expire=False)
    assert report["tables"][EVENTS.identifier]["orphans_removed"] == 1
    assert not os.path.exists(orphan)
    assert os.path.exists(fresh_orphan)  # younger than the retention: a writer may own it
    table = catalog.load_table(EVENTS.identifier)
    for snapshot in table.metadata.snapshots:
        assert table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().num_rows > 0


def test_full_maintenance_reclaims_files_of_expired_snapshots(catalog, events):
    before = _rows(events)
    report = maintain(catalog, now=LATER)  # every table of every namespace
    table = catalog.load_table(EVENTS.identifier)
    stats = report["tables"][EVENTS.identifier]
    assert stats["compacted_partitions"] == 1
    assert stats["snapshots_expired"] >= 7
    assert stats["orphans_removed"] >= 5  # the five compacted files, plus old manifests
    assert _rows(table) == before
    assert _files_by_day(table) == {D1: 1, D2: 2}
    again = maintain(catalog, now=LATER)
    assert again["totals"]["compacted_partitions"] == 0
    assert again["totals"]["snapshots_expired"] == 0


def test_compaction_retries_when_a_writer_commits_concurrently(catalog, events, monkeypatch):
    real_to_arrow = DataScan.to_arrow
    state = {"done": False}

    def to_arrow_then_concurrent_append(self):
        result = real_to_arrow(self)
        if not state["done"]:
            state["done"] = True
            catalog.load_table(EVENTS.identifier).append(_batch(500, 3, D1))
        return result

    monkeypatch.setattr(DataScan, "to_arrow", to_arrow_then_concurrent_append)
    report = maintain(catalog, [EVENTS.identifier], expire=False, remove_orphans=False)
    monkeypatch.undo()
    table = catalog.load_table(EVENTS.identifier)
    assert report["tables"][EVENTS.identifier]["commit_retries"] == 1
    assert len(_rows(table)) == 73  # the writer's rows survived the compaction
    assert _files_by_day(table) == {D1: 1, D2: 2}


def test_missing_tables_and_empty_catalog_are_not_errors(catalog):
    assert maintain(catalog)["tables"] == {}
    report = maintain(catalog, ["bronze.invoices_raw"])
    assert report["tables"]["bronze.invoices_raw"]["skipped"] == "table does not exist yet"


def test_refuses_a_retention_shorter_than_an_hour(catalog):
    with pytest.raises(MaintenanceError, match="at least"):
        maintain(catalog, older_than=timedelta(minutes=5))


def test_command_line_prints_a_json_report(settings, events, monkeypatch, capsys):
    monkeypatch.setenv("PANTRYPULSE_HOME", str(settings.home))
    assert maintenance.main(["--retention-days", "7", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"engine": "pyiceberg"' in out
    assert '"bronze.events"' in out
