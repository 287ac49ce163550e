"""Validating rendered objects: Kubernetes schemas for built-in kinds, CRD schemas for the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "prod")  # the committed environments every manifest test covers
CRD_ENV = "LAKEHOUSE_CRD_DIR"
# API groups of the custom resources we declare -> the pinned chart whose CRDs serve them. Without
# CRDs (a fresh clone: `make test`) a custom resource of these groups is *deferred*, counted apart,
# and checked against the CRDs taken out of those charts by `make test-platform`
# (tests/platform/crds), which also proves each group is served by the chart named here.
CUSTOM_GROUPS = {
    "argoproj.io": "argo-cd",
    "kafka.strimzi.io": "strimzi",
    "minio.min.io": "minio-operator",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "postgresql.cnpg.io": "cloudnative-pg",
}


class ScanError(AssertionError):
    """A scan that could not vouch for anything (nothing found, or something unknown)."""


def crd_dir() -> Path | None:
    """CRDs taken out of the pinned charts (`$LAKEHOUSE_CRD_DIR`), or None where there are none."""
    value = os.environ.get(CRD_ENV, "").strip()
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ScanError(f"{CRD_ENV}={path} is not a folder (make test-platform writes it)")
    return path


def crds_loaded() -> bool:
    """True when custom resources are validated against CRDs (the platform tier)."""
    return crd_dir() is not None


def _strict(schema: Any) -> Any:
    """Refuse unknown fields like the API server's strict field validation does."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> validator of the strict openAPIV3Schema, per served CRD version."""
    out: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    folder = crd_dir()
    if folder is None:
        return out
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(folder.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if version.get("served"):
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    out[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    if not out:
        raise ScanError(f"no CustomResourceDefinition found under {folder}")
    return out


@dataclass
class Report:
    """What a validation run covered and what it found."""

    builtin: int = 0
    custom: int = 0
    deferred: list[str] = field(default_factory=list)  # custom resources left for the CRD check
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.builtin + self.custom + len(self.deferred)


def validate_object(obj: dict[str, Any], k8s_version: str, report: Report, where: str) -> None:
    """Validate one object; record which kind of check covered it, or the error."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key in crd_schemas():
        report.custom += 1
        for error in sorted(crd_schemas()[key].iter_errors(obj), key=str):
            path = ".".join(str(p) for p in error.absolute_path)
            report.errors.append(f"{where}: {path}: {error.message}")
        return
    group = key[0].split("/")[0] if "/" in key[0] else ""
    if group in CUSTOM_GROUPS:
        if crds_loaded():
            report.errors.append(
                f"{where}: {key[0]} {key[1]} is not served by the CRDs of chart "
                f"{CUSTOM_GROUPS[group]}"
            )
        else:
            report.deferred.append(f"{where}: {key[0]} {key[1]}")
        return
    try:
        kubernetes_validate.validate(obj, k8s_version, strict=True)
        report.builtin += 1
    except kubernetes_validate.SchemaNotFoundError:
        report.errors.append(
            f"{where}: {key[0]} {key[1]} is neither a built-in kind nor a known CRD"
        )
    except kubernetes_validate.ValidationError as exc:
        report.builtin += 1
        report.errors.append(f"{where}: {exc.message}")


def validate_tree(manifests: Path, k8s_version: str) -> Report:
    """Validate every object under `manifests`; a tree with no object is an error, not a pass."""
    report = Report()
    files = sorted(manifests.rglob("*.yaml"))
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                validate_object(doc, k8s_version, report, str(path.relative_to(manifests)))
    if report.total == 0:
        raise ScanError(f"no Kubernetes object found under {manifests}")
    return report
