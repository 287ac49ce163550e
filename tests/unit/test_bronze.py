import json

import pyarrow.compute as pc
import pytest

from pantrypulse.bronze import BronzeWriter
from pantrypulse.pipeline import bronze_status
from pantrypulse.sources.http import Delivery
from pantrypulse.tables import INVOICES_RAW, INVOICES_REJECTED


def _deliveries(invoice, slice_key="http:2026-01-15", n=3):
    out = []
    for i in range(n):
        inv = dict(invoice, invoice_id=f"INV-{i}")
        out.append(Delivery(slice_key, f"item={i}", inv))
    out.append(Delivery(slice_key, "item=bad", '{"invoice_id": "BROKEN",'))
    return out


def _rows(catalog, table):
    return catalog.load_table(table.identifier).scan().to_arrow()


def test_load_splits_accepted_and_rejected_and_reconciles(catalog, invoice):
    result = BronzeWriter(catalog).load("http", ["http:2026-01-15"], _deliveries(invoice))
    assert (result.delivered, result.accepted, result.rejected) == (4, 3, 1)
    raw = _rows(catalog, INVOICES_RAW)
    rej = _rows(catalog, INVOICES_REJECTED)
    assert sorted(raw.column("invoice_id").to_pylist()) == ["INV-0", "INV-1", "INV-2"]
    assert rej.column("reason_code").to_pylist() == ["invalid_json"]
    assert rej.column("raw_payload").to_pylist() == ['{"invoice_id": "BROKEN",']
    assert json.loads(raw.column("raw_json")[0].as_py())["loyalty_card"] == "XYZ"
    assert set(raw.column("ingest_date").to_pylist()) == {result_date(raw)}
    status = bronze_status(catalog)
    assert status.reconciled
    assert (status.accepted, status.rejected, status.slices) == (3, 1, 1)


def result_date(raw):
    return raw.column("ingested_at")[0].as_py().date()


def test_reloading_a_slice_replaces_it(catalog, invoice):
    writer = BronzeWriter(catalog)
    writer.load("http", ["http:2026-01-15"], _deliveries(invoice))
    writer.load("http", ["http:2026-01-16"], _deliveries(invoice, "http:2026-01-16", n=2))
    again = writer.load("http", ["http:2026-01-15"], _deliveries(invoice, n=5))
    raw = _rows(catalog, INVOICES_RAW)
    day15 = raw.filter(pc.equal(raw.column("slice_key"), "http:2026-01-15"))
    assert day15.num_rows == 5  # replaced, not 3 + 5
    assert set(day15.column("load_id").to_pylist()) == {again.load_id}
    assert raw.num_rows == 5 + 2  # the other slice is untouched
    assert _rows(catalog, INVOICES_REJECTED).num_rows == 2  # one bad record per slice
    assert bronze_status(catalog).reconciled


def test_a_slice_that_now_delivers_nothing_is_emptied(catalog, invoice):
    writer = BronzeWriter(catalog)
    writer.load("http", ["http:2026-01-15"], _deliveries(invoice))
    writer.load("http", ["http:2026-01-15"], [])
    assert _rows(catalog, INVOICES_RAW).num_rows == 0
    assert _rows(catalog, INVOICES_REJECTED).num_rows == 0
    assert bronze_status(catalog).reconciled


def test_delivery_outside_declared_slices_is_refused(catalog, invoice):
    with pytest.raises(ValueError, match="outside the declared slices"):
        BronzeWriter(catalog).load(
            "http", ["http:2026-01-15"], _deliveries(invoice, "http:2026-01-16")
        )
    assert _rows(catalog, INVOICES_RAW).num_rows == 0  # nothing committed


