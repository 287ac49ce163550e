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
    # Tenant, 3 PG clusters, Kafka + 2 pools, monitors, root app: checked against the charts' CRDs
    # in the platform tier, counted as deferred (never as valid) without them.
    assert report.custom + len(report.deferred) >= 10
    if kube.crds_loaded():
        assert report.deferred == []
    else:
        assert report.custom == 0


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
    ("obj", "expected", "needs_crds"),
    [
        (BAD_BUILTIN, "three", False),
        (BAD_UNKNOWN_FIELD, "dataa", False),
        (BAD_KAFKA, "listners", True),
        (BAD_TENANT, "four", True),
        (UNKNOWN_KIND, "neither a built-in kind nor a known CRD", False),
    ],
)
def test_a_planted_bad_object_fails_validation(
    tmp_path: Path, rendered_root: Path, obj: dict, expected: str, needs_crds: bool
) -> None:
    tree = tmp_path / "manifests"
    tree.mkdir()
    # One good object beside the bad one: the bad one must still be caught.
    good = next((rendered_root / "dev" / "manifests" / "lakehouse").glob("Secret-*.yaml"))
    (tree / good.name).write_text(good.read_text())
    (tree / "bad.yaml").write_text(yaml.safe_dump(obj))
    report = kube.validate_tree(tree, "1.34.0")
    if needs_crds and not kube.crds_loaded():
        # No CRDs here: the custom resource is deferred to the platform tier, never passed.
        assert report.errors == []
        assert report.deferred == [f"bad.yaml: {obj['apiVersion']} {obj['kind']}"]
        return
    assert len(report.errors) >= 1
    assert all(e.startswith("bad.yaml") for e in report.errors)
    assert expected in "\n".join(report.errors)


def test_a_scan_of_nothing_fails(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    with pytest.raises(kube.ScanError, match="no Kubernetes object found"):
        kube.validate_tree(tmp_path / "manifests", "1.34.0")


PLANTED_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "kafkas.kafka.strimzi.io"},
    "spec": {
        "group": "kafka.strimzi.io",
        "names": {"kind": "Kafka", "plural": "kafkas"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "kafka": {
                                        "type": "object",
                                        "properties": {"listeners": {"type": "array"}},
                                    }
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def planted_crds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A CRD folder holding one small Kafka CRD, active for one test."""
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "kafka.yaml").write_text(yaml.safe_dump(PLANTED_CRD))
    monkeypatch.setenv(kube.CRD_ENV, str(folder))
    kube.crd_schemas.cache_clear()
    yield folder
    kube.crd_schemas.cache_clear()


def test_with_crds_a_custom_resource_is_checked_strictly(planted_crds: Path) -> None:
    report = kube.Report()
    good = {**BAD_KAFKA, "spec": {"kafka": {"listeners": []}}}
    kube.validate_object(good, "1.34.0", report, "good")
    kube.validate_object(BAD_KAFKA, "1.34.0", report, "bad")
    assert report.custom == 2
    assert report.deferred == []
    assert len(report.errors) == 1
    assert report.errors[0].startswith("bad: spec.kafka: ")
    assert "listners" in report.errors[0]


def test_with_crds_a_platform_group_kind_no_crd_serves_fails(planted_crds: Path) -> None:
    report = kube.Report()
    kube.validate_object(BAD_TENANT, "1.34.0", report, "tenant")
    assert report.errors == [
        "tenant: minio.min.io/v2 Tenant is not served by the CRDs of chart minio-operator"
    ]


def test_a_crd_folder_that_is_not_there_fails_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(kube.CRD_ENV, str(tmp_path / "nowhere"))
    kube.crd_schemas.cache_clear()
    try:
        with pytest.raises(kube.ScanError, match=r"LAKEHOUSE_CRD_DIR=.*nowhere is not a folder"):
            kube.crd_schemas()
    finally:
        kube.crd_schemas.cache_clear()
