"""`make bench-stream`: Kafka to bronze throughput and produce-to-queryable delay.

Measured on the broker of this machine (the integration tier's local Kafka, started here if it
is not up, left running either way), with a plain consume-and-discard loop as the yardstick:

- yardstick: confluent-kafka reads a pre-produced topic and throws the records away (and once
  more validating each record, to split the consumer's time into Kafka, validation and the
  rest);
- max throughput: the stream consumer drains the same pre-produced topic into a fresh
  embedded catalog, at each batch setting;
- sustained: a producer paces invoices at a fixed rate for a fixed time while the consumer
  runs; committed invoices/s, the delay from each record's Kafka timestamp to the commit that
  makes it queryable in bronze (p50/p95/p99), data files per table (and per day, at that
  pace), then the maintenance compaction and the files left after it.

The producer runs in its own process: in production it is another program, and sharing this
one's GIL would slow the consumer for no reason but the benchmark's. The consumer runs here,
so its batch reports and a profile can be taken directly. Results go to a JSON file and a
Markdown summary, never into test assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

from pantrypulse.bench import machine

REPO = Path(__file__).resolve().parents[3]
PARTITIONS = 3
# A sustained run kept up when the backlog at the producer's end is at most this many batch
# periods (one filling, one committing) plus this slack, at the target rate: a consumer
# that falls behind instead builds a backlog that grows with the run's length.
KEEP_UP_BATCHES = 2
KEEP_UP_SLACK_S = 2.0
# Give up draining a sustained run's backlog after this long (it then did not keep up).
MAX_DRAIN_S = 90.0
TABLES = ("bronze.invoices_raw", "bronze.invoices_rejected", "bronze.load_log")


# --- Kafka ----------------------------------------------------------------------------------


def kafka_broker(bootstrap: str | None) -> dict:
    """The broker to use: `bootstrap` as given, else the integration tier's (started if down)."""
    if bootstrap:
        return {"bootstrap": bootstrap, "started_here": False, "version": None, "pid": None}
    # The integration tier's services package starts Kafka exactly as its tests do.
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from services import Stack

    stack = Stack(say=lambda *a: print(*a, flush=True))
    up = stack.status()["kafka"]
    if not up:
        print("starting Kafka (integration tier, left running afterwards)", flush=True)
        stack.up(names=("kafka",))
    return {
        "bootstrap": stack.cfg.kafka_bootstrap,
        "started_here": not up,
        "version": stack.cfg.kafka_version,
        "pid": stack.kafka.proc.pid,
    }


def broker_cpu_s(pid: int | None) -> float | None:
    """CPU seconds the broker process has used so far (None when it is not ours to see)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # restarted meanwhile (another test on the shared broker)
    # utime and stime are fields 14 and 15 of stat, counted from 1 before the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def create_topic(bootstrap: str, topic: str) -> None:
    """A fresh topic with `PARTITIONS` partitions (auto-creation is off on the local broker)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)
    admin.create_topics([new])[topic].result(30)


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Best effort: the broker may be shared, so leave none of the bench's topics behind."""
    if not topics:
        return
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(Exception):
            future.result(30)


def _produce_worker(config, kafka_config: dict, out) -> None:
    """Child process: run the simulator's producer and hand its report back."""
    from pantrypulse.simulator.kafka_producer import produce

    out.put(produce(config, kafka_config))


