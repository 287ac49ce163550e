"""Running checkov (its own environment) with our custom checks and config; reading its report."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube import REPO, ScanError

CHECKOV = REPO / "policies" / "checkov" / ".venv" / "bin" / "checkov"
CONFIG = REPO / "policies" / "checkov" / "checkov.yaml"
CHECKS = REPO / "policies" / "checkov" / "checks"


@dataclass
class CheckovReport:
    """checkov's JSON report for one directory."""

    summary: dict[str, Any]
    results: dict[str, list[dict[str, Any]]]

    def ids(self, outcome: str) -> list[tuple[str, str]]:
        """(check id, resource) for every result of an outcome: passed, failed or skipped."""
        return [(r["check_id"], r["resource"]) for r in self.results.get(f"{outcome}_checks", [])]


def start(directory: Path, config: Path = CONFIG) -> subprocess.Popen[str]:
    """Start a scan (so several can run at once); finish it with `finish`."""
    if not CHECKOV.exists():
        raise ScanError(f"{CHECKOV} missing: run `make infra-envs` (the checkov environment)")
    return subprocess.Popen(
        [
            str(CHECKOV),
            "-d",
            str(directory.resolve()),
            "--config-file",
            str(config),
            "--external-checks-dir",
            str(CHECKS),
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> CheckovReport:
    """Wait for a scan; a scan that covered no resource is an error, never a pass."""
    out, err = process.communicate(timeout=300)
    if not out.strip():
        raise ScanError(f"checkov printed no report (exit {process.returncode}): {err[-2000:]}")
    doc = json.loads(out)
    if isinstance(doc, list):  # one report per framework
        (doc,) = doc
    # With nothing to scan, checkov prints only the bare summary.
    summary = doc.get("summary", doc)
    if summary["resource_count"] == 0:
        raise ScanError(
            "checkov scanned no resource: the scan proves nothing "
            "(it also skips symlinked folders and paths with '..' in the middle)"
        )
    return CheckovReport(summary, doc.get("results", {}))
