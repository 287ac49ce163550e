"""Land validated deliveries in bronze, replacing whole slices atomically.

A slice is the unit a source re-delivers (one API date, one file's bytes). Loading a slice
replaces whatever an earlier load wrote for it, in one Iceberg commit per table, so re-running
a date or a file never duplicates rows and an interrupted run never leaves half a slice in a
table: either the commit happened or it did not. Commit order is quarantine, accepted, then
the load log: a log row is the seal that says the slice's two tables agree, and `status`
flags a slice whose rows carry a load id with no seal (an interrupted run: re-run it).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysFalse, In

from pantrypulse.catalog import ensure_table
from pantrypulse.contract import validate_record
from pantrypulse.contract.validate import Verdict
from pantrypulse.sources.http import Delivery
from pantrypulse.tables import INVOICES_RAW, INVOICES_REJECTED, LOAD_LOG

SUMMARY_PREFIX = "pantrypulse."
COMMIT_ATTEMPTS = 8


def new_load_id(now: datetime) -> str:
    """A sortable, unique load id: UTC time plus a random suffix."""
    return f"{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"


def accepted_row(verdict: Verdict, meta: dict[str, Any]) -> dict[str, Any]:
    """The `bronze.invoices_raw` row for an accepted record (`meta`: delivery columns)."""
    return {
        "invoice_id": verdict.invoice_id,
        "revision": verdict.revision,
        "issued_at": verdict.issued_at.astimezone(UTC),
        "issued_date": verdict.issued_date,
        "payload_sha256": hashlib.sha256(verdict.raw_text.encode()).hexdigest(),
        "raw_json": verdict.raw_text,
        **meta,
    }


def rejected_row(verdict: Verdict, meta: dict[str, Any]) -> dict[str, Any]:
    """The `bronze.invoices_rejected` row for a rejected record, with its reason."""
    return {
        "reason_code": verdict.reason_code,
        "reason": verdict.reason,
        "invoice_id": verdict.invoice_id,
        "raw_payload": verdict.raw_text,
        **meta,
    }


@dataclass
class LoadResult:
    """What one load delivered and where it went."""

    load_id: str
    source: str
    slices: list[str]
    delivered: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def reconciles(self) -> bool:
        """Delivered = accepted + rejected."""
        return self.delivered == self.accepted + self.rejected


@dataclass
class _Batch:
    raw: dict[str, list] = field(default_factory=lambda: {f.name: [] for f in _RAW_FIELDS})
    rej: dict[str, list] = field(default_factory=lambda: {f.name: [] for f in _REJ_FIELDS})


_RAW_FIELDS = INVOICES_RAW.schema.fields
_REJ_FIELDS = INVOICES_REJECTED.schema.fields


class BronzeWriter:
    """Validates deliveries and commits them slice by slice to the bronze tables."""

    def __init__(self, catalog: Catalog):
        self.raw = ensure_table(catalog, INVOICES_RAW)
        self.rejected = ensure_table(catalog, INVOICES_REJECTED)
        self.log = ensure_table(catalog, LOAD_LOG)

    def load(
        self,
        source: str,
        slices: Sequence[str],
        deliveries: Iterable[Delivery],
        now: datetime | None = None,
        extra_summary: dict[str, str] | None = None,
    ) -> LoadResult:
        """Validate every delivery and replace `slices` in bronze with the outcome.

        Every slice in `slices` is replaced, even one that delivered nothing this time, so a
        source that stopped listing something is mirrored faithfully.
        """
        now = (now or datetime.now(UTC)).astimezone(UTC)
        result = LoadResult(new_load_id(now), source, sorted(set(slices)))
        per_slice = {key: [0, 0, 0] for key in result.slices}
        batch = _Batch()
        meta = {
            "source": source,
            "load_id": result.load_id,
            "ingested_at": now,
            "ingest_date": now.date(),
            "kafka_topic": None,
            "kafka_partition": None,
            "kafka_offset": None,
        }
        for delivery in deliveries:
            if delivery.slice_key not in result.slices:
                raise ValueError(f"delivery outside the declared slices: {delivery.slice_key}")
            result.delivered += 1
            per_slice[delivery.slice_key][0] += 1
            verdict = validate_record(delivery.record)
            common = {**meta, "slice_key": delivery.slice_key, "source_position": delivery.position}
            if verdict.ok:
                result.accepted += 1
                per_slice[delivery.slice_key][1] += 1
                row = accepted_row(verdict, common)
                for name, values in batch.raw.items():
                    values.append(row[name])
            else:
                result.rejected += 1
                per_slice[delivery.slice_key][2] += 1
                code = verdict.reason_code
                result.rejected_by_reason[code] = result.rejected_by_reason.get(code, 0) + 1
                row = rejected_row(verdict, common)
                for name, values in batch.rej.items():
                    values.append(row[name])

        summary = {
            f"{SUMMARY_PREFIX}load-id": result.load_id,
            f"{SUMMARY_PREFIX}source": source,
            f"{SUMMARY_PREFIX}slices": json.dumps(result.slices),
            f"{SUMMARY_PREFIX}delivered": str(result.delivered),
            f"{SUMMARY_PREFIX}accepted": str(result.accepted),
            f"{SUMMARY_PREFIX}rejected": str(result.rejected),
            **(extra_summary or {}),
        }
        # Quarantine first, accepted last: the accepted commit is the load's seal.
        self._replace(self.rejected, batch.rej, INVOICES_REJECTED.schema, result.slices, summary)
        self._replace(self.raw, batch.raw, INVOICES_RAW.schema, result.slices, summary)
        sealed = datetime.now(UTC)
        log = {f.name: [] for f in LOAD_LOG.schema.fields}
        for key, (delivered, accepted, rejected) in per_slice.items():
            for name, value in (
                ("load_id", result.load_id),
                ("slice_key", key),
                ("source", source),
                ("delivered", delivered),
                ("accepted", accepted),
                ("rejected", rejected),
                ("committed_at", sealed),
            ):
                log[name].append(value)
        log_rows = pa.Table.from_pydict(log, schema=LOAD_LOG.schema.as_arrow())
        _retry_on_conflict(self.log, lambda: self.log.append(log_rows, snapshot_properties=summary))
        return result

    @staticmethod
    def _replace(table, columns, schema, slices, summary) -> None:
        arrow = pa.Table.from_pydict(columns, schema=schema.as_arrow())
        where = In("slice_key", slices) if slices else AlwaysFalse()

        def overwrite() -> None:
            with warnings.catch_warnings():
                # A slice's first load deletes nothing; pyiceberg warns, harmlessly.
                warnings.filterwarnings("ignore", message="Delete operation did not match")
                table.overwrite(arrow, overwrite_filter=where, snapshot_properties=summary)

        _retry_on_conflict(table, overwrite)


def _retry_on_conflict(table, commit) -> None:
    """Run `commit` on the freshly read table, again if another writer committed first.

    Another writer (the stream, maintenance) committing in between makes the commit fail;
    it is recomputed on the new snapshot, so retrying cannot duplicate or lose rows.
    """
    for attempt in range(COMMIT_ATTEMPTS):
        table.refresh()
        try:
            commit()
            return
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(min(0.2 * 2**attempt, 5.0))


def count_by_load(catalog: Catalog, load_id: str) -> tuple[int, int]:
    """Rows (accepted, rejected) that `load_id` left in bronze: the after-load check."""
    from pyiceberg.expressions import EqualTo

    raw = catalog.load_table(INVOICES_RAW.identifier)
    rej = catalog.load_table(INVOICES_REJECTED.identifier)
    accepted = raw.scan(row_filter=EqualTo("load_id", load_id), selected_fields=("load_id",))
    rejected = rej.scan(row_filter=EqualTo("load_id", load_id), selected_fields=("load_id",))
    return accepted.to_arrow().num_rows, rejected.to_arrow().num_rows
