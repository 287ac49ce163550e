"""Named crash points for the streaming consumer's crash tests (off unless asked for).

`PP_FAILPOINT=<name>[@<n>]` kills the process with SIGKILL the n-th time (default: first) it
reaches the named point, e.g. `after_data_files:raw@3`. SIGKILL, not an exception: the test is
that nothing in this process gets a chance to clean up, exactly like an OOM kill or a node loss.
The variable is deliberately outside the `PANTRYPULSE_*` settings namespace: it is a test
harness switch, never configuration.
"""

from __future__ import annotations

import os
import signal

ENV = "PP_FAILPOINT"

# Every point the consumer passes through, in order, for one micro-batch.
POINTS = (
    "before_write",  # batch validated, nothing written
    "after_data_files:invoices_rejected",  # Parquet + manifests written, not committed
    "after_commit:invoices_rejected",
    "after_data_files:invoices_raw",
    "after_commit:invoices_raw",
    "after_data_files:load_log",
    "before_kafka_commit",  # every Iceberg commit done, Kafka's group offsets not yet
)

_hits: dict[str, int] = {}


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    name, _, nth = spec.partition("@")
    if name not in POINTS:
        raise ValueError(f"{ENV}: unknown failpoint {name!r} (known: {', '.join(POINTS)})")
    return name, int(nth or 1)


def failpoint(name: str) -> None:
    """Die here (SIGKILL) if `PP_FAILPOINT` names this point and its count is reached."""
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
