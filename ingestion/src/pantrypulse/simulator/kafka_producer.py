"""Feed simulated invoices to the Kafka topic at a steady rate, with duplicates and defects.

The topic contract (`pantrypulse.invoices.v1`): key = invoice_id as UTF-8, value = one invoice
as UTF-8 JSON, delivered at least once. `plan_records` decides, deterministically from a seed,
what goes on the wire; `produce` sends it, paced by a token bucket, and counts what the broker
acknowledged and what it did not.

Where the records come from: `generate` builds about 4,000 deliveries a second, too slow to
feed a 5,000 a second stream by itself, so one base dataset (about 7,000 deliveries of well-
formed invoices and their corrections) is generated once per seed and cycled through. Cycle
`c` (from 2 on) appends `-c{c}` to every invoice_id, so keys stay unique per cycle and a
correction still follows the invoice it corrects. On top of that stream:

- duplicates re-send the exact key and value of a recent well-formed record (at-least-once);
- malformed records take the place of the next base record and carry one defect each, cycling
  through every reason the contract knows plus a null value (a tombstone); one record in
  `OVERSIZED_EVERY` malformed ones (at most `ProducerConfig.max_oversized` a run) is valid JSON
  padded past `MAX_RECORD_BYTES` instead.

Every `PlannedRecord.expected_reason` is what `validate_record(record.validation_input)` says.
A null value is validated as an empty payload (b""), which is how the consumer treats it, so
its expected reason is `invalid_json` (validate_record(None) would say not_an_object, but a
consumer never sees a Python None as a decoded value).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pantrypulse.contract.validate import MAX_RECORD_BYTES
from pantrypulse.simulator.catalogue import rng_for
from pantrypulse.simulator.generate import SimulatorConfig, generate
from pantrypulse.simulator.malformed import KINDS, compact, make_malformed

log = logging.getLogger(__name__)

TOPIC = "pantrypulse.invoices.v1"

# The base dataset: 100 households over half a year is about 7,000 deliveries (1.7 s to
# generate), enough variety that a cycle is not obviously repeating, small enough to keep.
BASE_HOUSEHOLDS = 100
BASE_DAYS = 183
# Shares are exact per block of this many messages (not coin flips), so short runs still get
# the configured mix; positions inside a block are random.
BLOCK = 1_000
# Duplicates re-send one of the last this-many well-formed records: "later", but not much.
DUPLICATE_WINDOW = 2_000
# One malformed record in this many is oversized (1 MiB each, so rare); the first comes at
# the middle of the first stretch so a run with ~1,000 malformed records already has one.
OVERSIZED_EVERY = 2_000
OVERSIZED_BYTES = MAX_RECORD_BYTES + 4_096
# A null value: the consumer validates it as an empty payload, which is not JSON.
TOMBSTONE = "null_value"
TOMBSTONE_REASON = "invalid_json"
MALFORMED_ROTATION = (*KINDS, TOMBSTONE)

# What the producer needs whatever the caller passes: no loss (acks=all), no duplicates of
# its own on retry (idempotence: the duplicates on the topic are the planned ones), and
# room for the oversized records (> 1 MiB uncompressed) to reach the topic and be
# quarantined downstream instead of bouncing here. The padding compresses to a few KB, so a
# broker with the default 1 MiB limit accepts it. lz4 is the cheapest codec on CPU (the
# producer shares the machine with broker and consumer in the integration tier).
PRODUCER_DEFAULTS: dict[str, str] = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "10",
    "compression.type": "lz4",
    "message.max.bytes": str(4 * 1024 * 1024),
    "queue.buffering.max.messages": "200000",
    "client.id": "pantrypulse-simulator",
}
PROGRESS_EVERY_S = 1.0
FLUSH_TIMEOUT_S = 60.0
# With rate 0 ("as fast as possible") this many messages are handed over between polls.
UNPACED_BATCH = 1_000
# Shortest sleep between tokens (see `produce`).
MIN_WAIT_S = 0.005


@dataclass(frozen=True)
class ProducerConfig:
    """What to produce: topic, pace, how long, and the mix of duplicates and defects."""

    topic: str = TOPIC
    rate: float = 100.0  # invoices per second; 0 = as fast as possible
    count: int | None = None  # stop after this many messages (None: use duration)
    duration_s: float | None = None  # stop after this long (None with count None: 60 s)
    duplicate_share: float = 0.02  # share of messages re-sending an earlier key+value
    malformed_share: float = 0.01  # share of messages that are malformed
    seed: int = 42
    max_oversized: int = 5  # cap on oversized (> 1 MiB) records per run

    def __post_init__(self) -> None:
        if self.rate < 0 or math.isnan(self.rate):
            raise ValueError(f"rate must be >= 0, got {self.rate}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")
        if self.duration_s is not None and not self.duration_s >= 0:
            raise ValueError(f"duration_s must be >= 0, got {self.duration_s}")
        for name in ("duplicate_share", "malformed_share"):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                raise ValueError(f"{name} must be within [0, 1], got {share}")
        if self.duplicate_share + self.malformed_share > 1:
            raise ValueError("duplicate_share + malformed_share must not exceed 1")
        if self.max_oversized < 0:
            raise ValueError(f"max_oversized must be >= 0, got {self.max_oversized}")

    @property
    def effective_duration_s(self) -> float | None:
        """How long to run: duration_s, or 60 s when neither count nor duration is set."""
        if self.duration_s is None and self.count is None:
            return 60.0
        return self.duration_s


@dataclass(frozen=True)
class PlannedRecord:
    """One message as it goes on the wire, and what the consumer must make of it."""

    key: bytes | None
    value: bytes | None
    kind: str  # "ok" | "duplicate" | "correction" | "malformed"
    expected_reason: str | None  # contract reason code when malformed, else None

    @property
    def validation_input(self) -> bytes:
        """The bytes a consumer validates: the value, or b"" for a null value (tombstone)."""
        return b"" if self.value is None else self.value


# --------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Base:
    """One well-formed base delivery, pre-split so re-keying it per cycle is a concatenation."""

    invoice_id: str
    kind: str  # "ok" | "correction"
    payload: dict
    tail: bytes  # the compact JSON after the invoice_id value: b',"revision":...}'


_ID_PREFIX = b'{"invoice_id":'


def _encode_id(invoice_id: str) -> bytes:
    return json.dumps(invoice_id, ensure_ascii=False).encode("utf-8")


@functools.lru_cache(maxsize=2)
def _base_records(seed: int) -> tuple[_Base, ...]:
    # The simulator's own defects and re-deliveries are switched off: the producer plans
    # those itself, at its own shares. Late arrival means nothing on a stream, so off too;
    # corrections stay, at the simulator's rate, in the simulator's order.
    dataset = generate(
        SimulatorConfig(
            seed=seed,
            days=BASE_DAYS,
            households=BASE_HOUSEHOLDS,
            malformed_rate=0.0,
            duplicate_rate=0.0,
            late_rate=0.0,
        )
    )
    out = []
    for d in dataset.deliveries:
        if d.kind not in ("ok", "late", "correction") or not isinstance(d.payload, dict):
            continue
        text = compact(d.payload).encode("utf-8")
        head = _ID_PREFIX + _encode_id(d.payload["invoice_id"])
        # invoice_id is printed first; if that ever changes, a full re-serialisation per
        # message would be needed, so fail loudly here rather than emit wrong keys.
        if not text.startswith(head):
            raise AssertionError(f"invoice_id is not the first field of {d.invoice_id}")
        kind = "correction" if d.kind == "correction" else "ok"
        out.append(_Base(d.payload["invoice_id"], kind, d.payload, text[len(head) :]))
    return tuple(out)


def _cumulative(share: float, n: int) -> int:
    # How many of the first n messages should have this kind, rounded half up.
    return math.floor(share * n + 0.5)


def _oversized(payload: dict) -> bytes:
    # Valid JSON that would be accepted but for its size: an invoice with a big extra field.
    text = compact(payload).encode("utf-8")
    pad = OVERSIZED_BYTES - len(text) - len(b',"scan_debug":""')
    return text[:-1] + b',"scan_debug":"' + b"0" * pad + b'"}'


def _malformed_value(payload: dict, kind: str, rng) -> bytes | None:
    if kind == TOMBSTONE:
        return None
    broken = make_malformed(payload, kind, rng)
    if isinstance(broken, bytes):
        return broken
    if isinstance(broken, str):
        return broken.encode("utf-8")
    return compact(broken).encode("utf-8")


def _iter_records(config: ProducerConfig, total: int | None) -> Iterator[PlannedRecord]:
    """The planned stream; endless when `total` is None (a run bounded by time only)."""
    base = _base_records(config.seed)
    slots = rng_for(config.seed, "kafka", "slots")
    defects = rng_for(config.seed, "kafka", "defects")
    picks = rng_for(config.seed, "kafka", "duplicates")
    recent: list[tuple[bytes, bytes]] = []  # ring buffer of (key, value) of good records
    rotation: list[str] = []
    malformed_seen = oversized = good = 0
    position = 0  # index into the endless base stream (cycle = position // len(base))

    def next_base() -> tuple[_Base, str]:
        nonlocal position
        cycle, index = divmod(position, len(base))
        position += 1
        record = base[index]
        suffix = f"-c{cycle + 1}" if cycle else ""
        return record, record.invoice_id + suffix

    start = 0
    while total is None or start < total:
        end = start + BLOCK if total is None else min(start + BLOCK, total)
        n_bad = _cumulative(config.malformed_share, end) - _cumulative(
            config.malformed_share, start
        )
        n_dup = _cumulative(config.duplicate_share, end) - _cumulative(
            config.duplicate_share, start
        )
        chosen = slots.sample(range(start, end), n_bad + n_dup)
        bad, dup = set(chosen[:n_bad]), set(chosen[n_bad:])
        for i in range(start, end):
            if i in dup and recent:
                key, value = recent[picks.randrange(len(recent))]
                yield PlannedRecord(key, value, "duplicate", None)
                continue
            record, invoice_id = next_base()
            key = invoice_id.encode("utf-8")
            if i in bad:
                payload = dict(record.payload, invoice_id=invoice_id)
                if (
                    malformed_seen % OVERSIZED_EVERY == OVERSIZED_EVERY // 2 - 1
                    and oversized < config.max_oversized
                ):
                    oversized += 1
                    value, reason = _oversized(payload), "oversized"
                else:
                    if not rotation:
                        rotation = list(MALFORMED_ROTATION)
                        defects.shuffle(rotation)
                    kind = rotation.pop()
                    value = _malformed_value(payload, kind, defects)
                    reason = TOMBSTONE_REASON if kind == TOMBSTONE else kind
                malformed_seen += 1
                yield PlannedRecord(key, value, "malformed", reason)
                continue
            value = _ID_PREFIX + _encode_id(invoice_id) + record.tail
            if len(recent) < DUPLICATE_WINDOW:
                recent.append((key, value))
            else:
                recent[good % DUPLICATE_WINDOW] = (key, value)  # overwrite the oldest
            good += 1
            yield PlannedRecord(key, value, record.kind, None)
        start = end


def plan_records(config: ProducerConfig, total: int) -> Iterator[PlannedRecord]:
    """The first `total` messages of the run `config` describes, lazily and deterministically.

    Same seed and shares, same records. The base dataset is generated once per seed (about
    2 s) and cycled; everything else is built as it is consumed, so a plan of any length
    needs no more memory than a short one.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    return _iter_records(config, total)


