"""Offsets kept with the Iceberg commit: a replay, a racing writer or a retry never doubles rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pantrypulse.catalog import ensure_table
from pantrypulse.stream.offsets import (
    CommitGaveUp,
    commit_with_offsets,
    committed_offsets,
    offsets_property,
)
from pantrypulse.tables import LOAD_LOG

TOPIC = "t.v1"
SCHEMA = LOAD_LOG.schema.as_arrow()


def _rows(partition: int, offsets: range) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "load_id": f"L{o}",
            "slice_key": f"kafka:{TOPIC}:{partition}",
            "source": "kafka",
            "delivered": 1,
            "accepted": 1,
            "rejected": 0,
            "committed_at": now,
            # what the filter reads; stripped before the write
            "_p": partition,
            "_o": o,
        }
        for o in offsets
    ]


def _newer(rows):
    def rows_for(done):
        keep = [r for r in rows if r["_o"] > done.get(r["_p"], -1)]
        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in keep]
        return clean, len(rows) - len(keep)

    return rows_for


def _ends(rows) -> dict[int, int]:
    ends: dict[int, int] = {}
    for r in rows:
        ends[r["_p"]] = max(ends.get(r["_p"], -1), r["_o"])
    return ends


def _commit(table, rows, **kw):
    return commit_with_offsets(table, TOPIC, _newer(rows), _ends(rows), SCHEMA, {}, 5, **kw)


def _loaded(table) -> list[str]:
    table.refresh()
    return sorted(table.scan(selected_fields=("load_id",)).to_arrow().column(0).to_pylist())


def test_commit_records_offsets_in_the_same_commit(catalog):
    table = ensure_table(catalog, LOAD_LOG)
    out = _commit(table, _rows(0, range(0, 5)) + _rows(2, range(10, 13)))
    assert (out.written, out.skipped, out.attempts) == (8, 0, 1)
    assert committed_offsets(table, TOPIC) == {0: 4, 2: 12}
    assert json.loads(table.properties[offsets_property(TOPIC)]) == {"0": 4, "2": 12}
    assert len(_loaded(table)) == 8


def test_a_replay_writes_only_what_the_table_lacks(catalog):
    table = ensure_table(catalog, LOAD_LOG)
    _commit(table, _rows(0, range(0, 5)))
    snapshots = len(table.snapshots())
    again = _commit(table, _rows(0, range(0, 5)))
    assert (again.written, again.skipped) == (0, 5)
    table.refresh()
    assert len(table.snapshots()) == snapshots, "a full replay must not commit at all"
    overlap = _commit(table, _rows(0, range(3, 9)))
    assert (overlap.written, overlap.skipped) == (4, 2)
    assert _loaded(table) == sorted(f"L{o}" for o in range(0, 9))
    assert committed_offsets(table, TOPIC) == {0: 8}


def test_offsets_of_other_partitions_survive(catalog):
    table = ensure_table(catalog, LOAD_LOG)
    _commit(table, _rows(0, range(0, 3)) + _rows(1, range(0, 3)))
    _commit(table, _rows(1, range(3, 6)))
    assert committed_offsets(table, TOPIC) == {0: 2, 1: 5}


def test_a_racing_writer_makes_the_commit_retry_and_skip_its_rows(catalog, settings):
    """The zombie case: another consumer commits the same offsets between our read and commit.

    Our commit must fail on the changed snapshot and re-read the offsets; pyiceberg's own
    retry (which would re-base the append blindly) is off for bronze tables.
    """
    from pantrypulse.catalog import open_catalog

    ours = ensure_table(catalog, LOAD_LOG)
    other = ensure_table(open_catalog(settings), LOAD_LOG)
    mine = _rows(0, range(0, 10))
    racing = _rows(0, range(0, 6))
    calls = []

    def rows_for(done):
        calls.append(dict(done))
        if len(calls) == 1:  # the other consumer commits right after we read the offsets
            _commit(other, racing)
        return _newer(mine)(done)

    retries = []
    out = commit_with_offsets(
        ours,
        TOPIC,
        rows_for,
        _ends(mine),
        SCHEMA,
        {},
        5,
        on_retry=lambda attempt, exc: retries.append(type(exc).__name__),
        sleep=lambda _s: None,
    )
    assert calls == [{}, {0: 5}]
    assert retries == ["CommitFailedException"]
    assert (out.written, out.skipped, out.attempts) == (4, 6, 2)
    assert _loaded(ours) == sorted(f"L{o}" for o in range(0, 10))
    assert committed_offsets(ours, TOPIC) == {0: 9}


def test_a_commit_that_keeps_failing_gives_up_with_the_table_name(catalog):
    table = ensure_table(catalog, LOAD_LOG)

    def broken(_done):
        raise OSError("object store unreachable")

    attempts = []
    with pytest.raises(CommitGaveUp, match=r"bronze\.load_log failed 3 times: OSError"):
        commit_with_offsets(
            table,
            TOPIC,
            broken,
            {0: 1},
            SCHEMA,
            {},
            3,
            on_retry=lambda a, _e: attempts.append(a),
            sleep=lambda _s: None,
        )
    assert attempts == [1, 2, 3]
    assert committed_offsets(table, TOPIC) == {}


def test_bronze_tables_opt_out_of_blind_commit_retries(catalog):
    table = ensure_table(catalog, LOAD_LOG)
    assert table.properties["commit.retry.num-retries"] == "0"
    # A table created before the property existed gets it on the next open.
    with table.transaction() as tx:
        tx.remove_properties("commit.retry.num-retries")
    table.refresh()
    assert "commit.retry.num-retries" not in table.properties
    assert ensure_table(catalog, LOAD_LOG).properties["commit.retry.num-retries"] == "0"


def test_cached_transaction_metadata_is_what_pyiceberg_computes(catalog):
    from pyiceberg.table.update import update_table_metadata

    table = ensure_table(catalog, LOAD_LOG)
    _commit(table, _rows(0, range(0, 3)))
    tx = table.transaction()
    first = tx.table_metadata
    assert tx.table_metadata is first, "unchanged transaction: the cached object"
    assert first == update_table_metadata(table.metadata, ())
    tx.set_properties({"k": "v"})
    changed = tx.table_metadata
    assert changed is not first
    assert changed.properties["k"] == "v"
    assert "k" not in first.properties


def test_the_consumer_expires_its_old_snapshots_but_keeps_the_current_one(
    catalog, settings, monkeypatch
):
    import time

    from prometheus_client import CollectorRegistry

    from pantrypulse.stream import consumer as consumer_module
    from pantrypulse.stream.consumer import StreamConsumer
    from pantrypulse.stream.metrics import StreamMetrics

    stream = StreamConsumer(settings, catalog, StreamMetrics(CollectorRegistry()))
    for start in range(0, 15, 3):
        _commit(stream.log_table, _rows(0, range(start, start + 3)))
    stream.log_table.refresh()
    assert len(stream.log_table.metadata.snapshots) == 5
    stream._expire_snapshots()  # nothing is older than the retention (60 min) yet
    stream.log_table.refresh()
    assert len(stream.log_table.metadata.snapshots) == 5

    later = time.time() + 61 * 60
    monkeypatch.setattr(consumer_module.time, "time", lambda: later)
    stream._expire_snapshots()
    stream.log_table.refresh()
    current = stream.log_table.metadata.current_snapshot_id
    assert [s.snapshot_id for s in stream.log_table.metadata.snapshots] == [current]
    assert len(_loaded(stream.log_table)) == 15
    assert committed_offsets(stream.log_table, TOPIC) == {0: 14}
