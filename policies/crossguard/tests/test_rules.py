"""Each CrossGuard rule, called the way `pulumi preview` calls it: passing and failing cases.

The PolicyPack itself (`__main__.py`) is never imported here: constructing it starts the policy
server and blocks. `validators.policies()` builds the same ResourceValidationPolicy objects.
"""

from __future__ import annotations

import copy
from typing import Any

import lakehouse_rules
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from validators import policies, validator

JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "setup", "namespace": "lakehouse"},
    "spec": {
        "template": {
            "spec": {
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                "containers": [
                    {
                        "name": "mc",
                        "image": "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "128Mi"},
                        },
                        "securityContext": {
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            }
        }
    },
}
RELEASE = {
    "name": "trino",
    "namespace": "lakehouse",
    "chart": "trino",
    "version": "1.41.0",
    "values": {
        "image": {"repository": "trinodb/trino", "tag": "476"},
        "service": {"type": "ClusterIP"},
    },
}
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {
        "name": "lakehouse",
        "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "s", "namespace": "lakehouse"},
    "spec": {"type": "ClusterIP"},
}
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "platform-endpoints"},
    "data": {"S3_ENDPOINT": "http://minio.lakehouse.svc"},
}

T_JOB = "kubernetes:batch/v1:Job"
T_RELEASE = lakehouse_rules.HELM_RELEASE
T_NS = "kubernetes:core/v1:Namespace"
T_SVC = "kubernetes:core/v1:Service"
T_CM = "kubernetes:core/v1:ConfigMap"


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of obj with one dotted path set (list items by index)."""
    out = copy.deepcopy(obj)
    node: Any = out
    *parents, last = path.split(".")
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    if value is None:
        del node[last]
    else:
        node[last] = value
    return out


C = "spec.template.spec.containers.0"

CASES = [
    # (rule, resource type, failing props, message fragment)
    ("pinned-images", T_JOB, changed(JOB, f"{C}.image", "quay.io/minio/mc:latest"), "floating tag"),
    ("pinned-images", T_JOB, changed(JOB, f"{C}.image", "quay.io/minio/mc"), "no tag"),
    ("pinned-images", T_RELEASE, changed(RELEASE, "values.image.tag", "latest"), "floating tag"),
    (
        "pinned-images",
        "kubernetes:minio.min.io/v2:Tenant",
        {
            "kind": "Tenant",
            "metadata": {"name": "t"},
            "spec": {"image": "quay.io/minio/minio:main"},
        },
        "floating tag",
    ),
    (
        "pinned-chart-versions",
        T_RELEASE,
        changed(RELEASE, "version", "1.x"),
        "not an exact version",
    ),
    ("pinned-chart-versions", T_RELEASE, changed(RELEASE, "version", None), "not an exact version"),
    ("explicit-names", T_JOB, changed(JOB, "metadata.name", None), "no metadata.name"),
    ("workload-resources", T_JOB, changed(JOB, f"{C}.resources", {}), "no requests.cpu"),
    (
        "workload-resources",
        T_JOB,
        changed(JOB, f"{C}.resources.limits.memory", None),
        "no limits.memory",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, f"{C}.securityContext.privileged", True),
        "privileged",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, f"{C}.securityContext.readOnlyRootFilesystem", False),
        "readOnlyRootFilesystem",
    ),
    (
        "workload-security",
        T_JOB,
        changed(
            changed(JOB, f"{C}.securityContext.runAsNonRoot", None),
            "spec.template.spec.securityContext.runAsNonRoot",
            None,
        ),
        "runAsNonRoot",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, f"{C}.securityContext.allowPrivilegeEscalation", None),
        "allowPrivilegeEscalation",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, "spec.template.spec.volumes", [{"name": "h", "hostPath": {"path": "/"}}]),
        "hostPath",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, "spec.template.spec.hostNetwork", True),
        "hostNetwork",
    ),
    (
        "workload-security",
        T_JOB,
        changed(JOB, f"{C}.securityContext.capabilities", {"drop": []}),
        "drop: [ALL]",
    ),
    ("no-external-services", T_SVC, changed(SERVICE, "spec.type", "LoadBalancer"), "LoadBalancer"),
    ("no-external-services", T_SVC, changed(SERVICE, "spec.type", "NodePort"), "NodePort"),
    (
        "no-external-services",
        T_RELEASE,
        changed(RELEASE, "values.service.type", "LoadBalancer"),
        "LoadBalancer",
    ),
    ("namespace-pod-security", T_NS, changed(NAMESPACE, "metadata.labels", {}), "enforce"),
    (
        "namespace-pod-security",
        T_NS,
        changed(NAMESPACE, "metadata.labels", {"pod-security.kubernetes.io/enforce": "restricted"}),
        "warn",
    ),
    ("no-secrets-in-configmaps", T_CM, changed(CONFIGMAP, "data.DB_PASSWORD", "x"), "DB_PASSWORD"),
]

PASSING = [
    ("pinned-images", T_JOB, JOB),
    ("pinned-images", T_RELEASE, RELEASE),
    ("pinned-images", T_JOB, changed(JOB, f"{C}.image", "ghcr.io/x/y@sha256:" + "a" * 64)),
    ("pinned-chart-versions", T_RELEASE, RELEASE),
    ("explicit-names", T_JOB, JOB),
    ("workload-resources", T_JOB, JOB),
    ("workload-security", T_JOB, JOB),
    ("no-external-services", T_SVC, SERVICE),
    ("no-external-services", T_RELEASE, RELEASE),
    # the ingress controller is the one allowed exception
    (
        "no-external-services",
        T_SVC,
        changed(changed(SERVICE, "spec.type", "LoadBalancer"), "metadata.namespace", "ingress"),
    ),
    (
        "no-external-services",
        T_RELEASE,
        changed(changed(RELEASE, "values.service.type", "LoadBalancer"), "namespace", "ingress"),
    ),
    ("namespace-pod-security", T_NS, NAMESPACE),
    ("no-secrets-in-configmaps", T_CM, CONFIGMAP),
]


def run_policy(rule: str, resource_type: str, props: dict[str, Any]) -> list[str]:
    """Call the rule's CrossGuard validate function as the engine would; collect violations."""
    function = validator(lakehouse_rules.RULES[rule][0])
    args = ResourceValidationArgs(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:test::lakehouse::{resource_type}::r",
        name="r",
        opts=PolicyResourceOptions(
            protect=False,
            ignore_changes=[],
            delete_before_replace=None,
            aliases=[],
            additional_secret_outputs=[],
            custom_timeouts=None,
            parent=None,
        ),
        provider=None,
    )
    reported: list[str] = []
    function(args, lambda message, urn=None: reported.append(message))
    return reported


