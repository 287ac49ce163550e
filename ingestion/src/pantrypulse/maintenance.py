"""Iceberg table maintenance on the embedded stack: compaction, snapshot expiry, orphan files.

The cluster runs the same three jobs through Trino (`ALTER TABLE ... EXECUTE optimize |
expire_snapshots | remove_orphan_files`, see dags/); this module is their embedded equivalent
with pyiceberg, for the SQL catalog and a local warehouse (and any catalog for the first two).

Safe beside running writers:

- Compaction reads a partition at the current snapshot and replaces its files in one overwrite
  commit that asserts the branch still points at that snapshot; if a writer committed in the
  meantime the commit fails, and the partition is re-read and retried (never merged blindly).
- Expiry only removes snapshot metadata (never the branch or tag heads, never the newest
  `retain_last`), through the catalog's optimistic commit, retried on conflict.
- Orphan removal lists files first, then reloads the table and collects every file any live
  snapshot references (data and delete files, manifests, manifest lists, statistics, current
  and logged metadata files), and deletes only files outside that set and older than the
  retention. A writer's not-yet-committed files are new, so they are never touched.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, IsNull
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform

MIN_RETENTION = timedelta(hours=1)
# The column a `compact_since` window applies to (bronze's ingestion day, identity-partitioned).
SINCE_COLUMN = "ingest_date"
DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024
SNAPSHOT_PROPERTY = "pantrypulse.maintenance"

T = TypeVar("T")


class MaintenanceError(RuntimeError):
    """Maintenance could not run as asked; the message says why."""


@dataclass
class TableReport:
    """What maintenance did to one table."""

    table: str
    skipped: str | None = None
    compacted_partitions: int = 0
    files_rewritten: int = 0
    files_written: int = 0
    partitions_skipped: dict[str, str] = field(default_factory=dict)
    snapshots_expired: int = 0
    snapshots_kept: int = 0
    orphans_removed: int = 0
    orphan_bytes: int = 0
    orphans_skipped: str | None = None
    commit_retries: int = 0


def _with_retries(fn: Callable[[], T], report: TableReport, attempts: int) -> T:
    """Run `fn`, retrying on a concurrent commit with jittered exponential back-off.

    pyiceberg retries a plain conflict itself; when the concurrent commit touched the same
    rows it raises `ValidationException`, and the whole read-rewrite is redone here.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (CommitFailedException, ValidationException):
            if attempt == attempts:
                raise
            report.commit_retries += 1
            time.sleep(min(5.0, 0.1 * 2**attempt) * (0.5 + random.random()))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover


def _all_tables(catalog: Catalog) -> list[str]:
    out = []
    for namespace in catalog.list_namespaces():
        out.extend(".".join(ident) for ident in catalog.list_tables(namespace))
    return sorted(out)


# --- compaction ---------------------------------------------------------------------------


def _partition_filter(table: Table, partition: dict[str, Any]) -> BooleanExpression | None:
    """Row filter selecting exactly one partition; None when a transform is not identity."""
    spec = table.spec()
    expr: BooleanExpression = AlwaysTrue()
    for pf in spec.fields:
        if not isinstance(pf.transform, IdentityTransform):
            return None
        column = table.schema().find_column_name(pf.source_id)
        value = partition.get(pf.name)
        term = IsNull(column) if value is None else EqualTo(column, value)
        expr = term if isinstance(expr, AlwaysTrue) else And(expr, term)
    return expr


def _since_field(table: Table) -> str | None:
    """The partition field name of an identity partition on `SINCE_COLUMN`, if there is one."""
    for pf in table.spec().fields:
        column = table.schema().find_column_name(pf.source_id)
        if column == SINCE_COLUMN and isinstance(pf.transform, IdentityTransform):
            return pf.name
    return None


