"""The ingestion jobs behind the CLI: HTTP by date, JSON Lines files, and bronze status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from pantrypulse.bronze import BronzeWriter, LoadResult, count_by_load
from pantrypulse.settings import Settings
from pantrypulse.sources.http import HttpOptions, date_slice, invoice_api
from pantrypulse.sources.jsonl import file_slice, invoice_file
from pantrypulse.tables import INVOICES_RAW, INVOICES_REJECTED, LOAD_LOG

Progress = Callable[[str], None]


class IngestError(RuntimeError):
    """An ingestion run could not do what was asked; the message says why."""


def _days(start: date, end: date) -> list[date]:
    if end < start:
        raise IngestError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _verify(catalog: Catalog, result: LoadResult) -> LoadResult:
    accepted, rejected = count_by_load(catalog, result.load_id)
    if (accepted, rejected) != (result.accepted, result.rejected) or not result.reconciles():
        raise IngestError(
            f"load {result.load_id} does not reconcile: delivered {result.delivered}, "
            f"accepted {result.accepted} (in bronze {accepted}), rejected {result.rejected} "
            f"(in bronze {rejected})"
        )
    return result


def last_http_date(catalog: Catalog) -> date | None:
    """The latest API date bronze holds a sealed slice for: the incremental cursor."""
    try:
        log = catalog.load_table(LOAD_LOG.identifier)
    except NoSuchTableError:
        return None
    keys = log.scan(selected_fields=("slice_key",)).to_arrow().column("slice_key").to_pylist()
    days = [date.fromisoformat(k[5:]) for k in keys if k.startswith("http:")]
    return max(days) if days else None


def http_window(
    catalog: Catalog, settings: Settings, start: date | None, end: date | None, today: date
) -> tuple[date, date]:
    """Resolve the dates to fetch: explicit, or from the cursor minus the late-arrival window."""
    end = end or today - timedelta(days=1)
    if start is None:
        cursor = last_http_date(catalog)
        if cursor is None:
            raise IngestError("no earlier HTTP load to continue from: give --from YYYY-MM-DD")
        start = cursor - timedelta(days=settings.source.lookback_days)
    return start, end


def ingest_http(
    settings: Settings,
    catalog: Catalog,
    start: date,
    end: date,
    chunk_days: int = 14,
    progress: Progress | None = None,
) -> list[LoadResult]:
    """Fetch every date in [start, end] and replace those date slices in bronze.

    Dates are committed in chunks so a long backfill keeps what it finished if it stops;
    re-running any date replaces it, so a retry never duplicates.
    """
    token = settings.source.token.get_secret_value() if settings.source.token else None
    options = HttpOptions(
        base_url=settings.source.base_url,
        token=token,
        max_attempts=settings.source.max_attempts,
        backoff_factor=settings.source.backoff_factor,
        max_retry_delay_s=settings.source.max_retry_delay_s,
        timeout_s=settings.source.timeout_s,
    )
    writer = BronzeWriter(catalog)
    days = _days(start, end)
    results = []
    for i in range(0, len(days), chunk_days):
        chunk = days[i : i + chunk_days]
        source = invoice_api(options, chunk)
        try:
            result = writer.load(
                "http", [date_slice(d) for d in chunk], source.resources["deliveries"]
            )
        except Exception as exc:  # surface the HTTP cause, not dlt's pipe wrapper
            cause = exc.__cause__ or exc.__context__ or exc
            raise IngestError(f"fetching {chunk[0]}..{chunk[-1]} failed: {cause}") from exc
        results.append(_verify(catalog, result))
        if progress:
            progress(
                f"{chunk[0]}..{chunk[-1]}: {result.delivered} delivered, "
                f"{result.accepted} accepted, {result.rejected} rejected"
            )
    return results


def import_file(settings: Settings, catalog: Catalog, path: Path) -> LoadResult:
    """Import one JSON Lines file as one slice (keyed by content, so re-imports replace)."""
    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    del settings  # same signature as the other jobs; the catalog carries everything needed
    writer = BronzeWriter(catalog)
    result = writer.load("file", [file_slice(path)], invoice_file(path).resources["deliveries"])
    return _verify(catalog, result)


@dataclass
class Status:
    """What bronze holds, whether it reconciles, and how fresh it is."""

    accepted: int = 0
    rejected: int = 0
    distinct_invoices: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    slices: int = 0
    unsealed_slices: list[str] = field(default_factory=list)
    mismatched_slices: list[str] = field(default_factory=list)
    last_ingested_at: datetime | None = None
    last_http_date: date | None = None

    @property
    def reconciled(self) -> bool:
        """Every slice sealed, and its counts match its seal."""
        return not self.unsealed_slices and not self.mismatched_slices

    def freshness_hours(self, now: datetime | None = None) -> float | None:
        """Hours since the last bronze commit."""
        if self.last_ingested_at is None:
            return None
        now = now or datetime.now(UTC)
        return (now - self.last_ingested_at).total_seconds() / 3600


def _stream_status(con: duckdb.DuckDBPyConnection, status: Status) -> None:
    """Stream slices: seals add up to the rows, and no offset is in bronze twice.

    A slice with rows its seals do not count yet is `unsealed` (a consumer died between
    commits; its next start seals them); counts that disagree otherwise are `mismatched`.
    """
    rows = con.execute("""
        with landed as (
            select slice_key, source_position, 1 as accepted, 0 as rejected
            from raw where source = 'kafka'
            union all
            select slice_key, source_position, 0, 1 from rej where source = 'kafka'
        ),
        per_slice as (
            select slice_key, count(*) as delivered, sum(accepted) as accepted,
                   sum(rejected) as rejected,
                   count(*) - count(distinct source_position) as doubled
            from landed group by 1
        ),
        seals as (
            select slice_key, sum(delivered) as delivered, sum(accepted) as accepted,
                   sum(rejected) as rejected
            from log where source = 'kafka' group by 1
        )
        select coalesce(p.slice_key, s.slice_key), coalesce(p.delivered, 0),
               coalesce(p.accepted, 0), coalesce(p.rejected, 0), coalesce(p.doubled, 0),
               coalesce(s.delivered, 0), coalesce(s.accepted, 0), coalesce(s.rejected, 0)
        from per_slice p full join seals s using (slice_key)
        order by 1
    """).fetchall()
    for key, n, acc, rej_n, doubled, s_n, s_acc, s_rej in rows:
        status.slices += 1
        if doubled or s_n != s_acc + s_rej or acc < s_acc or rej_n < s_rej:
            status.mismatched_slices.append(key)
        elif (n, acc, rej_n) != (s_n, s_acc, s_rej):
            status.unsealed_slices.append(key)


def bronze_status(catalog: Catalog) -> Status:
    """Count bronze, group rejects by reason, and check every slice against its seal."""
    status = Status()
    try:
        raw = (
            catalog.load_table(INVOICES_RAW.identifier)
            .scan(
                selected_fields=(
                    "invoice_id",
                    "slice_key",
                    "load_id",
                    "source",
                    "source_position",
                    "ingested_at",
                )
            )
            .to_arrow()
        )
        rej = (
            catalog.load_table(INVOICES_REJECTED.identifier)
            .scan(
                selected_fields=(
                    "reason_code",
                    "slice_key",
                    "load_id",
                    "source",
                    "source_position",
                    "ingested_at",
                )
            )
            .to_arrow()
        )
        log = catalog.load_table(LOAD_LOG.identifier).scan().to_arrow()
    except NoSuchTableError:
        return status
    con = duckdb.connect()
    con.register("raw", raw)
    con.register("rej", rej)
    con.register("log", log)
    status.accepted, status.distinct_invoices = con.execute(
        "select count(*), count(distinct invoice_id) from raw"
    ).fetchone()
    status.rejected = con.execute("select count(*) from rej").fetchone()[0]
    status.rejected_by_reason = dict(
        con.execute(
            "select reason_code, count(*) from rej group by 1 order by 2 desc, 1"
        ).fetchall()
    )
    status.by_source = dict(
        con.execute("select source, count(*) from raw group by 1 order by 1").fetchall()
    )
    status.last_ingested_at = con.execute(
        "select max(t) from (select max(ingested_at) t from raw union all "
        "select max(ingested_at) from rej)"
    ).fetchone()[0]
    # Batch slices are replaced whole by one load; stream slices (`kafka:`) grow by appends
    # and are checked apart, against the sum of their seals.
    rows = con.execute("""
        with current as (
            select slice_key, load_id, count(*) as accepted, 0 as rejected from raw
            where source <> 'kafka' group by 1, 2
            union all
            select slice_key, load_id, 0, count(*) from rej
            where source <> 'kafka' group by 1, 2
        ),
        per_slice as (
            select slice_key, count(distinct load_id) as loads, max(load_id) as load_id,
                   sum(accepted) as accepted, sum(rejected) as rejected
            from current group by 1
        ),
        sealed as (
            select * from log where source <> 'kafka' qualify row_number() over (
                partition by slice_key order by committed_at desc, load_id desc) = 1
        )
        select coalesce(p.slice_key, s.slice_key) as slice_key,
               p.loads, p.load_id, s.load_id as sealed_load,
               coalesce(p.accepted, 0), coalesce(p.rejected, 0), s.accepted, s.rejected,
               s.delivered
        from per_slice p full join sealed s using (slice_key)
        order by 1
    """).fetchall()
    for key, loads, load_id, sealed_load, acc, rej_n, s_acc, s_rej, s_del in rows:
        status.slices += 1
        if sealed_load is None or (loads and (loads > 1 or load_id != sealed_load)):
            status.unsealed_slices.append(key)
        elif (acc, rej_n) != (s_acc, s_rej) or s_del != s_acc + s_rej:
            status.mismatched_slices.append(key)
    _stream_status(con, status)
    http = [date.fromisoformat(k[5:]) for k, *_ in rows if k.startswith("http:")]
    status.last_http_date = max(http) if http else None
    return status
