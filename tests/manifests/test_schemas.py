"""Every rendered object is valid: Kubernetes schemas (built-in kinds), CRD schemas (the rest)."""

from __future__ import annotations

import json
from pathlib import Path

import kube
import pytest
import yaml
from kube import ENVIRONMENTS, REPO

from lakehouse import settings
from lakehouse.settings import DigitalOceanCluster, KindCluster


def cluster_version(env: str) -> str:
    """The Kubernetes version the environment's cluster runs (validated against that schema)."""
    s = settings.load(REPO / "environments" / env)
    c = s.platform.cluster
    if isinstance(c, KindCluster):
        return s.versions.images["kind_node"].rsplit(":v", 1)[1]
    if isinstance(c, DigitalOceanCluster):
        return c.kubernetes_version.split("-")[0]
    return kube.kubernetes_validate.latest_version()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_object_is_valid(rendered_root: Path, env: str) -> None:
    report = kube.validate_tree(rendered_root / env / "manifests", cluster_version(env))
    assert report.errors == []
    summary = json.loads((rendered_root / env / "summary.json").read_text())
    assert report.total == summary["objects"]
    assert report.builtin > 50
    assert report.custom >= 10  # Tenant, 3 PG clusters, Kafka + 2 pools, monitors, root app


def test_helm_releases_are_recorded_with_chart_version_repo_and_values(rendered_root: Path) -> None:
    for env in ENVIRONMENTS:
        records = [
            yaml.safe_load(p.read_text())
            for p in sorted((rendered_root / env / "helm").glob("*.yaml"))
        ]
        assert len(records) == 12
        for rec in records:
            assert rec["record"] == "helm.v3.Release"
            assert rec["version"]
            assert rec["values"]
            assert rec["namespace"]
            assert rec["repo"] or rec["chart"].startswith("oci://")


BAD_BUILTIN = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "bad", "namespace": "lakehouse"},
    "spec": {
        "backoffLimit": "three",
        "template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}},
    },
}
BAD_UNKNOWN_FIELD = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "bad"},
    "dataa": {"k": "v"},
}
BAD_KAFKA = {
    "apiVersion": "kafka.strimzi.io/v1",
    "kind": "Kafka",
    "metadata": {"name": "bad", "namespace": "kafka"},
    "spec": {
        "kafka": {"listners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]}
    },
}
BAD_TENANT = {
    "apiVersion": "minio.min.io/v2",
    "kind": "Tenant",
    "metadata": {"name": "bad", "namespace": "lakehouse"},
    "spec": {
        "pools": [
            {
                "name": "p",
                "servers": "four",
                "volumesPerServer": 1,
                "volumeClaimTemplate": {"metadata": {"name": "d"}},
            }
        ]
    },
}
UNKNOWN_KIND = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (BAD_BUILTIN, "three"),
        (BAD_UNKNOWN_FIELD, "dataa"),
        (BAD_KAFKA, "listners"),
        (BAD_TENANT, "four"),
        (UNKNOWN_KIND, "neither a built-in kind nor a known CRD"),
    ],
)
def test_a_planted_bad_object_fails_validation(
    tmp_path: Path, rendered_root: Path, obj: dict, expected: str
) -> None:
    tree = tmp_path / "manifests"
    tree.mkdir()
    # One good object beside the bad one: the bad one must still be caught.
    good = next((rendered_root / "dev" / "manifests" / "lakehouse").glob("Secret-*.yaml"))
    (tree / good.name).write_text(good.read_text())
    (tree / "bad.yaml").write_text(yaml.safe_dump(obj))
    report = kube.validate_tree(tree, "1.34.0")
    assert len(report.errors) >= 1
    assert all(e.startswith("bad.yaml") for e in report.errors)
    assert expected in "\n".join(report.errors)


def test_a_scan_of_nothing_fails(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    with pytest.raises(kube.ScanError, match="no Kubernetes object found"):
        kube.validate_tree(tmp_path / "manifests", "1.34.0")


def test_missing_crd_schemas_fail_with_a_clear_message(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kube, "CRD_DIR", tmp_path / "nowhere")
    kube.crd_schemas.cache_clear()
    try:
        with pytest.raises(kube.ScanError, match=r"\.\./shared/schemas/crds"):
            kube.crd_schemas()
    finally:
        kube.crd_schemas.cache_clear()
