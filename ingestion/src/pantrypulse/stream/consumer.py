"""`pantrypulse stream`: Kafka to bronze in micro-batches, each offset landing exactly once.

A batch closes at `batch_max_records`, `batch_max_bytes` or `batch_max_seconds`, whichever
comes first. Its records are validated as they arrive; closing it commits, in order:
quarantine rows to `bronze.invoices_rejected`, accepted rows to `bronze.invoices_raw`, then
one row per partition to `bronze.load_log` (the seal). Every commit carries the batch's
offsets in the table's properties and writes only what that table does not hold yet
(`pantrypulse.stream.offsets`), so a crash at any point, a rebalance or a zombie consumer
replays harmlessly. On assignment each partition starts right after the sealed offset in
`bronze.load_log`, not where Kafka's group offsets point; those are committed afterwards
only so lag shows up in the usual Kafka tooling.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from pyiceberg.catalog import Catalog

from pantrypulse.bronze import SUMMARY_PREFIX, accepted_row, new_load_id, rejected_row
from pantrypulse.catalog import ensure_table
from pantrypulse.contract import validate_record
from pantrypulse.contract.validate import Verdict
from pantrypulse.settings import Settings, StreamSettings
from pantrypulse.stream.failpoints import failpoint
from pantrypulse.stream.metrics import HealthState, StreamMetrics
from pantrypulse.stream.offsets import (
    CommitGaveUp,
    CommitOutcome,
    commit_with_offsets,
    committed_offsets,
)
from pantrypulse.tables import INVOICES_RAW, INVOICES_REJECTED, LOAD_LOG

log = logging.getLogger("pantrypulse.stream")

SOURCE = "kafka"
LAG_EVERY_S = 5.0
EXPIRE_EVERY_S = 300.0


class StreamError(RuntimeError):
    """The consumer cannot go on (a commit kept failing, a fatal Kafka error); it exits."""


@dataclass
class _Record:
    partition: int
    offset: int
    size: int
    timestamp_s: float | None
    verdict: Verdict


@dataclass
class _Batch:
    records: list[_Record] = field(default_factory=list)
    size: int = 0
    opened_at: float = 0.0

    def add(self, record: _Record, now: float) -> None:
        if not self.records:
            self.opened_at = now
        self.records.append(record)
        self.size += record.size

    def ranges(self) -> dict[int, tuple[int, int]]:
        """First and last offset per partition."""
        out: dict[int, tuple[int, int]] = {}
        for r in self.records:
            first, last = out.get(r.partition, (r.offset, r.offset))
            out[r.partition] = (min(first, r.offset), max(last, r.offset))
        return out

    def drop(self, partitions: set[int]) -> None:
        self.records = [r for r in self.records if r.partition not in partitions]
        self.size = sum(r.size for r in self.records)


@dataclass
class BatchReport:
    """What one committed micro-batch did (also handed to `on_batch`, e.g. for the bench)."""

    load_id: str
    records: int
    bytes: int
    accepted: int
    rejected: int
    written_raw: int
    written_rejected: int
    skipped: int
    sealed: dict[int, int]
    rejected_by_reason: dict[str, int]
    seconds: float
    committed_at: float  # time.time() when the seal committed
    delays_s: list[float] = field(default_factory=list, repr=False)


@dataclass
class StreamTotals:
    """Totals of one `run`."""

    batches: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, report: BatchReport) -> None:
        """Fold one batch in."""
        self.batches += 1
        self.records += report.records
        self.accepted += report.accepted
        self.rejected += report.rejected
        self.skipped += report.skipped
        for k, v in report.rejected_by_reason.items():
            self.rejected_by_reason[k] = self.rejected_by_reason.get(k, 0) + v


def consumer_config(cfg: StreamSettings) -> dict[str, Any]:
    """Kafka consumer settings: manual offsets (bronze is the truth), committed reads only."""
    return {
        "client.id": f"pantrypulse-stream-{socket.gethostname()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        # A transactional producer's aborted records must never reach bronze.
        "isolation.level": "read_committed",
        "enable.partition.eof": False,
        # Commits retry for minutes on a storage outage; stay in the group meanwhile.
        "max.poll.interval.ms": 600_000,
        # A crashed consumer's partitions move after this long (librdkafka's default: 45 s).
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 3_000,
        **cfg.kafka_config(),
        "group.id": cfg.group_id,
        # Static membership: a restarted member with the same id gets its partitions back at
        # once instead of after the session timeout (set it per pod, e.g. a StatefulSet name).
        **({"group.instance.id": cfg.group_instance_id} if cfg.group_instance_id else {}),
    }


class StreamConsumer:
    """Consumes `stream.topic` into bronze; see the module docstring for the guarantees."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        metrics: StreamMetrics,
        health: HealthState | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
    ):
        self.cfg = settings.stream
        self.topic = self.cfg.topic
        self.metrics = metrics
        self.health = health or HealthState(self.cfg.ready_max_commit_age_s)
        self.on_batch = on_batch
        self.raw = ensure_table(catalog, INVOICES_RAW)
        self.rejected = ensure_table(catalog, INVOICES_REJECTED)
        self.log_table = ensure_table(catalog, LOAD_LOG)
        self.batch = _Batch()
        self.sealed: dict[int, int] = {}  # next offset to read per owned partition
        self.consumer: Consumer | None = None
        self.totals = StreamTotals()
        self._fatal: KafkaError | None = None
        self._last_lag = 0.0
        self._failing = False
        self._joined_at: float | None = None
        self._last_expiry = time.monotonic()

    # -- Kafka callbacks -----------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.log_table.refresh()
        done = committed_offsets(self.log_table, self.topic)
        for tp in partitions:
            sealed = done.get(tp.partition)
            tp.offset = sealed + 1 if sealed is not None else OFFSET_BEGINNING
            self.sealed[tp.partition] = sealed + 1 if sealed is not None else 0
        consumer.assign(partitions)
        self.health.joined = True
        self._joined_at = time.monotonic()
        self.metrics.assigned.set(len(self.sealed))
        log.info(
            "assigned %s",
            ", ".join(f"{tp.partition}@{self.sealed[tp.partition]}" for tp in partitions) or "-",
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Finish what we hold before the partitions move: the next owner then starts after it.
        # (Were this commit to race the new owner, the offset check in each commit keeps it
        # exactly-once anyway.)
        if self.batch.records and not self._failing:
            self._flush()
        self._forget({tp.partition for tp in partitions})
        consumer.unassign()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost (session expired): another consumer may own them already; drop, do not commit.
        lost = {tp.partition for tp in partitions}
        self.batch.drop(lost)
        self._forget(lost)
        consumer.unassign()

    def _forget(self, partitions: set[int]) -> None:
        for p in partitions:
            self.sealed.pop(p, None)
            with contextlib.suppress(KeyError):  # never measured
                self.metrics.lag.remove(self.topic, str(p))
        self.metrics.assigned.set(len(self.sealed))

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        # Broker restarts and network blips are retried by librdkafka itself.
        log.warning("kafka: %s", err)

    def _on_commit(self, err: KafkaError | None, _partitions: list[TopicPartition]) -> None:
        if err is not None:
            self.metrics.kafka_commit_failures.inc()
            log.warning("kafka group offset commit failed (bronze is unaffected): %s", err)

    # -- the loop ------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event | None = None,
        idle_exit_s: float | None = None,
        consumer_factory: Callable[[dict[str, Any]], Consumer] = Consumer,
    ) -> StreamTotals:
        """Consume until `stop` is set (or nothing arrived for `idle_exit_s`); commit on exit."""
        stop = stop or threading.Event()
        # Start the clock at process start: "no commit for N minutes" then means since start.
        self.metrics.last_commit.set(time.time())
        conf = {
            **consumer_config(self.cfg),
            "error_cb": self._on_error,
            "on_commit": self._on_commit,
        }
        self.consumer = consumer = consumer_factory(conf)
        consumer.subscribe(
            [self.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        last_record = time.monotonic()
        try:
            while not stop.is_set():
                if self._fatal is not None:
                    raise StreamError(f"fatal Kafka error: {self._fatal}")
                now = time.monotonic()
                wait = 1.0
                if self.batch.records:
                    wait = max(0.0, self.batch.opened_at + self.cfg.batch_max_seconds - now)
                room = max(1, min(10_000, self.cfg.batch_max_records - len(self.batch.records)))
                messages = consumer.consume(num_messages=room, timeout=min(wait, 1.0))
                now = time.monotonic()
                for msg in messages:
                    self._add(msg, now)
                if messages:
                    last_record = now
                if self._batch_due(now):
                    self._flush()
                if (
                    self.cfg.snapshot_retention_minutes
                    and now - self._last_expiry >= EXPIRE_EVERY_S
                ):
                    self._expire_snapshots()
                    self._last_expiry = time.monotonic()
                if now - self._last_lag >= LAG_EVERY_S:
                    self._update_lag()
                    self._last_lag = now
                # Idle time counts from joining the group: the join itself takes seconds.
                idle = now - max(last_record, self._joined_at or now)
                if idle_exit_s is not None and not self.batch.records and idle >= idle_exit_s:
                    log.info("idle for %.0fs: stopping", idle_exit_s)
                    break
            if self.batch.records:
                self._flush()
        except BaseException:
            self._failing = True
            self.batch = _Batch()
            raise
        finally:
            self.health.stopping = True
            try:
                consumer.close()
            except KafkaException as exc:  # leaving the group is best effort
                log.warning("closing the consumer: %s", exc)
        return self.totals

    def _batch_due(self, now: float) -> bool:
        b = self.batch
        if not b.records:
            return False
        return (
            len(b.records) >= self.cfg.batch_max_records
            or b.size >= self.cfg.batch_max_bytes
            or now - b.opened_at >= self.cfg.batch_max_seconds
        )

    def _add(self, msg, now: float) -> None:
        err = msg.error()
        if err is not None:
            if err.fatal():
                raise StreamError(f"fatal Kafka error: {err}")
            log.warning("kafka: %s", err)
            return
        if msg.partition() not in self.sealed:
            return  # a straggler from a partition revoked a moment ago
        value = msg.value()
        key = msg.key()
        verdict = validate_record(value if value is not None else b"")
        if verdict.ok and key is not None and key != verdict.invoice_id.encode():
            verdict = Verdict(
                raw_text=verdict.raw_text,
                reason_code="key_mismatch",
                reason=(
                    f"message key {key[:64].decode('utf-8', 'backslashreplace')!r} is not the "
                    f"invoice_id {verdict.invoice_id!r}: revisions could be read out of order"
                ),
                invoice_id=verdict.invoice_id,
            )
        if verdict.invoice is not None:
            # The parsed invoice is ~10x the JSON's size in Python objects and bronze keeps
            # the text: drop it so a 20,000-record batch stays in tens of MiB.
            verdict = dataclasses.replace(verdict, invoice=None)
        ts_type, ts_ms = msg.timestamp()
        self.batch.add(
            _Record(
                partition=msg.partition(),
                offset=msg.offset(),
                size=len(value or b"") + len(key or b""),
                timestamp_s=ts_ms / 1000 if ts_type != 0 and ts_ms > 0 else None,
                verdict=verdict,
            ),
            now,
        )
        if self.health.waiting_since is None:
            self.health.waiting_since = now

    # -- committing a batch ------------------------------------------------------------

    def _flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        started = time.monotonic()
        now = datetime.now(UTC)
        load_id = new_load_id(now)
        ranges = batch.ranges()
        ends = {p: last for p, (_first, last) in ranges.items()}
        raw_rows, rej_rows = [], []
        by_reason: dict[str, int] = {}
        for r in batch.records:
            meta = {
                "source": SOURCE,
                "slice_key": f"{SOURCE}:{self.topic}:{r.partition}",
                "source_position": f"{r.partition}:{r.offset:019d}",
                "load_id": load_id,
                "ingested_at": now,
                "ingest_date": now.date(),
                "kafka_topic": self.topic,
                "kafka_partition": r.partition,
                "kafka_offset": r.offset,
            }
            if r.verdict.ok:
                raw_rows.append(accepted_row(r.verdict, meta))
            else:
                rej_rows.append(rejected_row(r.verdict, meta))
                code = r.verdict.reason_code
                by_reason[code] = by_reason.get(code, 0) + 1
        summary = {
            f"{SUMMARY_PREFIX}load-id": load_id,
            f"{SUMMARY_PREFIX}source": SOURCE,
            f"{SUMMARY_PREFIX}kafka-topic": self.topic,
            f"{SUMMARY_PREFIX}kafka-ranges": json.dumps(
                {str(p): list(ranges[p]) for p in sorted(ranges)}
            ),
            f"{SUMMARY_PREFIX}delivered": str(len(batch.records)),
            f"{SUMMARY_PREFIX}accepted": str(len(raw_rows)),
            f"{SUMMARY_PREFIX}rejected": str(len(rej_rows)),
        }
        failpoint("before_write")
        rej_out = self._commit_rows(self.rejected, INVOICES_REJECTED, rej_rows, ends, summary)
        failpoint("after_commit:invoices_rejected")
        raw_out = self._commit_rows(self.raw, INVOICES_RAW, raw_rows, ends, summary)
        failpoint("after_commit:invoices_raw")
        seal_out = self._seal(batch, ends, load_id, summary)
        committed_at = time.time()
        failpoint("before_kafka_commit")
        self._commit_kafka_offsets(ends)

        skipped = rej_out.skipped + raw_out.skipped
        report = BatchReport(
            load_id=load_id,
            records=len(batch.records),
            bytes=batch.size,
            accepted=len(raw_rows),
            rejected=len(rej_rows),
            written_raw=raw_out.written,
            written_rejected=rej_out.written,
            skipped=skipped,
            sealed=dict(ends),
            rejected_by_reason=by_reason,
            seconds=time.monotonic() - batch.opened_at,
            committed_at=committed_at,
            delays_s=[committed_at - r.timestamp_s for r in batch.records if r.timestamp_s],
        )
        self._observe(report, seal_out)
        self.totals.add(report)
        self.health.waiting_since = None
        log.info(
            "batch %s: %d records (%d accepted, %d rejected, %d already in bronze) "
            "offsets %s in %.2fs (commit %.2fs)",
            load_id,
            report.records,
            report.accepted,
            report.rejected,
            report.skipped,
            summary[f"{SUMMARY_PREFIX}kafka-ranges"],
            report.seconds,
            time.monotonic() - started,
        )
        if self.on_batch is not None:
            self.on_batch(report)

    def _commit_rows(self, table, tdef, rows, ends, summary) -> CommitOutcome:
        """Commit a data table's rows of the batch (those above its offsets)."""
        if not rows:
            return CommitOutcome()
        return self._commit(table, tdef, lambda done: _newer(rows, done), ends, summary)

    def _commit(self, table, tdef, rows_for, ends, summary) -> CommitOutcome:
        """One table's commit with offsets, its retries and metrics; gives up as StreamError."""
        name = tdef.name
        try:
            out = commit_with_offsets(
                table,
                self.topic,
                rows_for,
                ends,
                tdef.schema.as_arrow(),
                summary,
                self.cfg.commit_max_attempts,
                on_retry=lambda attempt, exc: self._retrying(name, attempt, exc),
            )
        except CommitGaveUp as exc:
            self.metrics.commit_failures.labels(table=name).inc()
            raise StreamError(str(exc)) from exc
        self.metrics.commit_seconds.labels(table=name).observe(out.seconds)
        if out.written:
            self.metrics.rows_written.labels(layer="bronze", table=name).inc(out.written)
            self.metrics.table_last_commit.labels(layer="bronze", table=name).set(time.time())
        return out

    def _seal(self, batch: _Batch, ends, load_id: str, summary) -> CommitOutcome:
        slice_of = {p: f"{SOURCE}:{self.topic}:{p}" for p in ends}

        def rows_after(done: dict[int, int]) -> tuple[list[dict], int]:
            counts: dict[int, list[int]] = {}
            skipped = 0
            for r in batch.records:
                if r.offset <= done.get(r.partition, -1):
                    skipped += 1
                    continue
                c = counts.setdefault(r.partition, [0, 0, 0])
                c[0] += 1
                c[1 if r.verdict.ok else 2] += 1
            sealed_at = datetime.now(UTC)
            rows = [
                {
                    "load_id": load_id,
                    "slice_key": slice_of[p],
                    "source": SOURCE,
                    "delivered": d,
                    "accepted": a,
                    "rejected": j,
                    "committed_at": sealed_at,
                }
                for p, (d, a, j) in sorted(counts.items())
            ]
            return rows, skipped

        out = self._commit(self.log_table, LOAD_LOG, rows_after, ends, summary)
        for p, end in ends.items():
            if p in self.sealed:
                self.sealed[p] = max(self.sealed[p], end + 1)
        return out

    def _retrying(self, table: str, attempt: int, exc: BaseException) -> None:
        self.metrics.commit_retries.labels(table=table).inc()
        log.warning("commit to %s failed (attempt %d), retrying: %s", table, attempt, exc)

    def _commit_kafka_offsets(self, ends: dict[int, int]) -> None:
        if self.consumer is None:
            return
        offsets = [
            TopicPartition(self.topic, p, end + 1) for p, end in ends.items() if p in self.sealed
        ]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            self.metrics.kafka_commit_failures.inc()
            log.warning("kafka group offset commit failed (bronze is unaffected): %s", exc)

    def _observe(self, report: BatchReport, seal: CommitOutcome) -> None:
        m = self.metrics
        m.batch_records.observe(report.records)
        m.batch_bytes.observe(report.bytes)
        m.batch_seconds.observe(report.seconds)
        for d in report.delays_s:
            m.delay.observe(max(d, 0.0))
        m.last_commit.set(report.committed_at)
        m.duplicates_skipped.inc(report.skipped)
        fresh = report.records - seal.skipped
        m.delivered.labels(source=SOURCE).inc(fresh)
        for reason, n in report.rejected_by_reason.items():
            m.rejected.labels(reason=reason).inc(n)

    def _expire_snapshots(self) -> None:
        """Expire this stream's tables' snapshots older than the retention (metadata only).

        Files stay until the daily orphan sweep, so a reader planning on an expired snapshot
        still finds its files; failures (a concurrent compaction) wait for the next round.
        """
        cutoff_ms = int((time.time() - 60 * self.cfg.snapshot_retention_minutes) * 1000)
        for table in (self.rejected, self.raw, self.log_table):
            try:
                table.refresh()
                protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
                old = [
                    s.snapshot_id
                    for s in table.metadata.snapshots
                    if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected
                ]
                if old:
                    table.maintenance.expire_snapshots().by_ids(old).commit()
                    log.info("expired %d snapshots of %s", len(old), ".".join(table.name()))
            except Exception as exc:  # retried next round, never fatal
                log.warning("snapshot expiry of %s: %s", ".".join(table.name()), exc)

    def _update_lag(self) -> None:
        if self.consumer is None:
            return
        for p, next_offset in list(self.sealed.items()):
            try:
                _low, high = self.consumer.get_watermark_offsets(
                    TopicPartition(self.topic, p), cached=True
                )
            except KafkaException:
                continue
            if high is None or high < 0:
                continue
            self.metrics.lag.labels(topic=self.topic, partition=str(p)).set(
                max(0, high - next_offset)
            )


def _newer(rows: list[dict], done: dict[int, int]) -> tuple[list[dict], int]:
    keep = [r for r in rows if r["kafka_offset"] > done.get(r["kafka_partition"], -1)]
    return keep, len(rows) - len(keep)