# --------------------------------------------------------------------------------------
# Pacing
# --------------------------------------------------------------------------------------


class TokenBucket:
    """Release messages at `rate` a second, in whatever batches the caller's wake-ups allow.

    Tokens accrue continuously up to `burst_s` seconds' worth; the caller takes all whole
    tokens at once, sends that many, and waits (polling the producer) until the next token
    is due. So the loop sleeps about once per wake-up, not once per message, the long-run
    rate is exact, and a stall shorter than `burst_s` is caught up while a longer one is
    forgiven rather than answered with an unbounded burst. A rate of 0 means no pacing.
    """

    def __init__(self, rate: float, now: float, burst_s: float = 0.25) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate * burst_s)
        self.tokens = 1.0  # the first message goes out at once
        self.last = now

    def _refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now

    def take(self, now: float, limit: int | None = None) -> int:
        """How many messages may go now (at most `limit`); they count as sent."""
        if self.rate <= 0:
            return UNPACED_BATCH if limit is None else min(UNPACED_BATCH, limit)
        self._refill(now)
        n = int(self.tokens)
        if limit is not None:
            n = min(n, limit)
        self.tokens -= n
        return n

    def wait(self, now: float) -> float:
        """Seconds until the next message may go (0 when one may go now)."""
        if self.rate <= 0:
            return 0.0
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)


