"""`make bench`: ingest throughput and dbt build time, with a raw Parquet write as yardstick.

Results go to a JSON file and a Markdown summary with the machine's details, never into
test assertions. Each scenario runs on a fresh embedded catalog under a temporary home.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from pantrypulse.catalog import open_catalog
from pantrypulse.pipeline import import_file, ingest_http
from pantrypulse.settings import load_settings
from pantrypulse.tables import INVOICES_RAW
from pantrypulse.transform import resolve, run_dbt


def machine() -> dict:
    """What this ran on: CPU, cores, memory, OS, Python and key package versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    packages = {}
    for name in ("dlt", "pyiceberg", "pyarrow", "duckdb"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": packages,
        # Other work on the machine skews timings; record how busy it was at the start.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _lines(dataset) -> int:
    return sum(
        len(d.payload["lines"])
        for d in dataset.deliveries
        if isinstance(d.payload, dict) and isinstance(d.payload.get("lines"), list)
    )


def _settings(home: Path):
    return load_settings({**os.environ, "PANTRYPULSE_HOME": str(home)})


def bench_scenario(days: int, with_dbt: bool) -> dict:
    """Ingest `days` of simulated invoices by HTTP and by file, then optionally resolve + dbt."""
    from pantrypulse.simulator import InvoiceSourceServer, SimulatorConfig, generate, write_jsonl

    config = SimulatorConfig(days=days)
    t = time.perf_counter()
    dataset = generate(config)
    out: dict = {
        "days": days,
        "deliveries": len(dataset.deliveries),
        "lines": _lines(dataset),
        "generate_s": round(time.perf_counter() - t, 2),
    }
    last = config.start + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        jsonl = write_jsonl(dataset, home / "sim")

        settings = _settings(home / "http")
        catalog = open_catalog(settings)
        with InvoiceSourceServer(dataset, page_size=100).start() as server:
            settings.source.base_url = server.base_url
            t = time.perf_counter()
            ingest_http(settings, catalog, config.start, last, chunk_days=31)
            http_s = time.perf_counter() - t
        out["http_ingest_s"] = round(http_s, 2)
        out["http_lines_per_s"] = round(out["lines"] / http_s)

        settings = _settings(home / "file")
        catalog = open_catalog(settings)
        t = time.perf_counter()
        import_file(settings, catalog, jsonl)
        file_s = time.perf_counter() - t
        out["file_import_s"] = round(file_s, 2)
        out["file_lines_per_s"] = round(out["lines"] / file_s)

        # Yardstick: the same bronze rows written once as a plain Parquet file.
        rows = catalog.load_table(INVOICES_RAW.identifier).scan().to_arrow()
        t = time.perf_counter()
        pq.write_table(rows, home / "yardstick.parquet")
        pq_s = time.perf_counter() - t
        out["parquet_write_s"] = round(pq_s, 3)
        out["parquet_lines_per_s"] = round(out["lines"] / pq_s) if pq_s else None
        out["bronze_mib"] = round(rows.nbytes / 2**20, 1)

        if with_dbt:
            t = time.perf_counter()
            resolve(settings, catalog)
            out["resolve_s"] = round(time.perf_counter() - t, 2)
            outcome = run_dbt(settings, ["build"], "bench-dbt.log")
            out["dbt_build_s"] = round(outcome.elapsed_s, 2)
            out["dbt_results"] = outcome.status_counts
    return out


def main() -> None:
    """Run the benchmark scenarios and write the results files."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("tests/bench/results"))
    parser.add_argument("--days", type=int, nargs="*", default=[30, 365])
    args = parser.parse_args()
    started = datetime.now(UTC)
    results = {"started_at": started.isoformat(), "machine": machine(), "scenarios": []}
    for days in args.days:
        print(f"scenario: {days} days", flush=True)
        results["scenarios"].append(bench_scenario(days, with_dbt=True))
        print(json.dumps(results["scenarios"][-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y%m%dT%H%M%SZ}-{platform.node() or 'host'}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "latest.md").write_text(to_markdown(results))
    print(f"results: {args.out / (stem + '.json')} and {args.out / 'latest.md'}")


def to_markdown(results: dict) -> str:
    """A readable table of one benchmark run."""
    m = results["machine"]
    lines = [
        "# Benchmark results (latest run)",
        "",
        f"Run {results['started_at']} on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB),"
        f" {m['os']}, Python {m['python']}, packages {m['packages']}, load average at start"
        f" {m.get('load_average_1m')}.",
        "",
        "| days | invoices | lines | HTTP ingest lines/s | file import lines/s | "
        "Parquet write lines/s (yardstick) | resolve s | dbt build s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        lines.append(
            f"| {s['days']} | {s['deliveries']} | {s['lines']} | {s['http_lines_per_s']} | "
            f"{s['file_lines_per_s']} | {s['parquet_lines_per_s']} | {s.get('resolve_s')} | "
            f"{s.get('dbt_build_s')} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
