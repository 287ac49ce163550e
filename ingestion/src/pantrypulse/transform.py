"""Bronze to gold: resolve entities (Python), then `dbt build` (silver, gold, tests).

Entity resolution runs in Python, not SQL, because it needs blocking, fuzzy similarity and
a persistent registry that keeps ids stable across runs: things SQL on two engines would do
badly. It writes the registry as Iceberg tables in the same catalog, so dbt on DuckDB and
dbt on Trino read the same result.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pantrypulse.catalog import pyiceberg_env
from pantrypulse.settings import Settings


class TransformError(RuntimeError):
    """dbt failed; the message points at its log."""


@dataclass
class DbtOutcome:
    """Counts from dbt's run_results.json."""

    command: str
    elapsed_s: float
    status_counts: dict[str, int]
    failures: list[str]
    log_path: Path


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment for a dbt subprocess: the catalog for the iceberg plugin and the DuckDB file."""
    env = dict(os.environ)
    env.update(pyiceberg_env(settings))
    env["PANTRYPULSE_DUCKDB_PATH"] = str(settings.dbt.duckdb_path)
    env["DBT_PROFILES_DIR"] = str(settings.dbt.project_dir)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def run_dbt(settings: Settings, args: Sequence[str], log_name: str = "dbt.log") -> DbtOutcome:
    """Run one dbt command against the configured target; raise with the failures on error."""
    project = settings.dbt.project_dir
    settings.dbt.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / log_name
    target_dir = settings.home / "dbt-target"
    cmd = [
        str(settings.dbt.executable),
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        settings.dbt.target,
        "--target-path",
        str(target_dir),
        "--log-path",
        str(logs),
        "--threads",
        str(settings.dbt.threads),
    ]
    with log_path.open("w") as log:
        proc = subprocess.run(
            cmd,
            env=dbt_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=project,
            check=False,
        )
    outcome = _read_results(target_dir / "run_results.json", args[0], log_path)
    if proc.returncode != 0:
        detail = "; ".join(outcome.failures[:5]) or _tail(log_path)
        raise TransformError(f"dbt {args[0]} failed ({detail}); full log: {log_path}")
    return outcome


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _read_results(path: Path, command: str, log_path: Path) -> DbtOutcome:
    if not path.exists():
        return DbtOutcome(command, 0.0, {}, [], log_path)
    data = json.loads(path.read_text())
    counts: dict[str, int] = {}
    failures = []
    for result in data.get("results", []):
        counts[result["status"]] = counts.get(result["status"], 0) + 1
        if result["status"] in ("error", "fail"):
            failures.append(f"{result['unique_id']}: {(result.get('message') or '')[:200]}")
    return DbtOutcome(command, float(data.get("elapsed_time", 0.0)), counts, failures, log_path)


def resolve(settings: Settings, catalog):
    """Run entity resolution over bronze and refresh the registry tables."""
    from pantrypulse.resolve.registry import run_resolution

    return run_resolution(catalog)


def transform(settings: Settings, catalog, select: Sequence[str] = ()) -> tuple[object, DbtOutcome]:
    """Resolve entities, then build and test silver and gold with dbt."""
    summary = resolve(settings, catalog)
    args = ["build"] + (["--select", *select] if select else [])
    return summary, run_dbt(settings, args, "dbt-build.log")