# --------------------------------------------------------------------------------------
# Producing
# --------------------------------------------------------------------------------------


class _Producer(Protocol):
    def produce(self, topic: str, value: Any = ..., key: Any = ..., **kwargs: Any) -> None: ...
    def poll(self, timeout: float = ...) -> int: ...
    def flush(self, timeout: float = ...) -> int: ...


@dataclass
class ProduceReport:
    """What a run sent: counts of acknowledged messages by kind and reason, and failures.

    `produced` counts messages the broker acknowledged; `failed` counts those it did not
    (a delivery error, a synchronous produce error, or still queued when the final flush
    timed out), with `errors` by error name. `sent` = handed to the client library.
    """

    produced: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    sent: int = 0
    bytes_sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def rate(self) -> float:
        """Acknowledged messages per second of wall time (0 before anything was timed)."""
        elapsed = self.finished_at - self.started_at
        return self.produced / elapsed if elapsed > 0 else 0.0

    def _delivered(self, kind: str, reason: str | None, err: Any, _msg: Any = None) -> None:
        # Called from poll()/flush() on the producing thread: no lock needed.
        if err is not None:
            self._failure(err)
            return
        self.produced += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if reason is not None:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def _failure(self, err: Any) -> None:
        self.failed += 1
        name = err.name() if hasattr(err, "name") else type(err).__name__
        if not self.errors.get(name):
            log.error("delivery failed: %s", err)  # the first of each kind, not a flood
        self.errors[name] = self.errors.get(name, 0) + 1


