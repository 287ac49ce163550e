"""The platform's rules as plain functions over (resource type, properties): no dependencies.

The CrossGuard pack (`__main__.py`) runs them on every resource of a real `pulumi preview/up`;
the infra tests run the same functions on every resource the program declares under mocks;
the checkov custom checks encode the same rules for rendered manifests.

Each rule returns a list of violation messages (empty: the resource complies).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

FLOATING_TAGS = frozenset({"latest", "stable", "main", "master", "edge", "nightly", "dev", "head"})
SEMVER = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.\-]+)?$")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)
# The one namespace whose Service may be reachable from outside the cluster.
INGRESS_NAMESPACE = "ingress"
EXTERNAL_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})

Rule = Callable[[str, dict[str, Any]], list[str]]


def kind_of(resource_type: str, props: dict[str, Any]) -> str:
    """The Kubernetes kind of a resource ("" for non-Kubernetes resources)."""
    if not resource_type.startswith("kubernetes:") or resource_type == HELM_RELEASE:
        return ""
    return str(props.get("kind") or resource_type.rsplit(":", 1)[-1])


def pod_spec(kind: str, props: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec inside a workload object, or None."""
    spec = props.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec"
        )
    if kind in WORKLOAD_KINDS:
        return (spec.get("template") or {}).get("spec")
    return None


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of a pod spec (init containers included)."""
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def image_problem(ref: str) -> str | None:
    """Why an image reference is not immutable (None if it is)."""
    name, _, digest = ref.partition("@")
    if digest:
        return None if re.fullmatch(r"sha256:[0-9a-f]{64}", digest) else f"{ref}: bad digest"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{ref}: no tag"
    tag = last.rsplit(":", 1)[1]
    if tag.lower() in FLOATING_TAGS:
        return f"{ref}: floating tag {tag!r}"
    return None


def _images_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Image references anywhere: `image`/`imageName` strings and {repository, tag} maps."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if key in ("image", "imageName") and isinstance(item, str):
                yield here, item
            elif isinstance(item, dict) and "repository" in item and key.lower().endswith("image"):
                tag = item.get("tag") or item.get("digest")
                ref = f"{item['repository']}{'@' if str(tag).startswith('sha256:') else ':'}{tag}"
                yield here, ref if tag else str(item["repository"])
            else:
                yield from _images_in(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _images_in(item, f"{path}[{i}]")


def pinned_images(resource_type: str, props: dict[str, Any]) -> list[str]:
    """Every image (objects, custom resources, Helm values) is pinned by version tag or digest."""
    found = _images_in(props.get("values") if resource_type == HELM_RELEASE else props)
    return [f"{path}: {problem}" for path, ref in found if (problem := image_problem(ref))]


def pinned_chart(resource_type: str, props: dict[str, Any]) -> list[str]:
    """A Helm release names an exact chart version."""
    if resource_type != HELM_RELEASE:
        return []
    version = str(props.get("version") or "")
    return [] if SEMVER.match(version) else [f"chart version {version!r} is not an exact version"]


def explicit_name(resource_type: str, props: dict[str, Any]) -> list[str]:
    """Kubernetes objects carry an explicit metadata.name (no auto-naming, stable renders)."""
    kind = kind_of(resource_type, props)
    if not kind or kind == "CustomResourceDefinition":
        return []
    return [] if (props.get("metadata") or {}).get("name") else [f"{kind} has no metadata.name"]


def workload_resources(resource_type: str, props: dict[str, Any]) -> list[str]:
    """Every container of a workload declares CPU and memory requests and limits."""
    spec = pod_spec(kind_of(resource_type, props), props)
    if spec is None:
        return []
    out = []
    for c in containers(spec):
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for quantity in ("cpu", "memory"):
                if not (res.get(part) or {}).get(quantity):
                    out.append(f"container {c.get('name')}: no {part}.{quantity}")
    return out


def workload_security(resource_type: str, props: dict[str, Any]) -> list[str]:
    """Workload pods run as non-root, unprivileged, read-only root, no host access."""
    spec = pod_spec(kind_of(resource_type, props), props)
    if spec is None:
        return []
    out = []
    pod_sc = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            out.append(f"pod sets {flag}")
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            out.append(f"volume {v.get('name')} is a hostPath")
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        name = c.get("name")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            out.append(f"container {name}: runAsNonRoot is not true")
        if sc.get("runAsUser") == 0 or (pod_sc.get("runAsUser") == 0 and "runAsUser" not in sc):
            out.append(f"container {name}: runs as UID 0")
        if sc.get("privileged"):
            out.append(f"container {name}: privileged")
        if sc.get("allowPrivilegeEscalation", True):
            out.append(f"container {name}: allowPrivilegeEscalation is not false")
        if not sc.get("readOnlyRootFilesystem"):
            out.append(f"container {name}: readOnlyRootFilesystem is not true")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            out.append(f"container {name}: capabilities are not dropped (drop: [ALL])")
    return out


def _service_types(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if key == "type" and isinstance(item, str) and item in EXTERNAL_SERVICE_TYPES:
                yield here, item
            else:
                yield from _service_types(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _service_types(item, f"{path}[{i}]")


def no_external_services(resource_type: str, props: dict[str, Any]) -> list[str]:
    """No Service of type LoadBalancer/NodePort, except the ingress controller's."""
    if resource_type == HELM_RELEASE:
        if props.get("namespace") == INGRESS_NAMESPACE:
            return []
        return [f"values {path} = {t}" for path, t in _service_types(props.get("values") or {})]
    if kind_of(resource_type, props) != "Service":
        return []
    if (props.get("metadata") or {}).get("namespace") == INGRESS_NAMESPACE:
        return []
    t = (props.get("spec") or {}).get("type")
    return [f"Service type {t}"] if t in EXTERNAL_SERVICE_TYPES else []


