"""`pantrypulse stream` against the real broker: every offset in bronze exactly once.

Crashes at every named point (SIGKILL, `PP_FAILPOINT`), SIGKILL at random moments while the
topic fills, a consumer group rebalancing twice, a broker restart under a running consumer,
malformed records, and the metrics/probe port. Each test has its own topic and group; most
use an embedded catalog of their own (PANTRYPULSE_HOME), the crash points also run on Nessie
and S3. Every check reads what Kafka holds (watermarks) and what bronze holds (pyiceberg),
never what the consumer says it did.
"""

from __future__ import annotations

import json
import random
import re
import signal
import socket
import threading
import time

import pytest
from streamkit import (
    StreamProc,
    assert_exactly_once,
    create_topic,
    http_get,
    produce_planned,
    produce_records,
    read_bronze,
    run_stream,
    stream_env,
    unique,
    wait_bronze_holds,
    watermarks,
)

from pantrypulse.stream.failpoints import POINTS

IDLE = "5"


@pytest.fixture
def bootstrap(stack):
    return stack.cfg.kafka_bootstrap


@pytest.fixture
def local_env(tmp_path):
    """An embedded catalog (SQLite + local warehouse) of this test alone."""
    return {"PANTRYPULSE_HOME": str(tmp_path / "home")}


def _topic(bootstrap: str, what: str) -> str:
    topic = unique(f"it.stream.{what}")
    create_topic(bootstrap, topic)
    return topic


def _produce(bootstrap, topic, count, **kw):
    rep = produce_planned(bootstrap, topic, count, **kw)
    assert rep.failed == 0, f"producer: {rep}"
    assert rep.produced == count, f"producer: {rep}"
    return rep


# Points after which a table already holds part of the crashed batch: the re-run must find
# those records there and skip them (proves the crash happened past that commit).
COMMITTED_BEFORE = {
    "after_commit:invoices_rejected",
    "after_data_files:invoices_raw",
    "after_commit:invoices_raw",
    "after_data_files:load_log",
}
CASES = [pytest.param("embedded", p, id=f"embedded-{p}") for p in POINTS] + [
    pytest.param("nessie", p, id=f"nessie-{p}") for p in POINTS
]


@pytest.mark.parametrize(("catalog", "point"), CASES)
def test_crash_point_then_restart_lands_every_offset_once(
    catalog, point, request, bootstrap, tmp_path
):
    if catalog == "nessie":
        base, whole = request.getfixturevalue("services_env"), False
    else:
        base, whole = {"PANTRYPULSE_HOME": str(tmp_path / "home")}, True
    topic = _topic(bootstrap, "crash")
    # 3,000 records, 5% malformed, in batches of 1,000: every batch has rows for both tables.
    _produce(bootstrap, topic, 3000, malformed_share=0.05, seed=11)
    # Static membership: the re-run takes the dead consumer's partitions over at once
    # instead of after its session timeout.
    env = stream_env(
        base,
        bootstrap,
        topic,
        unique("g"),
        batch_records=1000,
        batch_seconds=10,
        instance_id="crash-test-consumer",
    )
    logs = tmp_path / "logs"

    # Crash in the second batch: the first one is sealed, the second half-done.
    crashed = run_stream(env, logs, "crashed", "--json", failpoint=f"{point}@2")
    assert crashed.proc.returncode == -signal.SIGKILL, (
        f"expected a SIGKILL at {point}, got {crashed.proc.returncode}\n{crashed.tail()}"
    )
    assert crashed.batches() == 1, f"one batch before the crash\n{crashed.tail()}"
    assert not crashed.stdout().strip()

    again = run_stream(env, logs, "again", "--idle-exit", IDLE, "--json")
    assert again.proc.returncode == 0, again.tail()
    totals = again.totals()
    if point in COMMITTED_BEFORE:
        assert totals["skipped"] > 0, f"re-run skipped nothing after {point}\n{again.tail()}"
    else:
        assert totals["skipped"] == 0, f"{point}: nothing was committed\n{again.tail()}"
    b = assert_exactly_once(
        env, bootstrap, topic, whole_catalog=whole, logs=crashed.tail() + again.tail()
    )
    assert len(b.positions) == 3000
    assert b.rejected == 150, b.rejected_by_reason


