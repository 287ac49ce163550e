"""Kafka offsets kept with the Iceberg tables they were written to: the exactly-once core.

Each bronze table the stream writes carries, in its table properties, the highest offset per
partition whose records it holds (`pantrypulse.kafka.<topic>.offsets`, a JSON map). The
property changes in the same atomic commit as the rows, and every commit re-reads it first
and writes only records above it. So a replay after a crash, a zombie consumer after a
rebalance, or a retry after an unknown commit outcome can never add a row twice, whatever
Kafka's own group offsets say. The snapshot summary repeats the batch's offset ranges for
audit.

Resume point: `bronze.load_log` is committed last for every batch, so its offsets say which
records are complete in both data tables; a consumer starts each partition right after it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyiceberg.table import Table

from pantrypulse.stream.failpoints import failpoint

PROPERTY_PREFIX = "pantrypulse.kafka."


def offsets_property(topic: str) -> str:
    """The table property that holds `topic`'s committed offsets."""
    return f"{PROPERTY_PREFIX}{topic}.offsets"


def committed_offsets(table: Table, topic: str) -> dict[int, int]:
    """Highest offset per partition of `topic` whose records `table` holds (as of its metadata)."""
    text = table.properties.get(offsets_property(topic))
    if not text:
        return {}
    return {int(p): int(o) for p, o in json.loads(text).items()}


@dataclass
class CommitOutcome:
    """What one table commit did."""

    written: int = 0
    skipped: int = 0  # records the table already held (a replay)
    attempts: int = 0
    seconds: float = 0.0


class CommitGaveUp(RuntimeError):
    """A table commit kept failing; the batch is not in that table (safe to re-run)."""


def commit_with_offsets(
    table: Table,
    topic: str,
    rows_for: Callable[[dict[int, int]], tuple[list[dict[str, Any]], int]],
    batch_end: dict[int, int],
    schema: pa.Schema,
    summary: dict[str, str],
    max_attempts: int,
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CommitOutcome:
    """Append what `table` does not hold yet and advance its offsets, in one commit.

    `rows_for(done)` gets the table's committed offsets per partition (read fresh on every
    attempt) and returns the rows still to write and how many it skipped. `batch_end` is the
    batch's last offset per partition (records of the batch that went to another table count
    too: they are done for this table as well). A commit that finds nothing new writes nothing.
    """
    started = time.monotonic()
    outcome = CommitOutcome()
    name = table.name()[-1]
    for attempt in range(1, max_attempts + 1):
        outcome.attempts = attempt
        try:
            table.refresh()
            done = committed_offsets(table, topic)
            keep, outcome.skipped = rows_for(done)
            if not keep:
                # Nothing to add. The offsets stay as they are: advancing them without rows
                # would need a metadata-only commit that Iceberg cannot make conditional.
                outcome.written = 0
                break
            ahead = {p: max(o, done.get(p, -1)) for p, o in batch_end.items()}
            merged = {str(p): o for p, o in {**done, **ahead}.items()}
            arrow = pa.Table.from_pylist(keep, schema=schema)
            with table.transaction() as tx:
                tx.set_properties({offsets_property(topic): json.dumps(merged, sort_keys=True)})
                # The append asserts the snapshot it read: a concurrent writer makes this
                # commit fail and the loop re-reads the offsets, never overwriting them.
                tx.append(arrow, snapshot_properties=summary)
                failpoint(f"after_data_files:{name}")
            outcome.written = len(keep)
            break
        except Exception as exc:  # every failure is retried, then surfaced
            if on_retry is not None:
                on_retry(attempt, exc)
            if attempt == max_attempts:
                raise CommitGaveUp(
                    f"commit to {'.'.join(table.name())} failed {attempt} times: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            sleep(min(0.25 * 2 ** (attempt - 1), 30.0))
    outcome.seconds = time.monotonic() - started
    return outcome