def _stopper(stop: Any) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if hasattr(stop, "is_set"):
        return stop.is_set
    return stop


def _kafka_producer(conf: dict[str, str]) -> _Producer:
    from confluent_kafka import Producer  # imported here: planning needs no Kafka client

    return Producer(conf)


def produce(
    config: ProducerConfig,
    kafka_config: dict[str, str],
    on_progress: Callable[[ProduceReport], None] | None = None,
    stop: Any = None,
    *,
    producer_factory: Callable[[dict[str, str]], _Producer] = _kafka_producer,
    clock: Callable[[], float] = time.monotonic,
    flush_timeout_s: float = FLUSH_TIMEOUT_S,
) -> ProduceReport:
    """Send the planned records to `config.topic`, paced at `config.rate`; report the outcome.

    `kafka_config` holds librdkafka properties (bootstrap.servers, security, ...); they
    override `PRODUCER_DEFAULTS`. The run ends after `config.count` messages, after
    `config.effective_duration_s` seconds, or when `stop` (a threading.Event or a callable)
    says so, whichever comes first; then it flushes. `on_progress(report)` is called about
    once a second. Delivery failures are counted, never raised: the caller decides what a
    failed run means. `producer_factory` and `clock` exist for tests.
    """
    stopped = _stopper(stop)
    # Build the base dataset (~2 s) before the clock starts, or a timed run loses that
    # time and the token bucket starts with a stall it will not make up.
    _base_records(config.seed)
    producer = producer_factory({**PRODUCER_DEFAULTS, **kafka_config})
    report = ProduceReport(started_at=time.time())
    started = clock()
    duration = config.effective_duration_s
    deadline = None if duration is None else started + duration
    records = _iter_records(config, config.count)
    bucket = TokenBucket(config.rate, started)
    next_progress = started + PROGRESS_EVERY_S
    topic = config.topic

    def send(record: PlannedRecord) -> None:
        callback = functools.partial(report._delivered, record.kind, record.expected_reason)
        while True:
            try:
                producer.produce(topic, value=record.value, key=record.key, on_delivery=callback)
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain, then retry
            except Exception as exc:  # KafkaException, e.g. a message too large locally
                report._failure(exc.args[0] if exc.args else exc)
                break
        report.sent += 1
        report.bytes_sent += 0 if record.value is None else len(record.value)

    exhausted = False
    while not exhausted:
        now = clock()
        if stopped() or (deadline is not None and now >= deadline):
            break
        if on_progress is not None and now >= next_progress:
            report.finished_at = time.time()
            on_progress(report)
            next_progress = now + PROGRESS_EVERY_S
        n = bucket.take(now)
        if n == 0:
            # Waiting for the next token is also the time to serve delivery reports.
            wait = bucket.wait(now)
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - now))
            # librdkafka turns a timeout under 1 ms into poll(0): waking at least every 5 ms
            # (below linger.ms) stops a busy spin that burnt a core at 5,000/s; the bucket
            # hands out the tokens that accrued meanwhile, so the rate stays exact.
            producer.poll(max(MIN_WAIT_S, min(wait, 0.1)))
            continue
        for _ in range(n):
            record = next(records, None)
            if record is None:
                exhausted = True
                break
            send(record)
        producer.poll(0)

    remaining = producer.flush(flush_timeout_s)
    for _ in range(remaining):
        report._failure(_Undelivered())
    report.finished_at = time.time()
    if on_progress is not None:
        on_progress(report)
    return report


class _Undelivered(Exception):
    """Still in the producer's queue when the final flush gave up."""

    def name(self) -> str:
        """The error name reported in `ProduceReport.errors`."""
        return "UNDELIVERED_AT_EXIT"