def test_random_sigkills_while_producing_100k(bootstrap, local_env, tmp_path):
    total = 100_000
    topic = _topic(bootstrap, "kills")
    env = stream_env(
        local_env,
        bootstrap,
        topic,
        unique("g"),
        batch_records=5000,
        batch_seconds=1,
        instance_id="kill-loop",  # a restart gets the partitions back at once
    )
    logs = tmp_path / "logs"
    rng = random.Random(20240611)
    result = {}
    producer = threading.Thread(
        target=lambda: result.update(rep=produce_planned(bootstrap, topic, total, rate=4000)),
        name="producer",
    )
    started = time.monotonic()
    producer.start()
    kills, lives, committed_lives = 0, [], 0
    try:
        while kills < 15 or producer.is_alive():
            life = StreamProc(env, logs, f"life-{kills:02d}")
            # Counted from the assignment: starting the interpreter alone takes seconds here,
            # and a kill before the first batch would test nothing.
            life.wait_assigned()
            delay = rng.uniform(0.5, 4.0)
            time.sleep(delay)  # the random moment of the kill, not a synchronisation
            assert life.alive(), (
                f"consumer exited by itself ({life.proc.returncode})\n{life.tail()}"
            )
            life.kill()
            kills += 1
            lives.append(round(delay, 2))
            committed_lives += life.batches() > 0
            assert kills < 200, "producer never finished"
    finally:
        producer.join(120)
    killed_at = time.monotonic() - started
    rep = result["rep"]
    assert rep.failed == 0, rep
    assert rep.produced == total, rep
    before_final = len(read_bronze(env, topic).positions)

    final = run_stream(env, logs, "final", "--idle-exit", IDLE, "--json", timeout=240)
    assert final.proc.returncode == 0, final.tail()
    b = assert_exactly_once(env, bootstrap, topic, logs=final.tail())
    assert len(b.positions) == total
    if rep.planned:
        assert dict(b.rejected_by_reason) == rep.by_reason, (b.rejected_by_reason, rep.by_reason)
        assert b.rejected == sum(rep.by_reason.values()) > 0
    print(
        f"\nrandom kills: {total} records, {kills} SIGKILLs ({committed_lives} lives committed "
        f"a batch), kill phase {killed_at:.1f}s, {before_final} rows in bronze before the final "
        f"run, final run {time.monotonic() - started - killed_at:.1f}s, "
        f"final totals {final.totals()}, delays {lives}"
    )


def test_rebalance_twice_while_producing(bootstrap, local_env, tmp_path):
    topic = _topic(bootstrap, "rebalance")
    env = stream_env(local_env, bootstrap, topic, unique("g"), batch_records=2000, batch_seconds=1)
    logs = tmp_path / "logs"
    stop = threading.Event()
    result = {}
    producer = threading.Thread(
        target=lambda: result.update(
            rep=produce_planned(bootstrap, topic, 1_000_000, rate=2000, stop=stop)
        ),
        name="producer",
    )
    a = StreamProc(env, logs, "a", "--json")
    b = None
    try:
        a.wait_assigned()
        producer.start()
        a.wait_for(lambda: a.batches() >= 1, 60, "first batch")
        # B joins: A's partitions are revoked (A seals what it holds) and split between them.
        b = StreamProc(env, logs, "b", "--idle-exit", "8", "--json")
        b.wait_for(lambda: b.batches() >= 1, 90, "a batch of its own")
        a_before = a.batches()
        a.wait_for(lambda: a.batches() > a_before, 60, "a batch after B joined")
        # A leaves (SIGTERM): second rebalance, B takes everything over.
        a.signal(signal.SIGTERM)
        assert a.wait(60) == 0, a.tail()
        assert producer.is_alive(), "the producer must still be running when A leaves"
        b_after = b.batches()
        b.wait_for(lambda: b.batches() >= b_after + 3, 60, "batches after A left")
        stop.set()
        producer.join(60)
        assert b.wait(120) == 0, b.tail()
    finally:
        stop.set()
        for p in (a, b):
            if p is not None and p.alive():
                p.kill()
    rep = result["rep"]
    assert rep.failed == 0, rep
    assert rep.produced > 0, rep
    ta, tb = a.totals(), b.totals()
    assert ta["batches"] > 0, ta
    assert ta["records"] > 0, ta
    assert tb["batches"] > 0, tb
    assert tb["records"] > 0, tb
    got = assert_exactly_once(env, bootstrap, topic, logs=a.tail() + b.tail())
    assert len(got.positions) == rep.produced
    # Everything either consumer read landed; what both read (a revoked batch) landed once.
    assert ta["records"] + tb["records"] - ta["skipped"] - tb["skipped"] == rep.produced
    print(f"\nrebalance: {rep.produced} records, A {ta}, B {tb}")