def produce_in_child(config, bootstrap: str):
    """Start the producer in its own process; return it and the queue its report comes on."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(
        target=_produce_worker, args=(config, {"bootstrap.servers": bootstrap}, out), daemon=True
    )
    proc.start()
    return proc, out


def pre_produce(bootstrap: str, topic: str, count: int) -> dict:
    """Fill `topic` with `count` records as fast as the producer goes (rate 0)."""
    from pantrypulse.simulator.kafka_producer import ProducerConfig

    proc, out = produce_in_child(ProducerConfig(topic=topic, rate=0, count=count), bootstrap)
    report = out.get(timeout=600)
    proc.join()
    elapsed = report.finished_at - report.started_at
    return {
        "records": report.produced,
        "failed": report.failed,
        "mib": round(report.bytes_sent / 2**20, 1),
        "seconds": round(elapsed, 2),
        "records_per_s": round(report.produced / elapsed) if elapsed else None,
    }


# --- scenarios ------------------------------------------------------------------------------


def _settings(home: Path, bootstrap: str, topic: str, group: str, batch: tuple[float, int]):
    from pantrypulse.settings import load_settings

    seconds, records = batch
    return load_settings(
        {
            **os.environ,
            "PANTRYPULSE_HOME": str(home),
            "PANTRYPULSE_STREAM__BOOTSTRAP_SERVERS": bootstrap,
            "PANTRYPULSE_STREAM__TOPIC": topic,
            "PANTRYPULSE_STREAM__GROUP_ID": group,
            "PANTRYPULSE_STREAM__BATCH_MAX_SECONDS": str(seconds),
            "PANTRYPULSE_STREAM__BATCH_MAX_RECORDS": str(records),
        }
    )


def yardstick(bootstrap: str, topic: str, count: int, validate: bool) -> dict:
    """Consume `count` records with the consumer's own Kafka settings, and discard them."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from pantrypulse.contract import validate_record
    from pantrypulse.stream.consumer import consumer_config

    with tempfile.TemporaryDirectory() as tmp:
        cfg = _settings(Path(tmp), bootstrap, topic, f"{topic}.yardstick{int(validate)}", (1, 1))
    consumer = Consumer(consumer_config(cfg.stream))
    # Assigned, not subscribed: no group join, so the clock starts with the first fetch and
    # not after prefetching during a join (which would flatter the yardstick).
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    seen = size = 0
    started = time.perf_counter()
    cpu = time.process_time()
    deadline = time.monotonic() + 120
    try:
        while seen < count and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=1.0):
                if msg.error() is not None:
                    continue
                value = msg.value() or b""
                seen += 1
                size += len(value)
                if validate:
                    validate_record(value)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        consumer.close()
    return {
        "scenario": "yardstick+validate" if validate else "yardstick",
        "records": seen,
        "seconds": round(elapsed, 2),
        "records_per_s": round(seen / elapsed) if elapsed else None,
        "mib_per_s": round(size / 2**20 / elapsed, 1) if elapsed else None,
        "cpu_s": round(cpu, 2),
    }


