"""The chart cache: the pinned Helm charts as packaged files, each checked against its sha256.

`versions.yaml` pins every chart's version and the digest of its package per source (`mirror`,
`repo`). `fill` puts the packages into a cache folder from a mirror folder (`CHART_MIRROR`, e.g.
`../shared/charts` in CI) or with `helm pull` from the chart's repository (a user with internet),
and refuses any package whose digest is not the pinned one. `verified_path` is what the program
and the platform tier use: the cached package, re-checked on every use, so what `pulumi up`
installs is what the tier rendered. `python -m lakehouse.chart_cache --help` fills it by hand.

Written here rather than taken from a library: Helm itself verifies only signed charts
(`--verify` needs a keyring, and none of these charts is signed with a key we hold), and the
charts come from several repositories, one of them OCI; this module is the pinning layer only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import settings as settings_mod
from .settings import Chart

CACHE_ENV = "LAKEHOUSE_CHART_CACHE"  # a filled cache: the program installs charts from it
MIRROR_ENV = "CHART_MIRROR"  # a folder of packaged charts to fill the cache from
HELM_ENV = "HELM"  # the helm binary for `helm pull` (default: `helm` on PATH)


class ChartCacheError(RuntimeError):
    """A chart that cannot be vouched for: absent, or not the pinned package."""


def package_name(chart: Chart) -> str:
    """`<chart>-<version>.tgz`, the name `helm package` and `helm pull` give a chart."""
    return f"{chart.chart}-{chart.version}.tgz"


def sha256_of(path: Path) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache() -> Path:
    """`<repository>/.cache/charts` (git-ignored)."""
    return settings_mod.environments_root().parent / ".cache" / "charts"


def active_cache() -> Path | None:
    """The cache the program installs from (`LAKEHOUSE_CHART_CACHE`), or None: charts by repo."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else None


def verified_path(name: str, chart: Chart, cache: Path) -> Path:
    """The cached package of `chart`, after checking its digest against the pinned ones."""
    path = cache / package_name(chart)
    if not path.is_file():
        raise ChartCacheError(
            f"chart {name} {chart.version}: {path} is not in the cache "
            f"(fill it: make charts, or python -m lakehouse.chart_cache)"
        )
    pinned = {d for d in (chart.sha256.mirror, chart.sha256.repo) if d}
    got = sha256_of(path)
    if got not in pinned:
        raise ChartCacheError(
            f"chart {name} {chart.version}: {path} has sha256 {got}, which is not pinned in "
            f"versions.yaml (charts.{name}.sha256: {sorted(pinned) or 'none'})"
        )
    return path


@dataclass
class FillReport:
    """What one fill did, per chart key."""

    verified: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # no package to be had: why
    refused: dict[str, str] = field(default_factory=dict)  # a package with the wrong digest

    def lines(self) -> list[str]:
        """One line per chart, sorted by key."""
        out = [f"verified {k}: {p.name}" for k, p in self.verified.items()]
        out += [f"missing  {k}: {why}" for k, why in self.missing.items()]
        out += [f"REFUSED  {k}: {why}" for k, why in self.refused.items()]
        return sorted(out, key=lambda line: line.split()[1])


def _pull(chart: Chart, dest: Path, helm: str) -> Path:
    """`helm pull` the pinned version into `dest`; return the package path."""
    ref = f"{chart.repo}/{chart.chart}" if chart.repo.startswith("oci://") else chart.chart
    cmd = [helm, "pull", ref, "--version", chart.version, "--destination", str(dest)]
    if not chart.repo.startswith("oci://"):
        cmd += ["--repo", chart.repo]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ChartCacheError(f"helm pull {ref} {chart.version}: cannot run {helm}: {exc}") from exc
    if done.returncode != 0:
        raise ChartCacheError(f"helm pull {ref} {chart.version}: {done.stderr.strip()}")
    return dest / package_name(chart)


