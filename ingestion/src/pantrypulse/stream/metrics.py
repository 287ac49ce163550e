"""Prometheus metrics of the stream consumer and its one HTTP port (/metrics, /healthz, /readyz).

Names and labels are the platform's contract with the alert rules and Grafana dashboards in
apps/observability (see its README); change them there first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300)
_RECORDS = (1, 10, 100, 500, 1000, 2500, 5000, 10_000, 20_000, 50_000, 100_000)
_BYTES = tuple(2**n for n in range(10, 28, 2))


class StreamMetrics:
    """Every metric the consumer exports, registered on one registry."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        r = registry
        self.registry = registry
        self.lag = Gauge(
            "pantrypulse_stream_consumer_lag_records",
            "Records in the topic not yet committed to bronze (high watermark - next offset).",
            ["topic", "partition"],
            registry=r,
        )
        self.assigned = Gauge(
            "pantrypulse_stream_assigned_partitions",
            "Partitions this consumer owns.",
            registry=r,
        )
        self.batch_records = Histogram(
            "pantrypulse_stream_batch_records",
            "Records per committed micro-batch.",
            buckets=_RECORDS,
            registry=r,
        )
        self.batch_bytes = Histogram(
            "pantrypulse_stream_batch_bytes",
            "Key + value bytes per committed micro-batch.",
            buckets=_BYTES,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "pantrypulse_stream_batch_duration_seconds",
            "From a batch's first record to its last commit.",
            buckets=_SECONDS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "pantrypulse_stream_commit_duration_seconds",
            "One table's Iceberg commit, retries included.",
            ["table"],
            buckets=_SECONDS,
            registry=r,
        )
        self.delay = Histogram(
            "pantrypulse_stream_delay_seconds",
            "From a record's Kafka timestamp to its commit in bronze (queryable).",
            buckets=_SECONDS,
            registry=r,
        )
        self.last_commit = Gauge(
            "pantrypulse_stream_last_commit_timestamp_seconds",
            "Unix time of the last committed micro-batch.",
            registry=r,
        )
        self.commit_retries = Counter(
            "pantrypulse_stream_commit_retries",
            "Iceberg commit attempts that failed and were retried.",
            ["table"],
            registry=r,
        )
        self.kafka_commit_failures = Counter(
            "pantrypulse_stream_kafka_commit_failures",
            "Kafka group-offset commits that failed (lag reporting only; bronze is the truth).",
            registry=r,
        )
        self.duplicates_skipped = Counter(
            "pantrypulse_stream_duplicates_skipped",
            "Records a replay found already in bronze and did not write again.",
            registry=r,
        )
        # Shared pipeline metrics (apps/observability/README.md).
        self.delivered = Counter(
            "pantrypulse_delivered_rows",
            "Records delivered by a source.",
            ["source"],
            registry=r,
        )
        self.rejected = Counter(
            "pantrypulse_rejected_rows",
            "Records quarantined, by reason code.",
            ["reason"],
            registry=r,
        )
        self.rows_written = Counter(
            "pantrypulse_rows_written",
            "Rows committed to a table.",
            ["layer", "table"],
            registry=r,
        )
        self.table_last_commit = Gauge(
            "pantrypulse_table_last_commit_timestamp_seconds",
            "Unix time of the table's last commit by this process.",
            ["layer", "table"],
            registry=r,
        )
        self.commit_failures = Counter(
            "pantrypulse_iceberg_commit_failures",
            "Commits that failed after every retry.",
            ["table"],
            registry=r,
        )


class HealthState:
    """What /healthz and /readyz answer from; the consumer loop updates it."""

    def __init__(self, max_commit_age_s: float, clock: Callable[[], float] = time.monotonic):
        self.max_commit_age_s = max_commit_age_s
        self.clock = clock
        self.joined = False  # the group gave us an assignment (possibly empty)
        self.waiting_since: float | None = None  # oldest uncommitted record seen, if any
        self.stopping = False

    def ready(self) -> tuple[bool, str]:
        """Ready: in the group, not shutting down, and no record waiting longer than allowed."""
        if self.stopping:
            return False, "shutting down"
        if not self.joined:
            return False, "not in the consumer group yet"
        if self.waiting_since is not None:
            age = self.clock() - self.waiting_since
            if age > self.max_commit_age_s:
                return False, f"records waiting {age:.0f}s without a commit"
        return True, "ok"


def serve(port: int, health: HealthState, registry: CollectorRegistry = REGISTRY):
    """Serve /metrics, /healthz and /readyz on `port` in a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/metrics"):
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._send(200, b"ok\n")
            elif self.path == "/readyz":
                ok, why = health.ready()
                self._send(200 if ok else 503, why.encode() + b"\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):  # probes every few seconds would flood the log
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - pod port
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
