"""`make demo`: the whole embedded pipeline on simulated data, then the report.

The simulator's HTTP source runs on a loopback port with a share of injected 429/5xx
answers, so the demo also shows the client riding through faults. Everything is
deterministic and replace-by-slice, so running it again converges on the same tables.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from pydantic import SecretStr

from pantrypulse.catalog import open_catalog
from pantrypulse.pipeline import ingest_http
from pantrypulse.report import build_report, format_report
from pantrypulse.settings import Settings
from pantrypulse.transform import transform


def run_demo(
    settings: Settings,
    days: int | None = None,
    error_rate: float = 0.02,
    progress: Callable[[str], None] = print,
) -> dict:
    """Run simulator -> HTTP -> bronze -> resolution -> dbt -> report; return the report."""
    from pantrypulse.simulator import InvoiceSourceServer, SimulatorConfig, generate, write_jsonl

    config = SimulatorConfig() if days is None else SimulatorConfig(days=days)
    t0 = time.perf_counter()
    progress(f"[1/5] simulating {config.days} days of invoices (seed {config.seed})")
    dataset = generate(config)
    write_jsonl(dataset, settings.home / "simulator")
    last_day = config.start + timedelta(days=config.days - 1)
    token = secrets.token_urlsafe(16)
    server = InvoiceSourceServer(dataset, token=token, error_rate=error_rate, seed=config.seed)
    with server.start():
        source = settings.source.model_copy(
            update={"base_url": server.base_url, "token": SecretStr(token)}
        )
        settings = settings.model_copy(update={"source": source})
        progress(
            f"[2/5] ingesting {config.start}..{last_day} from {server.base_url} "
            f"({error_rate:.0%} injected faults)"
        )
        catalog = open_catalog(settings)
        ingest_http(settings, catalog, config.start, last_day, progress=progress)
        stats = dict(server.stats)
    progress(f"      source served {stats}")
    progress("[3/5] resolving products and shops, [4/5] dbt build (silver, gold, tests)")
    summary, outcome = transform(settings, catalog)
    progress(f"      {summary}")
    progress(f"      dbt build: {outcome.status_counts} in {outcome.elapsed_s:.1f}s")
    progress("[5/5] report")
    report = build_report(settings, catalog, truth_dir=settings.home / "simulator")
    report["elapsed_s"] = round(time.perf_counter() - t0, 1)
    print(format_report(report))
    return report