def namespace_pod_security(resource_type: str, props: dict[str, Any]) -> list[str]:
    """Every Namespace enforces a Pod Security level (and warns/audits at restricted)."""
    if kind_of(resource_type, props) != "Namespace":
        return []
    labels = (props.get("metadata") or {}).get("labels") or {}
    out = []
    if labels.get("pod-security.kubernetes.io/enforce") not in (
        "restricted",
        "baseline",
        "privileged",
    ):
        out.append("no pod-security.kubernetes.io/enforce label")
    for mode in ("warn", "audit"):
        if labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted":
            out.append(f"pod-security.kubernetes.io/{mode} is not restricted")
    return out


SECRET_WORDS = re.compile(r"(password|secret|token|private[_-]?key)", re.IGNORECASE)


def no_secrets_in_configmaps(resource_type: str, props: dict[str, Any]) -> list[str]:
    """ConfigMaps carry no key that names a password, secret or token."""
    if kind_of(resource_type, props) != "ConfigMap":
        return []
    return [
        f"ConfigMap key {k!r} looks secret"
        for k in (props.get("data") or {})
        if SECRET_WORDS.search(k)
    ]


RULES: dict[str, tuple[Rule, str]] = {
    "pinned-images": (pinned_images, "mandatory"),
    "pinned-chart-versions": (pinned_chart, "mandatory"),
    "explicit-names": (explicit_name, "mandatory"),
    "workload-resources": (workload_resources, "mandatory"),
    "workload-security": (workload_security, "mandatory"),
    "no-external-services": (no_external_services, "mandatory"),
    "namespace-pod-security": (namespace_pod_security, "mandatory"),
    "no-secrets-in-configmaps": (no_secrets_in_configmaps, "mandatory"),
}


def check(resource_type: str, props: dict[str, Any]) -> dict[str, list[str]]:
    """Run every rule on one resource; return {rule name: violations} for the rules it breaks."""
    out = {}
    for name, (rule, _level) in RULES.items():
        problems = rule(resource_type, props)
        if problems:
            out[name] = problems
    return out
