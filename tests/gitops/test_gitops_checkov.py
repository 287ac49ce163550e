"""checkov (built-in + our CKV_LAKE_* checks) over what ArgoCD syncs and over the Dockerfiles."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import checkov_run
import kube
import pytest
import yaml
from kube import ENVIRONMENTS, REPO

HERE = Path(__file__).resolve().parent
APPS_CONFIG = HERE / "checkov-apps.yaml"
DOCKER_CONFIG = HERE / "checkov-dockerfile.yaml"
DEPLOYABLES = ("ingestion", "dbt", "dags")
PLATFORM_CONTEXT_NAMESPACES = ("pantrypulse", "superset")

PLANTED_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "careless", "namespace": "pantrypulse"},
    "spec": {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "ghcr.io/pantrypulse/ingestion:latest",
                        "securityContext": {"allowPrivilegeEscalation": True, "runAsUser": 0},
                    }
                ]
            },
        },
    },
}
PLANTED_DOCKERFILE = 'FROM python:latest\nRUN pip install pantrypulse\nCMD ["pantrypulse"]\n'


@pytest.fixture(scope="module")
def scans(built, platform_root: Path, tmp_path_factory) -> dict[str, object]:
    """Three checkov runs: manifests, Dockerfiles, and nothing at all.

    Each run costs seconds of start-up, so the planted bad objects share a run with the real
    ones, in a folder of their own.
    """
    manifests = tmp_path_factory.mktemp("gitops-all")
    for env in ENVIRONMENTS:
        shutil.copytree(built[env].out, manifests / env)
        # Context, not ours: the platform's NetworkPolicies of the namespaces our pods run in
        # (default-deny + allows, infra/lakehouse/components/cluster.py), so checkov sees that
        # every pod is covered (CKV2_K8S_6). tests/manifests scans them as the platform's.
        for ns in PLATFORM_CONTEXT_NAMESPACES:
            context = manifests / env / "platform-context" / ns
            context.mkdir(parents=True)
            for policy in (platform_root / env / "manifests" / ns).glob("NetworkPolicy-*.yaml"):
                shutil.copy(policy, context / policy.name)
    (manifests / "planted").mkdir()
    (manifests / "planted" / "careless.yaml").write_text(yaml.safe_dump(PLANTED_DEPLOYMENT))
    docker = tmp_path_factory.mktemp("dockerfiles")
    for d in (*DEPLOYABLES, "planted"):
        (docker / d).mkdir()
        if d != "planted":
            shutil.copy(REPO / d / "Dockerfile", docker / d / "Dockerfile")
    (docker / "planted" / "Dockerfile").write_text(PLANTED_DOCKERFILE)
    empty = tmp_path_factory.mktemp("gitops-empty")
    # One after the other: checkov already uses both cores, running them together is slower.
    results: dict[str, object] = {}
    for name, directory, config in (
        ("manifests", manifests, APPS_CONFIG),
        ("docker", docker, DOCKER_CONFIG),
        ("empty", empty, APPS_CONFIG),
    ):
        try:
            results[name] = checkov_run.finish(checkov_run.start(directory, config))
        except kube.ScanError as exc:
            results[name] = exc
    return results


PLANTED = "Deployment.pantrypulse.careless"


def test_synced_manifests_pass_checkov(scans, built) -> None:
    report = scans["manifests"]
    assert isinstance(report, checkov_run.CheckovReport), report
    objects = sum(len(b.objects()) for b in built.values())
    assert report.summary["resource_count"] >= objects - 4  # ArgoCD CRs may be counted or not
    assert report.summary["parsing_errors"] == 0
    # Every failure is the planted object's: ours have none.
    assert [r for _c, r in report.ids("failed") if r != PLANTED] == []
    ran = {check for check, r in report.ids("passed") if r != PLANTED}
    # Our rules ran on the workloads; image-by-digest (not skipped here) too.
    assert {"CKV_LAKE_1", "CKV_LAKE_4", "CKV_LAKE_5", "CKV_LAKE_6", "CKV_K8S_43"} <= ran
    deployments = {r for c, r in report.ids("passed") if c == "CKV_LAKE_5"}
    assert "Deployment.pantrypulse.pantrypulse-stream" in deployments
    assert "Job.superset.superset-dashboard-import" in deployments


def test_every_skip_is_explained(scans) -> None:
    report = scans["manifests"]
    assert isinstance(report, checkov_run.CheckovReport), report
    for result in report.results.get("skipped_checks", []):
        assert len((result.get("check_result") or {}).get("suppress_comment", "")) > 20
    for config in (APPS_CONFIG, DOCKER_CONFIG):
        text = config.read_text()
        for check in yaml.safe_load(text).get("skip-check") or []:
            before = text.split(f"- {check}")[0].rstrip().splitlines()[-1]
            assert before.strip().startswith("#"), (config.name, check)
            assert len(before) > 40, (config.name, check)
    assert "CKV_K8S_43" not in (yaml.safe_load(APPS_CONFIG.read_text())["skip-check"])


def test_a_planted_careless_deployment_fails(scans) -> None:
    report = scans["manifests"]
    assert isinstance(report, checkov_run.CheckovReport), report
    failed = {c for c, r in report.ids("failed") if r == PLANTED}
    assert {"CKV_LAKE_1", "CKV_LAKE_5", "CKV_LAKE_6", "CKV_K8S_43", "CKV_K8S_20"} <= failed


def test_a_scan_of_nothing_fails(scans) -> None:
    assert isinstance(scans["empty"], kube.ScanError)
    assert "scanned no resource" in str(scans["empty"])


def test_dockerfiles_pass_checkov(scans) -> None:
    report = scans["docker"]
    assert isinstance(report, checkov_run.CheckovReport), report
    assert report.summary["resource_count"] == len(DEPLOYABLES) + 1  # + the planted one
    assert [r for _c, r in report.ids("failed") if not r.startswith("/planted/")] == []
    assert report.ids("skipped") == []
    for d in DEPLOYABLES:
        ran = {c for c, r in report.ids("passed") if r.startswith(f"/{d}/")}
        assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7"} <= ran, d  # health, user, tag


def test_a_planted_bad_dockerfile_fails(scans) -> None:
    report = scans["docker"]
    assert isinstance(report, checkov_run.CheckovReport), report
    failed = {c for c, r in report.ids("failed") if r.startswith("/planted/")}
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7"} <= failed


@pytest.mark.parametrize("deployable", DEPLOYABLES)
def test_dockerfile_follows_the_image_rules(deployable: str) -> None:
    text = (REPO / deployable / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) >= 2, "multi-stage"
    for ref in froms:
        assert re.search(r"@sha256:[0-9a-f]{64}$", ref), f"{ref} not pinned by digest"
    assert "uv sync --locked --no-dev" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert text.rstrip().splitlines()[-1].startswith("CMD")
    assert "HEALTHCHECK" in text
    for label in ("version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{label}=" in text
    assert (REPO / deployable / ".dockerignore").read_text().count(".venv") == 1
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for item in copied.split():
            assert (REPO / deployable / item).exists(), f"{deployable}: COPY {item} missing"
