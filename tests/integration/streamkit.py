"""Helpers of the streaming tests: topics, producing, `pantrypulse stream` processes, bronze.

Producing goes through `produce_records` / `produce_planned` only, so the choice between the
simulator's producer (`pantrypulse.simulator.kafka_producer`) and a plain confluent_kafka
producer lives in one place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

EXE = Path(sys.executable).parent / "pantrypulse"
PARTITIONS = 3
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: topics, groups."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(
        topic,
        num_partitions=partitions,
        replication_factor=1,
        config={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
    )
    admin.create_topics([new])[topic].result(30)


def watermarks(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> dict[int, tuple]:
    """(low, high) watermark per partition, straight from the broker.

    Retried for a while: right after a broker restart the partitions have no leader yet.
    """
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("watermarks")})
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                return {
                    p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    for p in range(partitions)
                }
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        c.close()


def expected_positions(marks: dict[int, tuple]) -> set[tuple[int, int]]:
    return {(p, o) for p, (low, high) in marks.items() for o in range(low, high)}


# --- producing ------------------------------------------------------------------------------


@dataclass
class Produced:
    produced: int = 0
    failed: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    planned: bool = False  # True when by_reason comes from the simulator producer's plan


def produce_planned(
    bootstrap: str,
    topic: str,
    count: int,
    *,
    rate: float = 0,
    seed: int = 42,
    malformed_share: float = 0.02,
    duplicate_share: float = 0.02,
    stop=None,
) -> Produced:
    """`count` simulated invoices (duplicates and defects mixed in) to `topic`."""
    try:
        from pantrypulse.simulator.kafka_producer import ProducerConfig, produce
    except ImportError:  # the simulator's producer not there: good invoices only
        return _produce_generated(bootstrap, topic, count, seed)
    config = ProducerConfig(
        topic=topic,
        rate=rate,
        count=count,
        duplicate_share=duplicate_share,
        malformed_share=malformed_share,
        seed=seed,
    )
    rep = produce(config, {"bootstrap.servers": bootstrap}, stop=stop)
    return Produced(rep.produced, rep.failed, dict(rep.by_reason), planned=True)


def _produce_generated(bootstrap: str, topic: str, count: int, seed: int) -> Produced:
    from pantrypulse.simulator.generate import SimulatorConfig, generate

    data = generate(SimulatorConfig(seed=seed, days=60, households=200))
    good = [d.payload for d in data.deliveries if isinstance(d.payload, dict)]
    records = []
    for i in range(count):
        payload = dict(good[i % len(good)])
        if i >= len(good):
            payload["invoice_id"] = f"{payload['invoice_id']}-c{i // len(good)}"
        records.append((payload["invoice_id"].encode(), json.dumps(payload).encode()))
    n, failed = produce_records(bootstrap, topic, records)
    return Produced(n, failed)


def produce_records(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None]],
    partition: int | None = None,
) -> tuple[int, int]:
    """Send (key, value) pairs in order (to one partition if given); (acknowledged, failed)."""
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": "true",
            "compression.type": "lz4",
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
            "linger.ms": "5",
        }
    )
    done = Counter()

    def on_delivery(err, _msg):
        done["failed" if err is not None else "ok"] += 1

    for key, value in records:
        kwargs = {} if partition is None else {"partition": partition}
        p.produce(topic, key=key, value=value, on_delivery=on_delivery, **kwargs)
        p.poll(0)
    left = p.flush(60)
    return done["ok"], done["failed"] + left


# --- the consumer process ----------------------------------------------------------------------


def stream_env(
    base: dict[str, str],
    bootstrap: str,
    topic: str,
    group: str,
    *,
    batch_records: int = 5000,
    batch_seconds: float = 1.0,
    http_port: int = 0,
    instance_id: str | None = None,
) -> dict[str, str]:
    env = {
        **base,
        "PANTRYPULSE_STREAM__BOOTSTRAP_SERVERS": bootstrap,
        "PANTRYPULSE_STREAM__TOPIC": topic,
        "PANTRYPULSE_STREAM__GROUP_ID": group,
        "PANTRYPULSE_STREAM__HTTP_PORT": str(http_port),
        "PANTRYPULSE_STREAM__BATCH_MAX_RECORDS": str(batch_records),
        "PANTRYPULSE_STREAM__BATCH_MAX_SECONDS": str(batch_seconds),
    }
    if instance_id:
        env["PANTRYPULSE_STREAM__GROUP_INSTANCE_ID"] = instance_id
    return env


class StreamProc:
    """One `pantrypulse stream` process; its output goes to files (a full pipe would block it)."""

    def __init__(self, env: dict[str, str], logdir: Path, name: str, *args: str, failpoint=None):
        logdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.out_path = logdir / f"{name}.out"
        self.err_path = logdir / f"{name}.err"
        full = {**os.environ, **env}
        full.pop("PP_FAILPOINT", None)
        if failpoint:
            full["PP_FAILPOINT"] = failpoint
        self.started = time.monotonic()
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(EXE), "stream", *args], env=full, stdout=out, stderr=err
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        text = self.stderr().splitlines()
        return f"--- {self.name} stderr (last {lines} lines) ---\n" + "\n".join(text[-lines:])

    def batches(self) -> int:
        """Batches this process committed (its log line per batch)."""
        return sum(1 for line in self.stderr().splitlines() if " batch " in line)

    def wait_for(self, what: Callable[[], bool], timeout: float, why: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited ({self.proc.returncode}) waiting for {why}\n{self.tail()}"
                )
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: no {why} within {timeout:.0f}s\n{self.tail()}")

    def wait_assigned(self, timeout: float = 60) -> None:
        self.wait_for(lambda: " assigned " in self.stderr(), timeout, "assignment")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running after {timeout:.0f}s\n{self.tail()}"
            ) from None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(30)

    def totals(self) -> dict:
        text = self.stdout().strip()
        assert text, f"{self.name} printed no totals\n{self.tail()}"
        return json.loads(text.splitlines()[-1])


def run_stream(env, logdir: Path, name: str, *args: str, failpoint=None, timeout=180):
    """Run `pantrypulse stream` to its end; the finished StreamProc."""
    p = StreamProc(env, logdir, name, *args, failpoint=failpoint)
    p.wait(timeout)
    return p


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:  # not listening (yet)
        return 0, ""


# --- what bronze holds -------------------------------------------------------------------------


@dataclass
class Bronze:
    positions: list[tuple[int, int]]  # (partition, offset) of every row, raw + rejected
    accepted: int
    rejected_by_reason: Counter
    rejected_at: dict[tuple[int, int], str]  # (partition, offset) -> reason_code
    seals: list[dict]  # this topic's load_log rows

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


def _catalog(env: dict[str, str]):
    from pantrypulse.catalog import open_catalog
    from pantrypulse.settings import load_settings

    return open_catalog(load_settings({**os.environ, **env}))


def read_bronze(env: dict[str, str], topic: str) -> Bronze:
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.expressions import EqualTo

    cat = _catalog(env)
    where = EqualTo("kafka_topic", topic)
    try:
        raw = (
            cat.load_table("bronze.invoices_raw")
            .scan(row_filter=where, selected_fields=("kafka_partition", "kafka_offset"))
            .to_arrow()
        )
        rej = (
            cat.load_table("bronze.invoices_rejected")
            .scan(
                row_filter=where,
                selected_fields=("kafka_partition", "kafka_offset", "reason_code"),
            )
            .to_arrow()
        )
        log = cat.load_table("bronze.load_log").scan().to_arrow().to_pylist()
    except NoSuchTableError:
        return Bronze([], 0, Counter(), {}, [])
    raw_pos = list(
        zip(raw["kafka_partition"].to_pylist(), raw["kafka_offset"].to_pylist(), strict=True)
    )
    rej_pos = list(
        zip(rej["kafka_partition"].to_pylist(), rej["kafka_offset"].to_pylist(), strict=True)
    )
    reasons = rej["reason_code"].to_pylist()
    prefix = f"kafka:{topic}:"
    return Bronze(
        positions=raw_pos + rej_pos,
        accepted=len(raw_pos),
        rejected_by_reason=Counter(reasons),
        rejected_at=dict(zip(rej_pos, reasons, strict=True)),
        seals=[r for r in log if r["source"] == "kafka" and r["slice_key"].startswith(prefix)],
    )


def status(env: dict[str, str]) -> dict:
    """`pantrypulse status --json` (exit 3 = not reconciled: still a JSON answer)."""
    proc = subprocess.run(
        [str(EXE), "status", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 3), f"status failed ({proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout)


def wait_bronze_holds(env, topic: str, total: int, timeout: float, procs=()) -> Bronze:
    """Poll bronze until `total` rows of `topic` are there (or fail with the consumers' logs)."""
    deadline = time.monotonic() + timeout
    b = read_bronze(env, topic)
    while len(b.positions) < total and time.monotonic() < deadline:
        for p in procs:
            assert p.alive(), f"{p.name} exited ({p.proc.returncode})\n{p.tail()}"
        time.sleep(0.5)
        b = read_bronze(env, topic)
    assert len(b.positions) >= total, (
        f"bronze holds {len(b.positions)} of {total} rows of {topic} after {timeout:.0f}s\n"
        + "\n".join(p.tail() for p in procs)
    )
    return b


def assert_exactly_once(
    env: dict[str, str],
    bootstrap: str,
    topic: str,
    *,
    whole_catalog: bool = True,
    logs: str = "",
) -> Bronze:
    """Every offset Kafka holds for `topic` is in bronze exactly once, sealed and reconciled.

    `whole_catalog`: also require `status` to say the whole catalog is reconciled (an
    embedded catalog of this test alone); on the shared services catalog only this topic's
    slices are judged.
    """
    marks = watermarks(bootstrap, topic)
    expected = expected_positions(marks)
    b = read_bronze(env, topic)
    ctx = f"\ntopic {topic}, watermarks {marks}\n{logs}"
    doubled = {pos: n for pos, n in Counter(b.positions).items() if n > 1}
    assert not doubled, (
        f"{len(doubled)} offsets in bronze more than once: {list(doubled)[:10]}{ctx}"
    )
    got = set(b.positions)
    missing, extra = expected - got, got - expected
    assert not missing, f"{len(missing)} offsets missing from bronze: {sorted(missing)[:10]}{ctx}"
    assert not extra, f"{len(extra)} rows at offsets Kafka does not have: {sorted(extra)[:10]}{ctx}"
    assert len(b.positions) == len(expected) == sum(h - lo for lo, h in marks.values())

    # The seals: per partition they count exactly the rows of that partition.
    by_slice: dict[str, list[int]] = {}
    for s in b.seals:
        assert s["delivered"] == s["accepted"] + s["rejected"], f"seal does not add up: {s}{ctx}"
        c = by_slice.setdefault(s["slice_key"], [0, 0, 0])
        c[0] += s["delivered"]
        c[1] += s["accepted"]
        c[2] += s["rejected"]
    rows_per_partition = Counter(p for p, _ in b.positions)
    for p, n in rows_per_partition.items():
        sealed = by_slice.get(f"kafka:{topic}:{p}", [0, 0, 0])[0]
        assert sealed == n, f"partition {p}: seals count {sealed} records, bronze holds {n}{ctx}"
    delivered = sum(c[0] for c in by_slice.values())
    assert delivered == len(expected), f"load_log delivered {delivered} != {len(expected)}{ctx}"
    assert sum(c[1] for c in by_slice.values()) == b.accepted, f"sealed accepted{ctx}"
    assert sum(c[2] for c in by_slice.values()) == b.rejected, f"sealed rejected{ctx}"

    st = status(env)
    mine = f"kafka:{topic}:"
    bad = [k for k in st["unsealed_slices"] + st["mismatched_slices"] if k.startswith(mine)]
    assert not bad, f"status: slices of {topic} not reconciled: {bad}\n{json.dumps(st)}{ctx}"
    if whole_catalog:
        assert st["reconciled"] is True, f"status not reconciled:\n{json.dumps(st)}{ctx}"
    return b
