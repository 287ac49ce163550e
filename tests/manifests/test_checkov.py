"""checkov (built-in + our custom checks) over every rendered manifest: zero failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import checkov_run
import kube
import pytest
import yaml

CUSTOM = ("CKV_LAKE_1", "CKV_LAKE_2", "CKV_LAKE_3", "CKV_LAKE_4", "CKV_LAKE_5", "CKV_LAKE_6")

PLANTED = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "loose"}},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "leaky", "namespace": "loose"},
        "data": {"DB_PASSWORD": "hunter2"},
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "exposed", "namespace": "lakehouse"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]},
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "entry", "namespace": "ingress"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]},
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "unsafe", "namespace": "lakehouse"},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {
                    "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox:latest",
                            "securityContext": {"privileged": True},
                        }
                    ],
                },
            },
        },
    },
]


@pytest.fixture(scope="module")
def scans(rendered_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The three scans: every environment, planted bad objects, and nothing at all."""
    planted = tmp_path_factory.mktemp("planted")
    for i, obj in enumerate(PLANTED):
        (planted / f"{i}-{obj['kind']}.yaml").write_text(yaml.safe_dump(obj))
    empty = tmp_path_factory.mktemp("empty")
    everything = tmp_path_factory.mktemp("all")
    for env in kube.ENVIRONMENTS:
        shutil.copytree(rendered_root / env / "manifests", everything / env)
    # One after the other: checkov already uses both cores, running them together is slower.
    results: dict[str, object] = {}
    for name, directory in (("all", everything), ("planted", planted), ("empty", empty)):
        try:
            results[name] = checkov_run.finish(checkov_run.start(directory))
        except kube.ScanError as exc:
            results[name] = exc
    return results


def test_rendered_manifests_pass_checkov(scans, rendered_root: Path) -> None:
    report = scans["all"]
    assert isinstance(report, checkov_run.CheckovReport), report
    files = sum(
        len(list((rendered_root / env / "manifests").rglob("*.yaml"))) for env in kube.ENVIRONMENTS
    )
    assert report.summary["resource_count"] >= files > 200
    assert report.summary["parsing_errors"] == 0
    assert report.ids("failed") == []
    assert report.summary["passed"] > 400
    ran = {check for check, _ in report.ids("passed")}
    # Every custom check that has something to look at in our manifests did run.
    assert {"CKV_LAKE_1", "CKV_LAKE_2", "CKV_LAKE_4", "CKV_LAKE_5", "CKV_LAKE_6"} <= ran


def test_every_skip_carries_its_reason(scans) -> None:
    report = scans["all"]
    assert isinstance(report, checkov_run.CheckovReport), report
    for result in report.results["skipped_checks"]:
        assert len((result.get("check_result") or {}).get("suppress_comment", "")) > 20, result[
            "check_id"
        ]
    config = yaml.safe_load(checkov_run.CONFIG.read_text())
    text = checkov_run.CONFIG.read_text()
    for check in config["skip-check"]:
        # The reason is the comment block right above the entry.
        before = text.split(f"- {check}")[0].rstrip().splitlines()[-1]
        assert before.strip().startswith("#"), check
        assert len(before) > 40, check


def test_planted_bad_objects_fail_the_custom_checks(scans) -> None:
    report = scans["planted"]
    assert isinstance(report, checkov_run.CheckovReport), report
    failed = set(report.ids("failed"))
    assert ("CKV_LAKE_1", "Deployment.lakehouse.unsafe") in failed
    assert ("CKV_LAKE_2", "Namespace.default.loose") in failed or (
        "CKV_LAKE_2",
        "Namespace.loose",
    ) in failed
    assert ("CKV_LAKE_3", "Service.lakehouse.exposed") in failed
    assert ("CKV_LAKE_4", "ConfigMap.loose.leaky") in failed
    assert ("CKV_LAKE_5", "Deployment.lakehouse.unsafe") in failed
    assert ("CKV_LAKE_6", "Deployment.lakehouse.unsafe") in failed
    # The ingress controller's namespace is the one allowed exception.
    assert ("CKV_LAKE_3", "Service.ingress.entry") in set(report.ids("passed"))
    assert {c for c, _ in failed} >= set(CUSTOM)


def test_a_scan_of_nothing_fails(scans) -> None:
    assert isinstance(scans["empty"], kube.ScanError)
    assert "scanned no resource" in str(scans["empty"])
