"""Validating rendered objects: Kubernetes schemas for built-in kinds, CRD schemas for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "prod")  # the committed environments every manifest test covers
CRD_DIR = REPO.parent / "shared" / "schemas" / "crds"


class ScanError(AssertionError):
    """A scan that could not vouch for anything (nothing found, or something unknown)."""


def crd_dir() -> Path:
    """The shared CRD copies, next to the repository (`../shared/schemas/crds`)."""
    if not CRD_DIR.is_dir():
        raise ScanError(
            f"CRD schemas not found at {CRD_DIR}: the repository expects shared/ beside it "
            "(../shared/schemas/crds relative to the repository root)"
        )
    return CRD_DIR


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
    out = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(crd_dir().rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if version.get("served"):
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    out[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    if not out:
        raise ScanError(f"no CustomResourceDefinition found under {CRD_DIR}")
    return out


@dataclass
class Report:
    """What a validation run covered and what it found."""

    builtin: int = 0
    custom: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.builtin + self.custom


def validate_object(obj: dict[str, Any], k8s_version: str, report: Report, where: str) -> None:
    """Validate one object; record which kind of check covered it, or the error."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key in crd_schemas():
        report.custom += 1
        for error in sorted(crd_schemas()[key].iter_errors(obj), key=str):
            path = ".".join(str(p) for p in error.absolute_path)
            report.errors.append(f"{where}: {path}: {error.message}")
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