def test_broker_restart_under_a_running_consumer(stack, bootstrap, local_env, tmp_path):
    topic = _topic(bootstrap, "broker")
    env = stream_env(local_env, bootstrap, topic, unique("g"), batch_records=2000, batch_seconds=1)
    logs = tmp_path / "logs"
    c = StreamProc(env, logs, "consumer", "--json")
    try:
        c.wait_assigned()
        _produce(bootstrap, topic, 3000, seed=21)
        wait_bronze_holds(env, topic, 3000, 90, procs=[c])
        stack.kafka.stop()
        time.sleep(5)  # the outage itself
        assert c.alive(), f"the consumer died while the broker was down\n{c.tail()}"
        stack.kafka.start()
        marks = watermarks(bootstrap, topic)
        assert sum(h for _, h in marks.values()) == 3000, f"data survived the restart: {marks}"
        _produce(bootstrap, topic, 3000, seed=22)
        wait_bronze_holds(env, topic, 6000, 180, procs=[c])
        c.signal(signal.SIGTERM)
        assert c.wait(60) == 0, c.tail()
    finally:
        if c.alive():
            c.kill()
    totals = c.totals()
    assert totals["records"] - totals["skipped"] == 6000, totals
    got = assert_exactly_once(env, bootstrap, topic, logs=c.tail())
    assert len(got.positions) == 6000


def _good(n: int, seed: int) -> list[tuple[bytes, bytes]]:
    from pantrypulse.simulator.kafka_producer import ProducerConfig, plan_records

    plan = plan_records(ProducerConfig(malformed_share=0, duplicate_share=0, seed=seed), n)
    return [(r.key, r.value) for r in plan]