def _compact(
    table_name: str,
    catalog: Catalog,
    report: TableReport,
    min_files: int,
    target_bytes: int,
    attempts: int,
    since: date | None = None,
) -> None:
    table = catalog.load_table(table_name)
    if table.current_snapshot() is None:
        return
    # `since` limits compaction to recent partitions of tables partitioned by ingest_date (the
    # Trino `optimize ... WHERE ingest_date >= ...`); other tables are compacted whole.
    since_field = _since_field(table) if since is not None else None
    files = table.inspect.files().to_pylist()
    spec_id = table.spec().spec_id
    groups: dict[str, list[dict[str, Any]]] = {}
    partitions: dict[str, dict[str, Any]] = {}
    blocked: dict[str, str] = {}
    for f in files:
        part = f.get("partition") or {}
        if since_field is not None:
            day = part.get(since_field)
            if day is None or day < since:
                continue
        key = json.dumps(part, default=str, sort_keys=True)
        partitions[key] = part
        if f["content"] != 0:
            blocked[key] = "has delete files"
        elif f["spec_id"] != spec_id:
            blocked[key] = "written with an older partition spec"
        elif f["file_size_in_bytes"] < target_bytes:
            groups.setdefault(key, []).append(f)
    report.partitions_skipped.update(blocked)
    for key, small in sorted(groups.items()):
        if key in blocked or len(small) < min_files:
            continue
        row_filter = _partition_filter(table, partitions[key])
        if row_filter is None:
            report.partitions_skipped[key] = "non-identity partition transform"
            continue
        _with_retries(lambda f=row_filter: _rewrite(catalog, table_name, f), report, attempts)
        report.compacted_partitions += 1
        report.files_rewritten += len(small)
        report.files_written += 1


def _rewrite(catalog: Catalog, table_name: str, row_filter: BooleanExpression) -> None:
    """Replace one partition's files by the same rows in as few files as possible.

    The overwrite asserts that the branch still points at the snapshot read here, so a
    concurrent commit makes it fail (and the caller re-reads), never lose or double rows.
    """
    table = catalog.load_table(table_name)
    snapshot = table.current_snapshot()
    rows = table.scan(row_filter=row_filter, snapshot_id=snapshot.snapshot_id).to_arrow()
    with table.transaction() as tx:
        tx.overwrite(
            rows, overwrite_filter=row_filter, snapshot_properties={SNAPSHOT_PROPERTY: "compaction"}
        )


# --- snapshot expiry ----------------------------------------------------------------------


def _expire(
    table_name: str,
    catalog: Catalog,
    report: TableReport,
    cutoff: datetime,
    retain_last: int,
    attempts: int,
) -> None:
    def run() -> int:
        table = catalog.load_table(table_name)
        snapshots = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)
        protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
        newest = {s.snapshot_id for s in snapshots[-retain_last:]} if retain_last else set()
        cutoff_ms = int(cutoff.timestamp() * 1000)
        ids = [
            s.snapshot_id
            for s in snapshots
            if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected | newest
        ]
        if ids:
            table.maintenance.expire_snapshots().by_ids(ids).commit()
        report.snapshots_kept = len(snapshots) - len(ids)
        return len(ids)

    report.snapshots_expired += _with_retries(run, report, attempts)


# --- orphan files -------------------------------------------------------------------------


def _local_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return os.path.normpath(unquote(parsed.path))
    return None


def _referenced(table: Table) -> set[str]:
    """Every file a live snapshot or the metadata can reach, as local paths."""
    io = table.io
    meta = table.metadata
    uris: set[str] = {table.metadata_location}
    uris.update(entry.metadata_file for entry in meta.metadata_log)
    uris.update(s.statistics_path for s in meta.statistics)
    uris.update(s.statistics_path for s in getattr(meta, "partition_statistics", []) or [])
    for snapshot in meta.snapshots:
        uris.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            uris.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                uris.add(entry.data_file.file_path)
    return {p for p in map(_local_path, uris) if p}


def _remove_orphans(
    table_name: str, catalog: Catalog, report: TableReport, cutoff: datetime, dry_run: bool
) -> None:
    table = catalog.load_table(table_name)
    root = _local_path(table.metadata.location)
    if root is None:
        report.orphans_skipped = "not a local warehouse (the cluster uses Trino for this)"
        return
    cutoff_s = cutoff.timestamp()
    # List first, then read the references: a file committed in between is then referenced.
    candidates = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.normpath(os.path.join(folder, name))
            stat = os.stat(path)
            if stat.st_mtime < cutoff_s:
                candidates.append((path, stat.st_size))
    referenced = _referenced(catalog.load_table(table_name))
    for path, size in candidates:
        if path in referenced:
            continue
        if not dry_run:
            Path(path).unlink(missing_ok=True)
        report.orphans_removed += 1
        report.orphan_bytes += size


# --- entry point --------------------------------------------------------------------------