class Run:
    """One stream consumer on a fresh catalog, with what its batches reported."""

    def __init__(self, bootstrap: str, topic: str, batch: tuple[float, int], home: Path):
        from prometheus_client import CollectorRegistry

        from pantrypulse.catalog import open_catalog
        from pantrypulse.stream import StreamConsumer
        from pantrypulse.stream.metrics import StreamMetrics

        self.batch = batch
        self.settings = _settings(home, bootstrap, topic, f"{topic}.{home.name}", batch)
        self.catalog = open_catalog(self.settings)
        # A registry per run: the default one would refuse the second consumer's metrics.
        self.registry = CollectorRegistry()
        self.consumer = StreamConsumer(
            self.settings, self.catalog, StreamMetrics(self.registry), on_batch=self._on_batch
        )
        self.stop = threading.Event()
        self.reports: list = []
        self.commit_s: list[float] = []  # per batch: the three tables' commits
        self.committed = 0
        self.target: int | None = None  # stop once this many records are committed
        self._commit_sum = 0.0

    def _on_batch(self, report) -> None:
        self.reports.append(report)
        self.committed += report.records
        # The commit time of this batch, from the consumer's own histogram (sum over tables).
        total = sum(
            self.registry.get_sample_value(
                "pantrypulse_stream_commit_duration_seconds_sum", {"table": t.split(".")[1]}
            )
            or 0.0
            for t in TABLES
        )
        self.commit_s.append(total - self._commit_sum)
        self._commit_sum = total
        if self.target is not None and self.committed >= self.target:
            self.stop.set()

    def start(self) -> threading.Thread:
        """Run the consumer in a thread; return once it owns the topic's partitions."""
        thread = threading.Thread(target=self.consumer.run, args=(self.stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while len(self.consumer.sealed) < PARTITIONS and time.monotonic() < deadline:
            time.sleep(0.05)
        return thread

    def delays(self) -> list[float]:
        """Every record's delay from its Kafka timestamp to its commit, sorted."""
        return sorted(d for r in self.reports for d in r.delays_s)

    def files(self) -> dict[str, int]:
        """Data files in each bronze table's current snapshot."""
        out = {}
        for name in TABLES:
            table = self.catalog.load_table(name)
            out[name] = table.inspect.files().num_rows if table.current_snapshot() else 0
        return out

    def metadata_kib(self) -> float:
        """Size of invoices_raw's current metadata file: every commit rewrites it whole."""
        table = self.catalog.load_table(TABLES[0])
        path = table.metadata_location.removeprefix("file://")
        return round(os.path.getsize(path) / 1024, 1)


def _pct(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return round(sorted_values[i], 2)


def _span(reports: list) -> float:
    """Seconds from the first batch's first record to the last commit."""
    first = reports[0].committed_at - reports[0].seconds
    return reports[-1].committed_at - first


def max_throughput(bootstrap: str, topic: str, count: int, batch, profile: bool) -> dict:
    """Drain `count` pre-produced records into a fresh catalog; invoices/s from first to last."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(bootstrap, topic, batch, Path(tmp) / "home")
        run.target = count
        profiler = cProfile.Profile() if profile else None
        cpu = time.process_time()
        if profiler is not None:
            # In this thread: cProfile sees only the thread it was enabled in.
            profiler.enable()
            run.consumer.run(run.stop)
            profiler.disable()
        else:
            run.start().join(timeout=600)
        cpu = time.process_time() - cpu
        span = _span(run.reports)
        out = {
            "scenario": "max-throughput" + (" (profiled)" if profile else ""),
            "batch_max_seconds": batch[0],
            "batch_max_records": batch[1],
            "records": run.committed,
            "accepted": sum(r.accepted for r in run.reports),
            "batches": len(run.reports),
            "seconds": round(span, 2),
            "records_per_s": round(run.committed / span) if span else None,
            "commit_s_mean": round(sum(run.commit_s) / len(run.commit_s), 3),
            "cpu_s": round(cpu, 2),
            "load_average_1m_end": round(os.getloadavg()[0], 2),
            "files": run.files(),
        }
        if profiler is not None:
            out["profile_top"] = top_functions(profiler, 15)
    return out


def top_functions(profiler: cProfile.Profile, n: int) -> list[dict]:
    """The `n` functions with the most cumulative time."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        short = "/".join(Path(file).parts[-2:]) if file != "~" else ""
        rows.append(
            {
                "function": f"{short}:{line}({name})" if short else name,
                "calls": calls,
                "tottime_s": round(tottime, 2),
                "cumtime_s": round(cumtime, 2),
            }
        )
    # Drop the run loop and thread plumbing at the top: they are 100% by construction.
    rows.sort(key=lambda r: r["cumtime_s"], reverse=True)
    return rows[:n]


def sustained(
    bootstrap: str, topic: str, rate: float, duration_s: float, batch, broker_pid: int | None
) -> dict:
    """Producer at `rate` for `duration_s` beside the consumer; delay, throughput, files."""
    from pantrypulse.maintenance import maintain
    from pantrypulse.simulator.kafka_producer import ProducerConfig

    create_topic(bootstrap, topic)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(bootstrap, topic, batch, Path(tmp) / "home")
        cpu = time.process_time()
        child_cpu = _children_cpu_s()
        broker_cpu = broker_cpu_s(broker_pid)
        wall = time.perf_counter()
        thread = run.start()
        proc, out = produce_in_child(
            ProducerConfig(topic=topic, rate=rate, duration_s=duration_s), bootstrap
        )
        produced = out.get(timeout=duration_s + 300)
        proc.join()
        ended = time.time()
        committed_while_producing = run.committed
        backlog = produced.produced - committed_while_producing
        # Drain: stop once everything produced is committed (or give up after MAX_DRAIN_S).
        run.target = produced.produced
        if run.committed >= produced.produced:
            run.stop.set()
        thread.join(timeout=MAX_DRAIN_S)
        run.stop.set()
        thread.join(timeout=60)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        broker_after = broker_cpu_s(broker_pid)
        drain_s = max(0.0, run.reports[-1].committed_at - ended) if run.reports else None
        delays = run.delays()
        window = run.reports[-1].committed_at - produced.started_at if run.reports else 0
        files = run.files()
        n = len(run.commit_s)
        tail = max(1, n // 5)
        result = {
            "scenario": "sustained",
            "rate_target": rate,
            "duration_s": duration_s,
            "batch_max_seconds": batch[0],
            "batch_max_records": batch[1],
            "produced": produced.produced,
            "produced_per_s": round(produced.rate()),
            "producer_failed": produced.failed,
            "committed": run.committed,
            "committed_per_s": round(run.committed / window) if window else None,
            "backlog_at_producer_end": backlog,
            "drain_s": round(drain_s, 1) if drain_s is not None else None,
            "committed_per_s_while_producing": round(
                committed_while_producing / (ended - produced.started_at)
            ),
            "kept_up": run.committed >= produced.produced
            and backlog <= rate * (KEEP_UP_BATCHES * batch[0] + KEEP_UP_SLACK_S),
            "batches": len(run.reports),
            "records_per_batch": round(run.committed / len(run.reports)) if run.reports else 0,
            "delay_p50_s": _pct(delays, 0.50),
            "delay_p95_s": _pct(delays, 0.95),
            "delay_p99_s": _pct(delays, 0.99),
            "delay_max_s": _pct(delays, 1.0),
            # Commit time per batch early and late in the run: growth means per-commit
            # metadata work that grows with the table's history.
            "commit_s_first": round(sum(run.commit_s[:tail]) / tail, 3) if n else None,
            "commit_s_last": round(sum(run.commit_s[-tail:]) / tail, 3) if n else None,
            # Where the machine's CPU went over the run: the consumer (this process), the
            # producer (its child process) and the broker; the rest is other load.
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 2),
            "producer_cpu_s": round(_children_cpu_s() - child_cpu, 2),
            "broker_cpu_s": round(broker_after - broker_cpu, 2)
            if broker_cpu is not None and broker_after is not None
            else None,
            "load_average_1m_end": round(os.getloadavg()[0], 2),
            "files": files,
            "files_per_day": {
                k: round(v * 86_400 / window) if window else None for k, v in files.items()
            },
            "metadata_kib": run.metadata_kib(),
        }
        t = time.perf_counter()
        # What the maintenance DAG does once a day (retention at its minimum: nothing here is
        # old, so only compaction changes anything).
        report = maintain(run.catalog, list(TABLES), timedelta(hours=1))
        result["maintain_s"] = round(time.perf_counter() - t, 2)
        result["files_after_maintain"] = run.files()
        result["compacted_files"] = report["totals"]["files_rewritten"]
    return result


# --- main -----------------------------------------------------------------------------------


def _batches(text: str) -> list[tuple[float, int]]:
    out = []
    for item in text.split(","):
        seconds, records = item.split(":")
        out.append((float(seconds), int(records)))
    return out


def main() -> None:
    """Run the stream benchmark scenarios and write the results files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tests/bench/results"))
    parser.add_argument("--bootstrap", help="use this broker (default: the integration tier's)")
    parser.add_argument("--records", type=int, default=100_000, help="pre-produced records")
    parser.add_argument("--rate", type=float, default=5_000, help="sustained invoices/s")
    parser.add_argument("--fallback-rate", type=float, default=2_000)
    parser.add_argument("--duration", type=float, default=60, help="sustained seconds")
    parser.add_argument(
        "--batches",
        type=_batches,
        default=_batches("1:5000,2:20000,5:50000"),
        help="batch settings as max_seconds:max_records,...",
    )
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    import logging

    # The consumer logs a line per batch: keep the output to the bench's own lines.
    logging.basicConfig(level=logging.WARNING)
    started = datetime.now(UTC)
    broker = kafka_broker(args.bootstrap)
    bootstrap = broker["bootstrap"]
    info = machine()
    for name in ("confluent-kafka", "prometheus-client"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["packages"][name] = metadata.version(name)
    from confluent_kafka import libversion

    info["librdkafka"] = libversion()[0]
    info["kafka"] = broker
    results: dict = {"started_at": started.isoformat(), "machine": info, "scenarios": []}
    stem = f"{started:%Y%m%dT%H%M%SZ}"
    topics: list[str] = []

    def record(result: dict) -> None:
        results["scenarios"].append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "profile_top"}), flush=True)

    try:
        topic = f"bench.stream.{stem}.pre"
        topics.append(topic)
        create_topic(bootstrap, topic)
        print(f"pre-producing {args.records} records to {topic}", flush=True)
        results["pre_produce"] = pre_produce(bootstrap, topic, args.records)
        print(json.dumps(results["pre_produce"]), flush=True)
        for validate in (False, True):
            record(yardstick(bootstrap, topic, args.records, validate))
        for batch in args.batches:
            record(max_throughput(bootstrap, topic, args.records, batch, profile=False))
        if not args.no_profile:
            record(max_throughput(bootstrap, topic, args.records, (2.0, 20_000), profile=True))
        for i, batch in enumerate(args.batches):
            topic = f"bench.stream.{stem}.s{i}"
            topics.append(topic)
            print(f"sustained {args.rate:.0f}/s for {args.duration:.0f}s at {batch}", flush=True)
            result = sustained(bootstrap, topic, args.rate, args.duration, batch, broker["pid"])
            record(result)
        # Where the target rate is out of reach, what does the default setting sustain?
        if args.fallback_rate and not any(
            s.get("kept_up") for s in results["scenarios"] if s["scenario"] == "sustained"
        ):
            topic = f"bench.stream.{stem}.fallback"
            topics.append(topic)
            print(f"sustained {args.fallback_rate:.0f}/s (fallback)", flush=True)
            record(
                sustained(
                    bootstrap,
                    topic,
                    args.fallback_rate,
                    args.duration,
                    (2.0, 20_000),
                    broker["pid"],
                )
            )
    finally:
        delete_topics(bootstrap, topics)
    results["finished_at"] = datetime.now(UTC).isoformat()
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}-stream.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "stream-latest.md").write_text(to_markdown(results))
    print(f"results: {args.out / (stem + '-stream.json')} and {args.out / 'stream-latest.md'}")


def to_markdown(results: dict) -> str:
    """Readable tables of one stream benchmark run."""
    m = results["machine"]
    k = m["kafka"]
    pre = results.get("pre_produce", {})
    lines = [
        "# Stream benchmark results (latest run)",
        "",
        f"Run {results['started_at']} on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB),"
        f" {m['os']}, Python {m['python']}, packages {m['packages']}, librdkafka"
        f" {m.get('librdkafka')}, Kafka {k.get('version')} at {k['bootstrap']} (on this"
        f" machine{', started by the bench' if k.get('started_here') else ''}), load average"
        f" at start {m.get('load_average_1m')}. Topics have {PARTITIONS} partitions; records"
        " carry 2% duplicates and 1% malformed (the producer's defaults).",
        "",
        f"Pre-produced {pre.get('records')} records ({pre.get('mib')} MiB) at"
        f" {pre.get('records_per_s')}/s.",
        "",
        "## Throughput (pre-produced topic, drained)",
        "",
        "| scenario | batch s / records | records | batches | records/s | MiB/s |"
        " commit s/batch | CPU s | load at end |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        if s["scenario"] == "sustained":
            continue
        batch = (
            f"{s['batch_max_seconds']:g} / {s['batch_max_records']}"
            if "batch_max_seconds" in s
            else "-"
        )
        lines.append(
            f"| {s['scenario']} | {batch} | {s['records']} | {s.get('batches', '-')} |"
            f" {s['records_per_s']} | {s.get('mib_per_s', '-')} | {s.get('commit_s_mean', '-')} |"
            f" {s['cpu_s']} | {s.get('load_average_1m_end', '-')} |"
        )
    lines += [
        "",
        "## Sustained (producer paced, consumer beside it)",
        "",
        "| rate/s | batch s / records | produced/s | committed/s while producing | kept up |"
        " backlog at end |"
        " drain s | batches | delay p50 / p95 / p99 s | commit s first / last |"
        " raw+rejected+log files (per day) | files after maintain | metadata KiB |"
        " CPU s consumer / producer / broker (wall s) | load at end |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        if s["scenario"] != "sustained":
            continue
        files = "+".join(str(v) for v in s["files"].values())
        per_day = "+".join(str(v) for v in s["files_per_day"].values())
        after = "+".join(str(v) for v in s["files_after_maintain"].values())
        lines.append(
            f"| {s['rate_target']:g} | {s['batch_max_seconds']:g} / {s['batch_max_records']} |"
            f" {s['produced_per_s']} | {s['committed_per_s_while_producing']} |"
            f" {'yes' if s['kept_up'] else 'no'} | {s['backlog_at_producer_end']} |"
            f" {s['drain_s']} | {s['batches']} |"
            f" {s['delay_p50_s']} / {s['delay_p95_s']} / {s['delay_p99_s']} |"
            f" {s['commit_s_first']} / {s['commit_s_last']} | {files} ({per_day}) | {after} |"
            f" {s['metadata_kib']} | {s['cpu_s']} / {s['producer_cpu_s']} /"
            f" {s['broker_cpu_s']} ({s['wall_s']}) | {s['load_average_1m_end']} |"
        )
    profiled = [s for s in results["scenarios"] if "profile_top" in s]
    if profiled:
        lines += [
            "",
            "## Where the consumer's time goes (cProfile, max throughput, 2 s / 20000)",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---|---|---|",
        ]
        for row in profiled[0]["profile_top"]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['tottime_s']} |"
                f" {row['cumtime_s']} |"
            )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