def _take(name: str, chart: Chart, source: Path, pinned: str | None, key: str) -> Path:
    """Check a fetched package against the digest pinned for its source."""
    got = sha256_of(source)
    if pinned is None:
        raise ChartCacheError(
            f"chart {name} {chart.version}: no digest pinned at charts.{name}.sha256.{key} in "
            f"versions.yaml; the package from {key} has sha256 {got} (pin it by pull request "
            "after checking where it came from)"
        )
    if got != pinned:
        raise ChartCacheError(
            f"chart {name} {chart.version}: the package from {key} ({source}) has sha256 {got}, "
            f"versions.yaml pins {pinned} (charts.{name}.sha256.{key})"
        )
    return source


def fill(
    charts: dict[str, Chart],
    cache: Path,
    mirror: Path | None = None,
    helm: str | None = None,
) -> FillReport:
    """Put every chart into `cache`, verified; from `mirror` when given, else by `helm pull`."""
    cache.mkdir(parents=True, exist_ok=True)
    report = FillReport()
    for name, chart in sorted(charts.items()):
        target = cache / package_name(chart)
        try:
            if target.is_file():
                try:
                    report.verified[name] = verified_path(name, chart, cache)
                    continue
                except ChartCacheError:
                    target.unlink()  # a stale or tampered file: fetch it again
            if mirror is not None:
                source = mirror / package_name(chart)
                if not source.is_file():
                    report.missing[name] = f"{package_name(chart)} is not in the mirror {mirror}"
                    continue
                _take(name, chart, source, chart.sha256.mirror, "mirror")
                shutil.copyfile(source, target)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    pulled = _pull(chart, Path(tmp), helm or os.environ.get(HELM_ENV, "helm"))
                    _take(name, chart, pulled, chart.sha256.repo, "repo")
                    shutil.copyfile(pulled, target)
            report.verified[name] = verified_path(name, chart, cache)
        except ChartCacheError as exc:
            report.refused[name] = str(exc)
    return report


def pinned_charts(envs: list[str], root: Path | None = None) -> dict[str, Chart]:
    """The charts of these environments (one entry per key; environments must agree on it)."""
    root = root or settings_mod.environments_root()
    out: dict[str, Chart] = {}
    for env in envs:
        for name, chart in settings_mod.load(root / env).versions.charts.items():
            if name in out and out[name] != chart:
                # Both are verified on their own: key them apart so neither hides the other.
                out[f"{name}@{env}"] = chart
            else:
                out[name] = chart
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: fill and verify the cache; exit 1 if a package was refused (or missing, --all)."""
    parser = argparse.ArgumentParser(description="Fill the chart cache with verified packages.")
    parser.add_argument("--env", action="append", default=None, help="environment (repeatable)")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument("--mirror", type=Path, default=None, help=f"mirror folder (${MIRROR_ENV})")
    parser.add_argument("--all", action="store_true", help="a chart with no package is an error")
    args = parser.parse_args(argv)
    mirror = args.mirror or (Path(os.environ[MIRROR_ENV]) if os.environ.get(MIRROR_ENV) else None)
    if mirror is not None and not mirror.is_dir():
        print(f"chart cache: {MIRROR_ENV}={mirror} is not a folder", file=sys.stderr)
        return 2
    cache = args.cache or active_cache() or default_cache()
    envs = args.env or ["dev", "prod"]
    try:
        charts = pinned_charts(envs)
    except settings_mod.SettingsError as exc:
        print(f"chart cache: bad settings:\n{exc}", file=sys.stderr)
        return 2
    report = fill(charts, cache, mirror)
    where = f"mirror {mirror}" if mirror else "helm pull from each chart's repository"
    if not report.verified:
        # Nothing to be had at all: one line that says where charts come from.
        first = next(iter(report.refused.values()), next(iter(report.missing.values()), ""))
        print(
            f"chart cache: no chart could be obtained by {where} ({first.splitlines()[0]}); "
            f"set {MIRROR_ENV}=<folder of packaged charts> (CI: ../shared/charts) or allow this "
            "machine to reach the chart repositories",
            file=sys.stderr,
        )
        return 2
    print(f"chart cache {cache} (from {where}):")
    for line in report.lines():
        print(f"  {line}")
    if report.refused or (args.all and report.missing):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