def test_interrupted_load_is_flagged_then_repaired(catalog, invoice, monkeypatch):
    writer = BronzeWriter(catalog)
    writer.load("http", ["http:2026-01-15"], _deliveries(invoice))

    # Die after the quarantine commit, before the accepted table and the seal.
    calls = {"n": 0}
    original = BronzeWriter._replace

    def crash_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(BronzeWriter, "_replace", staticmethod(crash_second))
    with pytest.raises(KeyboardInterrupt):
        writer.load("http", ["http:2026-01-15"], _deliveries(invoice, n=4))
    status = bronze_status(catalog)
    assert status.unsealed_slices == ["http:2026-01-15"]
    assert not status.reconciled
    # Each table still holds whole slices: 3 accepted from the first load, 1 rejected from
    # the second (the quarantine committed), never a mix within one table.
    assert _rows(catalog, INVOICES_RAW).num_rows == 3

    monkeypatch.setattr(BronzeWriter, "_replace", staticmethod(original))
    writer.load("http", ["http:2026-01-15"], _deliveries(invoice, n=4))
    status = bronze_status(catalog)
    assert status.reconciled
    assert (status.accepted, status.rejected) == (4, 1)


def _stream_rows(invoice, partition, offsets, load_id, bad=()):
    """Bronze rows as the stream consumer writes them, plus its seal row per partition."""
    from datetime import UTC, datetime

    from pantrypulse.bronze import accepted_row, rejected_row
    from pantrypulse.contract import validate_record

    now = datetime.now(UTC)
    raw, rej = [], []
    for o in offsets:
        meta = {
            "source": "kafka",
            "slice_key": f"kafka:t:{partition}",
            "source_position": f"{partition}:{o:019d}",
            "load_id": load_id,
            "ingested_at": now,
            "ingest_date": now.date(),
            "kafka_topic": "t",
            "kafka_partition": partition,
            "kafka_offset": o,
        }
        record = b"{not json" if o in bad else json.dumps({**invoice, "invoice_id": f"I{o}"})
        verdict = validate_record(record)
        (
            raw.append(accepted_row(verdict, meta))
            if verdict.ok
            else rej.append(rejected_row(verdict, meta))
        )
    seal = {
        "load_id": load_id,
        "slice_key": f"kafka:t:{partition}",
        "source": "kafka",
        "delivered": len(offsets),
        "accepted": len(raw),
        "rejected": len(rej),
        "committed_at": now,
    }
    return raw, rej, seal


def _append(catalog, raw, rej, seals):
    import pyarrow as pa

    from pantrypulse.catalog import ensure_table
    from pantrypulse.tables import LOAD_LOG

    for tdef, rows in ((INVOICES_RAW, raw), (INVOICES_REJECTED, rej), (LOAD_LOG, seals)):
        if rows:
            table = ensure_table(catalog, tdef)
            table.append(pa.Table.from_pylist(rows, schema=tdef.schema.as_arrow()))


def test_stream_slices_reconcile_by_summing_their_seals(catalog, invoice):
    raw1, rej1, seal1 = _stream_rows(invoice, 0, range(0, 5), "B1", bad={2})
    raw2, rej2, seal2 = _stream_rows(invoice, 0, range(5, 9), "B2")
    _append(catalog, raw1 + raw2, rej1 + rej2, [seal1, seal2])
    status = bronze_status(catalog)
    assert (status.accepted, status.rejected, status.slices) == (8, 1, 1)
    assert status.reconciled, (status.unsealed_slices, status.mismatched_slices)

    # Rows a dead consumer committed before its seal: unsealed until the next run seals them.
    raw3, rej3, seal3 = _stream_rows(invoice, 0, range(9, 12), "B3")
    _append(catalog, raw3, rej3, [])
    status = bronze_status(catalog)
    assert status.unsealed_slices == ["kafka:t:0"]
    assert not status.mismatched_slices
    _append(catalog, [], [], [seal3])
    assert bronze_status(catalog).reconciled

    # The same offset twice is never fine, even when the counts were sealed to match.
    raw4, _, seal4 = _stream_rows(invoice, 0, range(11, 12), "B4")
    _append(catalog, raw4, [], [seal4])
    assert bronze_status(catalog).mismatched_slices == ["kafka:t:0"]