@pytest.mark.parametrize(("rule", "resource_type", "props", "fragment"), CASES)
def test_rule_reports_a_violation(
    rule: str, resource_type: str, props: dict, fragment: str
) -> None:
    reported = run_policy(rule, resource_type, props)
    assert reported, f"{rule} let a bad resource through"
    assert any(fragment in m for m in reported), reported
    assert all(m.startswith("r: ") for m in reported)


@pytest.mark.parametrize(("rule", "resource_type", "props"), PASSING)
def test_rule_accepts_a_compliant_resource(rule: str, resource_type: str, props: dict) -> None:
    assert run_policy(rule, resource_type, props) == []


def test_every_rule_has_both_cases() -> None:
    assert {c[0] for c in CASES} == set(lakehouse_rules.RULES) == {p[0] for p in PASSING}


def test_rules_ignore_resources_they_do_not_govern() -> None:
    for rule in lakehouse_rules.RULES:
        assert run_policy(rule, "random:index/randomPassword:RandomPassword", {"length": 32}) == []


def test_the_pack_wraps_every_rule_as_a_mandatory_policy() -> None:
    built = policies()
    assert [p.name for p in built] == list(lakehouse_rules.RULES)
    assert all(isinstance(p, ResourceValidationPolicy) for p in built)
    assert {p.enforcement_level for p in built} == {EnforcementLevel.MANDATORY}
    assert all(p.description for p in built)