def test_malformed_records_are_quarantined_and_the_stream_goes_on(bootstrap, local_env, tmp_path):
    topic = _topic(bootstrap, "malformed")
    env = stream_env(local_env, bootstrap, topic, unique("g"), batch_records=1000, batch_seconds=1)
    good = iter(_good(40, seed=5))
    key, value = next(good)
    invoice = json.loads(value)
    bad = {
        "invalid_json": (key, value[: len(value) // 2]),
        "wrong_type": (key, json.dumps({**invoice, "total": "12.50"}).encode()),
        "oversized": (key, json.dumps({**invoice, "notes": "x" * (1024 * 1024 + 100)}).encode()),
        "invalid_encoding": (key, value.replace(b'"currency":"EUR"', b'"currency":"\xff\xfeR"')),
        "tombstone": (key, None),
        "key_mismatch": (b"not-" + key, value),
    }
    expected_reason = {k: k for k in bad} | {"tombstone": "invalid_json"}
    assert b"\xff" in bad["invalid_encoding"][1]
    # All on partition 0, in this order: good records before, between and after the bad ones.
    records, where = [], {}
    for name, rec in bad.items():
        records += [next(good), next(good)]
        where[len(records)] = name
        records.append(rec)
    records += [next(good) for _ in range(3)]
    tail = [next(good) for _ in range(10)]

    logs = tmp_path / "logs"
    c = StreamProc(env, logs, "consumer", "--idle-exit", "10", "--json")
    try:
        c.wait_assigned()
        assert produce_records(bootstrap, topic, records, partition=0) == (len(records), 0)
        wait_bronze_holds(env, topic, len(records), 60, procs=[c])
        assert c.alive(), f"the stream stopped after the bad records\n{c.tail()}"
        assert produce_records(bootstrap, topic, tail, partition=0) == (len(tail), 0)
        assert c.wait(120) == 0, c.tail()
    finally:
        if c.alive():
            c.kill()
    b = assert_exactly_once(env, bootstrap, topic, logs=c.tail())
    low, _high = watermarks(bootstrap, topic)[0]
    rejected = {o - low: reason for (p, o), reason in b.rejected_at.items() if p == 0}
    assert rejected == {i: expected_reason[name] for i, name in where.items()}, c.tail()
    assert b.accepted == len(records) + len(tail) - len(bad)
    want = {"invalid_json": 2, "wrong_type": 1, "oversized": 1, "invalid_encoding": 1}
    assert c.totals()["rejected_by_reason"] == {**want, "key_mismatch": 1}, c.totals()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _samples(text: str, name: str) -> dict[str, float]:
    """{label text: value} of every sample of `name` in a Prometheus text exposition."""
    out = {}
    for m in re.finditer(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def test_metrics_and_probes(bootstrap, local_env, tmp_path):
    topic = _topic(bootstrap, "metrics")
    port = _free_port()
    env = stream_env(
        local_env,
        bootstrap,
        topic,
        unique("g"),
        batch_records=1000,
        batch_seconds=1,
        http_port=port,
    )
    c = StreamProc(env, tmp_path / "logs", "consumer", "--json")
    try:
        c.wait_for(lambda: http_get(port, "/healthz")[0] == 200, 60, "/healthz 200")
        c.wait_for(lambda: http_get(port, "/readyz")[0] == 200, 60, "/readyz 200")
        rep = _produce(bootstrap, topic, 4000, malformed_share=0.05, seed=31)
        assert rep.by_reason, "the producer planned no malformed records"

        def metric(name):
            return _samples(http_get(port, "/metrics")[1], name)

        delivered = 'pantrypulse_delivered_rows_total{source="kafka"}'
        c.wait_for(
            lambda: metric("pantrypulse_delivered_rows_total").get('{source="kafka"}') == 4000,
            90,
            f"{delivered} == 4000",
        )
        lag = "pantrypulse_stream_consumer_lag_records"
        # The lag gauge is refreshed every few seconds: wait until it shows all 3 partitions
        # caught up.
        c.wait_for(
            lambda: len(metric(lag)) == 3 and sum(metric(lag).values()) == 0,
            60,
            f"{lag} at 0 for 3 partitions",
        )
        text = http_get(port, "/metrics")[1]
        assert http_get(port, "/readyz")[0] == 200
        assert http_get(port, "/nope")[0] == 404
    finally:
        c.signal(signal.SIGTERM)
    assert c.wait(60) == 0, c.tail()

    batches = _samples(text, "pantrypulse_stream_batch_records_count")[""]
    batch_sum = _samples(text, "pantrypulse_stream_batch_records_sum")[""]
    assert batches >= 4, text
    assert batch_sum == 4000, text
    assert set(_samples(text, lag)) == {f'{{partition="{p}",topic="{topic}"}}' for p in range(3)}, (
        text
    )
    rejected = {
        re.search(r'reason="([^"]+)"', k).group(1): v
        for k, v in _samples(text, "pantrypulse_rejected_rows_total").items()
    }
    assert rejected == {k: float(v) for k, v in rep.by_reason.items()}, (rejected, rep.by_reason)
    assert _samples(text, "pantrypulse_stream_assigned_partitions")[""] == 3
    totals = c.totals()
    assert totals["records"] == 4000, totals
    assert totals["rejected_by_reason"] == rep.by_reason, totals
    assert_exactly_once(env, bootstrap, topic, logs=c.tail())
