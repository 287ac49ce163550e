"""Small builders for Kubernetes objects with secure defaults (used by every component)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import chart_cache
from .settings import Chart, Size

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "lakehouse"}


def meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    """Object metadata with an explicit name (never auto-named) and the platform's labels."""
    out: dict[str, Any] = {"name": name, "labels": {**MANAGED_BY, **labels}}
    if namespace:
        out["namespace"] = namespace
    return out


def pod_security(uid: int = 10001) -> dict[str, Any]:
    """Pod-level security context that satisfies the `restricted` Pod Security Standard."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security(read_only_root: bool = True) -> dict[str, Any]:
    """Container-level security context: non-root, no privilege escalation, no capabilities."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def secret(
    resource_name: str,
    name: str,
    namespace: str,
    string_data: dict[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
    secret_type: str = "Opaque",  # noqa: S107 (a Secret type, not a password)
) -> k8s.core.v1.Secret:
    """A Secret whose values Pulumi keeps encrypted in state."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata=meta(name, namespace),
        type=secret_type,
        string_data={k: pulumi.Output.secret(v) for k, v in string_data.items()},
        opts=opts,
    )


def helm_release(
    resource_name: str,
    chart: Chart,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A Helm release pinned to the version catalog's exact chart version.

    With a chart cache active (`LAKEHOUSE_CHART_CACHE`), the release installs the cached package,
    checked against its pinned sha256: what runs is what the platform tier rendered.
    """
    cache = chart_cache.active_cache()
    is_oci = chart.repo.startswith("oci://")
    if cache is not None:
        source = str(chart_cache.verified_path(chart.chart, chart, cache))
        repository_opts = None
    else:
        source = f"{chart.repo}/{chart.chart}" if is_oci else chart.chart
        repository_opts = None if is_oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo)
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=resource_name,
            chart=source,
            version=chart.version,
            repository_opts=repository_opts,
            namespace=namespace,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            timeout=900,
            values=values,
        ),
        opts=opts,
    )


def pdb(
    resource_name: str,
    namespace: str,
    selector: dict[str, str],
    size: Size,
    opts: pulumi.ResourceOptions,
) -> k8s.policy.v1.PodDisruptionBudget | None:
    """A PodDisruptionBudget (maxUnavailable 1) for a workload that runs more than one pod."""
    if size.replicas < 2:
        return None
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name,
        metadata=meta(resource_name, namespace),
        spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        opts=opts,
    )


def service_monitor(
    resource_name: str,
    namespace: str,
    selector: dict[str, str],
    port: str,
    path: str,
    opts: pulumi.ResourceOptions,
    basic_auth_secret: str | None = None,
) -> k8s.apiextensions.CustomResource:
    """A Prometheus Operator ServiceMonitor next to the service it scrapes."""
    endpoint: dict[str, Any] = {"port": port, "path": path, "interval": "30s"}
    if basic_auth_secret:
        endpoint["basicAuth"] = {
            "username": {"name": basic_auth_secret, "key": "username"},
            "password": {"name": basic_auth_secret, "key": "password"},
        }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=meta(resource_name, namespace),
        spec={
            "selector": {"matchLabels": selector},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [endpoint],
        },
        opts=opts,
    )


def pod_monitor(
    resource_name: str,
    namespace: str,
    selector: dict[str, Any],
    port: str,
    path: str,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A Prometheus Operator PodMonitor for pods an operator manages (no Service of ours)."""
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="monitoring.coreos.com/v1",
        kind="PodMonitor",
        metadata=meta(resource_name, namespace),
        spec={
            "selector": selector,
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [{"port": port, "path": path, "interval": "30s"}],
        },
        opts=opts,
    )


def child(parent: pulumi.Resource, *depends_on: pulumi.Resource | None) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, with explicit ordering."""
    deps = [d for d in depends_on if d is not None]
    return pulumi.ResourceOptions(parent=parent, depends_on=deps or None)
