"""Faults on the services: S3 refusing requests, then a retried success or a clear failure.

Iceberg commits are atomic: whatever fails, the table afterwards is the table before (same
snapshot, same rows, every file readable), and running the step again completes it. Restarts of
Nessie and Trino between steps are exercised by the end-to-end flow (test_end_to_end.py).
"""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from conftest import cli, ok, status

from pantrypulse.catalog import open_catalog
from pantrypulse.settings import load_settings
from pantrypulse.simulator import SimulatorConfig, generate, write_jsonl

SALT = secrets.randbelow(1_000_000)
BRONZE = (("bronze", "invoices_raw"), ("bronze", "invoices_rejected"), ("bronze", "load_log"))


def jsonl(tmp_path, seed: int, start: dt.date):
    """One day of invoices as a JSON Lines file, new content on every test session.

    Imports are keyed by content (a re-import replaces), and the services may outlive a session
    (`make services-up`), so the seed is salted per session.
    """
    seed = seed * 1_000_003 + SALT
    # A single day can be a Sunday with no receipts at all; a file that delivers nothing
    # would make "the re-run added rows" vacuous, so take the first seed that delivers some.
    while True:
        dataset = generate(SimulatorConfig(days=3, start=start, seed=seed))
        if len(dataset.deliveries) >= 5:
            return write_jsonl(dataset, tmp_path / "in")
        seed += 1


def lines_in(path) -> int:
    """Records a JSON Lines file delivers (non-blank lines)."""
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def snapshot(env) -> dict:
    """Current snapshot id and full row count of every bronze table (reads every data file)."""
    catalog = open_catalog(load_settings(env))
    out = {}
    for ident in BRONZE:
        try:
            table = catalog.load_table(ident)
        except Exception:
            continue
        snap = table.current_snapshot()
        out[ident] = (snap.snapshot_id if snap else None, table.scan().to_arrow().num_rows)
    return out


@pytest.fixture
def seeded(stack, services_env, tmp_path):
    """Bronze holds something before the fault (the tables exist and have a snapshot)."""
    ok(cli(services_env, "import", str(jsonl(tmp_path, 101, dt.date(2027, 1, 1)))), "seed import")
    return services_env


def test_short_s3_blip_ends_in_a_retried_success(stack, seeded, tmp_path):
    path = jsonl(tmp_path, 102, dt.date(2027, 1, 2))
    before = status(seeded)
    stack.s3.refuse(count=2)  # the next two S3 requests, whoever sends them, get a 503
    try:
        proc = cli(seeded, "import", str(path), timeout=300)
        faults = stack.s3.faults()
    finally:
        stack.s3.heal()
    assert faults["left"] == 0, "the blip was never hit"
    ok(proc, "import through an S3 blip")
    after = status(seeded)
    assert after["delivered"] == before["delivered"] + lines_in(path)
    assert after["reconciled"]


def test_s3_outage_fails_clearly_and_leaves_every_table_whole(stack, seeded, tmp_path):
    path = jsonl(tmp_path, 103, dt.date(2027, 1, 3))
    before_status = status(seeded)
    before = snapshot(seeded)
    stack.s3.refuse(seconds=600)
    try:
        proc = cli(seeded, "import", str(path), timeout=400)
        refused = stack.s3.faults()["refused"]
    finally:
        stack.s3.heal()
    assert refused > 0
    print(f"S3 refused {refused} requests; import exit {proc.returncode}: {proc.stderr[-600:]}")
    assert proc.returncode != 0, f"import succeeded while S3 refused everything:\n{proc.stdout}"
    message = (proc.stdout + proc.stderr).lower()
    assert "error" in message, message[-2000:]
    assert any(w in message for w in ("503", "unavailable", "s3")), message[-2000:]
    # Nothing half-written: same snapshot, same rows, every file still readable.
    assert snapshot(seeded) == before
    now = status(seeded)
    assert {k: v for k, v in now.items() if k != "freshness_hours"} == {
        k: v for k, v in before_status.items() if k != "freshness_hours"
    }
    # Running the step again completes it.
    ok(cli(seeded, "import", str(path)), "import after S3 came back")
    after = status(seeded)
    assert after["delivered"] == before_status["delivered"] + lines_in(path)
    assert after["reconciled"]


def test_trino_reads_bronze_after_the_faults(stack, seeded):
    """The query engine sees the same committed state the writer does."""
    expected = snapshot(seeded)[("bronze", "invoices_raw")][1]
    assert stack.trino.query("select count(*) from bronze.invoices_raw")[0][0] == expected