def maintain(
    catalog: Catalog,
    tables: Sequence[str] | None = None,
    older_than: timedelta = timedelta(days=7),
    *,
    compact: bool = True,
    expire: bool = True,
    remove_orphans: bool = True,
    min_files_to_compact: int = 4,
    target_file_bytes: int = DEFAULT_TARGET_FILE_BYTES,
    retain_last: int = 1,
    max_attempts: int = 5,
    dry_run: bool = False,
    now: datetime | None = None,
    compact_since_days: int | None = None,
) -> dict[str, Any]:
    """Compact, expire snapshots and remove orphan files; return a JSON-ready report.

    `tables` defaults to every table of every namespace; a named table that does not exist
    yet (an empty platform) is reported as skipped, not an error. `older_than` is the
    retention of snapshots and of unreferenced files (at least one hour). `dry_run` counts
    orphans without deleting them (compaction and expiry are skipped in a dry run).
    `compact_since_days` compacts only the partitions with `ingest_date >= today (UTC) - N`
    of tables identity-partitioned by `ingest_date`; other tables are compacted whole.
    """
    if older_than < MIN_RETENTION:
        raise MaintenanceError(f"older_than must be at least {MIN_RETENTION}, got {older_than}")
    if retain_last < 1:
        raise MaintenanceError("retain_last must be at least 1")
    if compact_since_days is not None and compact_since_days < 0:
        raise MaintenanceError(f"compact_since_days must be >= 0, got {compact_since_days}")
    started = time.monotonic()
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    since = (
        now.astimezone(UTC).date() - timedelta(days=compact_since_days)
        if compact_since_days is not None
        else None
    )
    names = list(tables) if tables else _all_tables(catalog)
    reports = []
    for name in names:
        report = TableReport(name)
        reports.append(report)
        try:
            catalog.load_table(name)
        except NoSuchTableError:
            report.skipped = "table does not exist yet"
            continue
        if compact and not dry_run:
            _compact(
                name, catalog, report, min_files_to_compact, target_file_bytes, max_attempts, since
            )
        if expire and not dry_run:
            _expire(name, catalog, report, cutoff, retain_last, max_attempts)
        if remove_orphans:
            _remove_orphans(name, catalog, report, cutoff, dry_run)
    totals = {
        key: sum(getattr(r, key) for r in reports)
        for key in (
            "compacted_partitions",
            "files_rewritten",
            "snapshots_expired",
            "orphans_removed",
            "orphan_bytes",
            "commit_retries",
        )
    }
    return {
        "engine": "pyiceberg",
        "older_than_hours": older_than.total_seconds() / 3600,
        "cutoff": cutoff.isoformat(),
        "compact_since": since.isoformat() if since else None,
        "dry_run": dry_run,
        "tables": {r.table: asdict(r) for r in reports},
        "totals": totals,
        "elapsed_s": round(time.monotonic() - started, 3),
    }


def retention(days: float | None = None, hours: float | None = None) -> timedelta:
    """The retention from `--retention-days` or `--retention-hours` (one at most; 7 days)."""
    if days is not None and hours is not None:
        raise MaintenanceError("give --retention-days or --retention-hours, not both")
    if hours is not None:
        return timedelta(hours=hours)
    return timedelta(days=7.0 if days is None else days)


def main(argv: Iterable[str] | None = None) -> int:
    """`python -m pantrypulse.maintenance`: the same as `pantrypulse maintain` once wired."""
    import argparse

    from pantrypulse.catalog import open_catalog
    from pantrypulse.settings import SettingsError, load_settings

    parser = argparse.ArgumentParser(
        prog="pantrypulse maintain", description=__doc__.split("\n")[0]
    )
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument("--retention-days", type=float, default=None)
    keep.add_argument("--retention-hours", type=float, default=None)
    parser.add_argument("--since-days", type=int, default=None)
    parser.add_argument("--table", action="append", default=None)
    parser.add_argument("--no-compact", action="store_true")
    parser.add_argument("--no-expire", action="store_true")
    parser.add_argument("--no-orphans", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"bad setting: {exc}", file=sys.stderr)
        return 2
    try:
        report = maintain(
            open_catalog(settings),
            args.table,
            retention(args.retention_days, args.retention_hours),
            compact=not args.no_compact,
            expire=not args.no_expire,
            remove_orphans=not args.no_orphans,
            dry_run=args.dry_run,
            compact_since_days=args.since_days,
        )
    except MaintenanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report["totals"].items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
