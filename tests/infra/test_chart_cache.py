"""The chart cache: packages are taken only with their pinned digest, and re-checked on use."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from lakehouse import chart_cache, settings
from lakehouse.chart_cache import ChartCacheError
from lakehouse.settings import Chart, ChartDigests

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"


def package(folder: Path, name: str, version: str, body: str = "x: 1\n") -> Path:
    """A small chart package `<name>-<version>.tgz` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in (
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n"),
            (f"{name}/values.yaml", body),
        ):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def chart(name: str, mirror: str | None, repo: str | None = None) -> Chart:
    return Chart(
        repo="https://charts.example.org",
        chart=name,
        version="1.2.3",
        sha256=ChartDigests(mirror=mirror, repo=repo),
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mirror_package_with_its_pinned_digest_is_verified(tmp_path: Path) -> None:
    good = package(tmp_path / "mirror", "alpha", "1.2.3")
    charts = {"alpha": chart("alpha", digest(good))}
    report = chart_cache.fill(charts, tmp_path / "cache", tmp_path / "mirror")
    assert report.refused == {}
    assert report.missing == {}
    assert report.verified == {"alpha": tmp_path / "cache" / "alpha-1.2.3.tgz"}
    assert chart_cache.verified_path("alpha", charts["alpha"], tmp_path / "cache") == (
        tmp_path / "cache" / "alpha-1.2.3.tgz"
    )


def test_a_package_with_another_digest_is_refused_and_not_cached(tmp_path: Path) -> None:
    package(tmp_path / "mirror", "alpha", "1.2.3", body="tampered: true\n")
    pinned = "0" * 64
    report = chart_cache.fill(
        {"alpha": chart("alpha", pinned)}, tmp_path / "cache", tmp_path / "mirror"
    )
    assert list(report.refused) == ["alpha"]
    assert f"versions.yaml pins {pinned} (charts.alpha.sha256.mirror)" in report.refused["alpha"]
    assert not (tmp_path / "cache" / "alpha-1.2.3.tgz").exists()


def test_a_source_without_a_pinned_digest_is_refused_naming_the_key(tmp_path: Path) -> None:
    good = package(tmp_path / "mirror", "alpha", "1.2.3")
    report = chart_cache.fill(
        {"alpha": chart("alpha", None, repo=digest(good))}, tmp_path / "cache", tmp_path / "mirror"
    )
    assert "no digest pinned at charts.alpha.sha256.mirror" in report.refused["alpha"]
    assert digest(good) in report.refused["alpha"]  # what to pin, once checked


def test_a_chart_absent_from_the_mirror_is_reported_missing(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    report = chart_cache.fill(
        {"beta": chart("beta", "1" * 64)}, tmp_path / "cache", tmp_path / "mirror"
    )
    assert report.missing == {"beta": f"beta-1.2.3.tgz is not in the mirror {tmp_path / 'mirror'}"}
    assert report.verified == {}
    assert report.refused == {}
    assert report.lines() == [f"missing  beta: {report.missing['beta']}"]


def test_a_cached_file_changed_after_the_fill_is_caught_on_use(tmp_path: Path) -> None:
    good = package(tmp_path / "mirror", "alpha", "1.2.3")
    charts = {"alpha": chart("alpha", digest(good))}
    chart_cache.fill(charts, tmp_path / "cache", tmp_path / "mirror")
    package(tmp_path / "cache", "alpha", "1.2.3", body="swapped: true\n")
    with pytest.raises(ChartCacheError, match=r"is not pinned in versions.yaml"):
        chart_cache.verified_path("alpha", charts["alpha"], tmp_path / "cache")
    # A new fill replaces the stale file with the pinned package.
    report = chart_cache.fill(charts, tmp_path / "cache", tmp_path / "mirror")
    assert list(report.verified) == ["alpha"]
    assert digest(tmp_path / "cache" / "alpha-1.2.3.tgz") == digest(good)


def test_a_package_not_in_the_cache_names_how_to_fill_it(tmp_path: Path) -> None:
    with pytest.raises(ChartCacheError, match=r"not in the cache \(fill it: make charts"):
        chart_cache.verified_path("alpha", chart("alpha", "2" * 64), tmp_path)


def test_helm_pull_is_used_without_a_mirror_and_its_digest_checked(tmp_path: Path) -> None:
    built = package(tmp_path / "upstream", "gamma", "1.2.3")
    fake_helm = tmp_path / "helm"
    # A stand-in for `helm pull NAME --version V --destination D --repo R`: copies the package.
    fake_helm.write_text(
        "#!/bin/sh\n"
        'while [ $# -gt 0 ]; do case "$1" in --destination) dest=$2; shift;; esac; shift; done\n'
        f'cp {built} "$dest/"\n'
    )
    fake_helm.chmod(0o755)
    charts = {"gamma": chart("gamma", None, repo=digest(built))}
    report = chart_cache.fill(charts, tmp_path / "cache", mirror=None, helm=str(fake_helm))
    assert list(report.verified) == ["gamma"]
    wrong = {"gamma": chart("gamma", None, repo="3" * 64)}
    report = chart_cache.fill(wrong, tmp_path / "cache2", mirror=None, helm=str(fake_helm))
    assert "charts.gamma.sha256.repo" in report.refused["gamma"]


def test_every_committed_chart_pins_a_digest_or_is_named_as_unobtainable() -> None:
    # Only the two charts no packaged copy could be found for may lack every digest.
    for env in ("dev", "prod"):
        charts = settings.load(ENVIRONMENTS / env).versions.charts
        unpinned = {k for k, c in charts.items() if not (c.sha256.mirror or c.sha256.repo)}
        assert unpinned == {"airflow", "superset"}, env


def test_a_malformed_digest_stops_the_settings_naming_the_key(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    for name in ("platform.yaml", "versions.yaml"):
        (env / name).write_text((ENVIRONMENTS / "dev" / name).read_text())
    text = (env / "versions.yaml").read_text()
    (env / "versions.yaml").write_text(
        text.replace("sha256: {mirror: 9ad9", "sha256: {mirror: XYZ", 1)
    )
    with pytest.raises(settings.SettingsError, match=r"charts\.traefik\.sha256\.mirror"):
        settings.load(env)
