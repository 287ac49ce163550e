"""The simulator's Kafka producer: the planned stream, its pacing, and the produce loop.

No broker here: the produce loop runs against a fake producer and a fake clock; the
integration tier produces to a real broker.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from collections import Counter

import pytest

from pantrypulse.contract.validate import MAX_RECORD_BYTES, validate_record
from pantrypulse.simulator.kafka_producer import (
    OVERSIZED_EVERY,
    PRODUCER_DEFAULTS,
    TOMBSTONE_REASON,
    PlannedRecord,
    ProducerConfig,
    TokenBucket,
    _base_records,
    plan_records,
    produce,
)

# A mix with many malformed records, so a few thousand records cover every defect.
SEED = 7  # one seed for (nearly) every test: its base dataset is generated once (~2 s)
RICH = ProducerConfig(malformed_share=0.3, duplicate_share=0.1, seed=SEED)


@pytest.fixture(scope="module")
def rich_plan() -> list[PlannedRecord]:
    return list(plan_records(RICH, 3_000))


def test_same_seed_same_records_and_another_seed_differs():
    a = list(plan_records(RICH, 2_500))
    _base_records.cache_clear()  # regenerate: the base dataset itself must be deterministic
    b = list(plan_records(RICH, 2_500))
    c = list(plan_records(dataclasses.replace(RICH, seed=SEED + 1), 2_500))
    assert a == b
    assert a != c


def test_plan_is_lazy_and_a_prefix_of_a_longer_plan():
    short = list(plan_records(RICH, 1_000))
    long = plan_records(RICH, 10_000_000)  # would not fit in memory if built eagerly
    assert list(itertools.islice(long, 1_000)) == short


def test_shares_within_tolerance():
    config = ProducerConfig(duplicate_share=0.02, malformed_share=0.01, seed=SEED)
    kinds = Counter(r.kind for r in plan_records(config, 20_000))
    assert sum(kinds.values()) == 20_000
    # Exact per block of 1,000: only the very first duplicate slot may fall back to "ok".
    assert kinds["malformed"] == 200
    assert 399 <= kinds["duplicate"] <= 400
    assert kinds["correction"] > 0
    assert kinds.keys() <= {"ok", "duplicate", "correction", "malformed"}


def test_short_runs_still_get_their_share():
    kinds = Counter(
        r.kind for r in plan_records(ProducerConfig(malformed_share=0.01, seed=SEED), 300)
    )
    assert kinds["malformed"] == 3


def test_zero_shares_give_only_base_records():
    config = ProducerConfig(duplicate_share=0, malformed_share=0, seed=SEED)
    kinds = Counter(r.kind for r in plan_records(config, 3_000))
    assert kinds.keys() <= {"ok", "correction"}


def test_expected_reason_is_the_validators_verdict(rich_plan):
    for record in rich_plan:
        verdict = validate_record(record.validation_input)
        assert verdict.reason_code == record.expected_reason, record
        assert (record.kind == "malformed") == (record.expected_reason is not None)


def test_malformed_records_cover_every_defect(rich_plan):
    reasons = Counter(r.expected_reason for r in rich_plan if r.kind == "malformed")
    for reason in (
        "invalid_json",
        "wrong_type",
        "missing_field",
        "negative_quantity",
        "total_mismatch",
        "line_total_mismatch",
        "invalid_value",
        "invalid_encoding",
        "not_an_object",
    ):
        assert reasons[reason] >= 50, reason
    tombstones = [r for r in rich_plan if r.value is None]
    assert tombstones
    assert all(r.expected_reason == TOMBSTONE_REASON for r in tombstones)
    assert all(r.key for r in tombstones)  # a tombstone still names its invoice
    truncated = [
        r
        for r in rich_plan
        if r.expected_reason == "invalid_json" and r.value and not r.value.endswith(b"}")
    ]
    assert truncated


def test_a_null_value_is_validated_as_an_empty_payload():
    # The consumer hands b"" to the validator for a null value; None itself would read as
    # JSON null (not_an_object), which is not what reaches the contract check.
    assert validate_record(b"").reason_code == TOMBSTONE_REASON
    assert PlannedRecord(b"k", None, "malformed", TOMBSTONE_REASON).validation_input == b""


def test_oversized_is_rare_capped_and_valid_json():
    config = ProducerConfig(malformed_share=1.0, duplicate_share=0.0, max_oversized=2, seed=SEED)
    plan = list(plan_records(config, 5 * OVERSIZED_EVERY))
    big = [r for r in plan if r.expected_reason == "oversized"]
    assert len(big) == 2  # would be 5 without the cap
    for record in big:
        assert MAX_RECORD_BYTES < len(record.value) < 2 * MAX_RECORD_BYTES
        assert isinstance(json.loads(record.value), dict)
        assert validate_record(record.value).reason_code == "oversized"
    first = plan.index(big[0])
    assert first == OVERSIZED_EVERY // 2 - 1
    assert len(big) / len(plan) <= 1 / OVERSIZED_EVERY


def test_keys_name_the_invoice_in_the_value(rich_plan):
    for record in rich_plan:
        if record.kind == "malformed":
            assert record.key  # malformed records still carry the invoice they stand for
            continue
        invoice = json.loads(record.value)
        assert record.key == invoice["invoice_id"].encode("utf-8")


def test_duplicates_resend_an_earlier_record_exactly(rich_plan):
    seen: set[tuple[bytes, bytes]] = set()
    duplicates = 0
    for record in rich_plan:
        pair = (record.key, record.value)
        if record.kind == "duplicate":
            duplicates += 1
            assert pair in seen
        seen.add(pair)
    assert duplicates


def test_corrections_carry_a_higher_revision_of_an_earlier_invoice():
    plan = list(
        plan_records(ProducerConfig(duplicate_share=0, malformed_share=0, seed=SEED), 8_000)
    )
    first_seen: dict[bytes, int] = {}
    corrections = 0
    for record in plan:
        invoice = json.loads(record.value)
        if record.kind == "correction":
            corrections += 1
            assert invoice["revision"] >= 2
            assert record.key in first_seen  # the original came first
        else:
            first_seen.setdefault(record.key, invoice.get("revision", 1))
    assert corrections > 10


def test_cycles_keep_keys_unique_per_cycle():
    plan = plan_records(ProducerConfig(duplicate_share=0, malformed_share=0, seed=SEED), 16_000)
    revisions = Counter()
    for record in plan:
        invoice = json.loads(record.value)
        revisions[(record.key, invoice.get("revision", 1))] += 1
    assert max(revisions.values()) == 1  # each (key, revision) exactly once
    keys = {key for key, _ in revisions}
    assert any(k.endswith(b"-c2") for k in keys)
    assert any(k.endswith(b"-c3") for k in keys)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": -1},
        {"count": -1},
        {"duplicate_share": 1.5},
        {"malformed_share": -0.1},
        {"duplicate_share": 0.6, "malformed_share": 0.6},
    ],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        ProducerConfig(**kwargs)


def test_duration_defaults_to_a_minute_only_without_a_count():
    assert ProducerConfig().effective_duration_s == 60.0
    assert ProducerConfig(count=10).effective_duration_s is None
    assert ProducerConfig(count=10, duration_s=5).effective_duration_s == 5


# --------------------------------------------------------------------------------------
# Pacing
# --------------------------------------------------------------------------------------


def _drive(bucket: TokenBucket, until: float, now: float = 0.0, tick: float = 0.001):
    """Run a producer loop against a fake clock that wakes no more often than `tick`."""
    sent = wakeups = 0
    while now < until:
        n = bucket.take(now)
        sent += n
        wakeups += 1
        now += max(bucket.wait(now), tick)
    return sent, wakeups, now


def test_bucket_holds_the_rate_over_time():
    sent, wakeups, _ = _drive(TokenBucket(5_000, now=0.0), until=10.0)
    assert abs(sent - 50_000) <= 2
    # Batches of ~5 per 1 ms wake-up, not one sleep per message.
    assert wakeups <= 10_001
    assert sent / wakeups >= 4


def test_bucket_at_a_slow_rate_waits_between_messages():
    bucket = TokenBucket(2, now=0.0)
    assert bucket.take(0.0) == 1  # the first message goes at once
    assert bucket.take(0.0) == 0
    assert bucket.wait(0.0) == pytest.approx(0.5)
    assert bucket.take(0.49) == 0
    assert bucket.take(0.5) == 1
    sent, _, _ = _drive(bucket, until=60.5, now=0.5)
    assert abs(sent - 119) <= 1  # one message every 0.5 s in (0.5, 60.5)


def test_bucket_catches_up_a_short_stall_but_forgives_a_long_one():
    bucket = TokenBucket(1_000, now=0.0, burst_s=0.25)
    bucket.take(0.0)
    assert bucket.take(0.1) == 100  # a 100 ms hiccup is caught up
    assert bucket.take(10.1) == 250  # a 10 s stall releases at most the burst
    assert bucket.take(10.1) == 0


def test_bucket_respects_a_limit_and_rate_zero_is_unpaced():
    bucket = TokenBucket(1_000, now=0.0)
    assert bucket.take(0.2, limit=10) == 10
    assert bucket.take(0.2) == 191  # the rest is kept for later
    free = TokenBucket(0, now=0.0)
    assert free.take(0.0) > 0
    assert free.wait(0.0) == 0


# --------------------------------------------------------------------------------------
# The produce loop, against a fake producer and a fake clock
# --------------------------------------------------------------------------------------


class _Err:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class FakeProducer:
    """Queues messages, delivers them on poll/flush, advances the fake clock on waits."""

    def __init__(self, conf, clock, fail_every=0, stuck_after=None, buffer=10_000):
        self.conf = conf
        self.clock = clock
        self.fail_every = fail_every
        self.stuck_after = stuck_after  # messages from this index on are never delivered
        self.buffer = buffer
        self.queue: list = []
        self.messages: list[tuple] = []
        self.buffer_errors = 0

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if len(self.queue) >= self.buffer:
            self.buffer_errors += 1
            raise BufferError("queue full")
        self.messages.append((topic, key, value))
        self.queue.append(on_delivery)

    def _deliver(self) -> None:
        while self.queue:
            n = len(self.messages) - len(self.queue)  # index of the oldest queued message
            if self.stuck_after is not None and n >= self.stuck_after:
                return
            callback = self.queue.pop(0)
            failed = self.fail_every and (n + 1) % self.fail_every == 0
            callback(_Err("_MSG_TIMED_OUT") if failed else None, None)

    def poll(self, timeout=0):
        self.clock.now += timeout
        self._deliver()
        return 0

    def flush(self, timeout=0):
        self._deliver()
        return len(self.queue)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1e-6  # every look at the clock costs a little time
        return self.now


def _run(config, **fake):
    clock = FakeClock()
    made: list[FakeProducer] = []

    def factory(conf):
        made.append(FakeProducer(conf, clock, **fake))
        return made[0]

    progress: list[int] = []
    report = produce(
        config,
        {"bootstrap.servers": "example:9092", "linger.ms": "5"},
        on_progress=lambda r: progress.append(r.produced),
        producer_factory=factory,
        clock=clock,
    )
    return report, made[0], progress, clock


def test_produce_sends_the_plan_and_counts_what_was_acknowledged():
    config = dataclasses.replace(RICH, rate=0, count=3_000)
    report, fake, progress, _ = _run(config)
    planned = list(plan_records(config, 3_000))
    assert fake.messages == [(config.topic, r.key, r.value) for r in planned]
    assert report.produced == report.sent == 3_000
    assert report.failed == 0
    assert report.by_kind == dict(Counter(r.kind for r in planned))
    assert report.by_reason == dict(
        Counter(r.expected_reason for r in planned if r.expected_reason)
    )
    assert report.bytes_sent == sum(len(r.value or b"") for r in planned)
    assert progress[-1] == 3_000  # a final progress call with the totals
    assert report.finished_at >= report.started_at


def test_produce_config_defaults_and_caller_overrides():
    _, fake, _, _ = _run(ProducerConfig(rate=0, count=1, seed=SEED))
    assert fake.conf["acks"] == "all"
    assert fake.conf["enable.idempotence"] == "true"
    assert int(fake.conf["message.max.bytes"]) > 2 * MAX_RECORD_BYTES
    assert fake.conf["compression.type"] == PRODUCER_DEFAULTS["compression.type"]
    assert fake.conf["linger.ms"] == "5"  # the caller's value wins
    assert fake.conf["bootstrap.servers"] == "example:9092"


def test_produce_counts_every_failure():
    config = ProducerConfig(rate=0, count=1_000, seed=SEED)
    report, _, _, _ = _run(config, fail_every=10, stuck_after=993)
    assert report.sent == 1_000
    assert report.produced + report.failed == 1_000
    assert report.errors["UNDELIVERED_AT_EXIT"] == 7
    assert report.errors["_MSG_TIMED_OUT"] == report.failed - 7 > 0


def test_produce_retries_when_the_local_queue_is_full():
    report, fake, _, _ = _run(ProducerConfig(rate=0, count=5_000, seed=SEED), buffer=100)
    assert fake.buffer_errors > 0
    assert report.produced == 5_000
    assert len(fake.messages) == 5_000


def test_produce_paces_at_the_rate_for_the_duration():
    config = ProducerConfig(rate=500, duration_s=4.0, seed=SEED)
    report, _, progress, clock = _run(config)
    assert abs(report.produced - 2_000) <= 3
    assert 4.0 <= clock.now - 1_000.0 < 4.2
    assert len(progress) >= 3  # about once a second, plus the final call


def test_produce_stops_on_an_event():
    stop = threading.Event()
    calls = 0

    def on_progress(_report):
        nonlocal calls
        calls += 1
        if calls == 2:
            stop.set()

    clock = FakeClock()
    fake = FakeProducer({}, clock)
    report = produce(
        ProducerConfig(rate=100, seed=SEED),  # would run 60 s
        {},
        on_progress=on_progress,
        stop=stop,
        producer_factory=lambda conf: fake,
        clock=clock,
    )
    assert clock.now - 1_000.0 < 3.0
    assert 0 < report.produced == len(fake.messages) < 300


def test_produce_stops_on_a_callable():
    clock = FakeClock()
    report = produce(
        ProducerConfig(rate=0, count=10_000, seed=SEED),
        {},
        stop=lambda: True,
        producer_factory=lambda conf: FakeProducer(conf, clock),
        clock=clock,
    )
    assert report.produced == 0
    assert report.rate() == 0.0
