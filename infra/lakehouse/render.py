"""Run the program under Pulumi's mocks and write every object it declares (no cluster, no CLI).

`python -m lakehouse.render --env dev --out DIR` writes:

- `DIR/manifests/<namespace>/<Kind>-<name>.yaml`: every Kubernetes object, one per file;
- `DIR/helm/<release>.yaml`: every Helm release as its own record (chart, version, repo, values);
- `DIR/other.yaml`: the other resources (providers, passwords, the cluster itself), without values;
- `DIR/summary.json`: counts per kind.

Provider-computed outputs (generated passwords, the kubeconfig) are faked with deterministic
values so that a test can follow a generated password into the Secrets that use it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.rpc import _special_secret_sig  # the marker mocks use for secret values

from . import settings as settings_mod
from .program import build

SECRET_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 (the marker key, not a secret)
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
HELM_TYPE = "kubernetes:helm.sh/v3:Release"
CUSTOM_RESOURCE_PREFIX = "kubernetes:"


def fake_password(name: str, length: int) -> str:
    """The mock value of a RandomPassword: deterministic, unique per resource."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return (digest * (length // len(digest) + 1))[:length]


def fake_bcrypt(name: str) -> str:
    """The mock value of RandomPassword.bcrypt_hash (shaped like a real `$2a$10$` hash)."""
    return "$2a$10$" + hashlib.sha256(("bcrypt" + name).encode()).hexdigest()[:53]


def _plain(value: Any, secret_paths: list[str], path: str = "") -> Any:
    """Unwrap secret markers (remembering where they were) and turn 3.0 back into 3."""
    if isinstance(value, dict):
        if value.get(SECRET_KEY) == _special_secret_sig:
            secret_paths.append(path or ".")
            return _plain(value.get("value"), secret_paths, path)
        return {k: _plain(v, secret_paths, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, secret_paths, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Recorded:
    """One resource the program declared, with its (plain) inputs."""

    type: str
    name: str
    inputs: dict[str, Any]
    secret_paths: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    urn: str = ""
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    provider: str = ""

    @property
    def is_kubernetes_object(self) -> bool:
        """True for objects that end up in the cluster (not providers, not Helm releases)."""
        return (
            self.type.startswith(CUSTOM_RESOURCE_PREFIX)
            and self.type != HELM_TYPE
            and "kind" in self.inputs
            and "apiVersion" in self.inputs
        )

    @property
    def is_helm_release(self) -> bool:
        """True for `helm.v3.Release` records."""
        return self.type == HELM_TYPE


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock engine, also noting each resource's URN, parent, provider and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        """Register as the mock engine does, then attach the graph facts to the record."""
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            # Registrations run on several threads: take the record this thread just made.
            record = self.recording.last.record
            record.urn = response.urn
            record.parent = request.parent
            record.dependencies = tuple(request.dependencies)
            record.provider = request.provider
        return response


class RecordingMocks(pulumi_mocks.Mocks):
    """Records every resource; fakes the outputs a real provider would compute."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self.last = threading.local()

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record the resource and return its outputs (inputs plus faked computed values)."""
        outputs = dict(args.inputs)
        plain_inputs = _plain(args.inputs, [])
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = fake_password(args.name, int(plain_inputs.get("length", 16)))
            outputs["bcryptHash"] = fake_bcrypt(args.name)
        elif args.typ == "random:index/randomBytes:RandomBytes":
            raw = hashlib.sha256(args.name.encode()).digest()[: int(plain_inputs.get("length", 32))]
            outputs["base64"] = base64.b64encode(raw).decode()
            outputs["hex"] = raw.hex()
        elif args.typ == "command:local:Command":
            outputs["stdout"] = FAKE_KUBECONFIG
            outputs["stderr"] = ""
        elif args.typ == "digitalocean:index/kubernetesCluster:KubernetesCluster":
            outputs["kubeConfigs"] = [{"rawConfig": FAKE_KUBECONFIG}]
            outputs["endpoint"] = "https://mock.k8s.ondigitalocean.com"
        secret_paths: list[str] = []
        inputs = _plain(args.inputs, secret_paths)
        record = Recorded(args.typ, args.name, inputs, secret_paths, _plain(outputs, []))
        self.records.append(record)
        self.last.record = record
        return f"{args.name}-id", outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list | None]:
        """No provider functions are used by the program."""
        return {}, None


@dataclass
class Rendering:
    """What one run of the program under mocks declared."""

    settings: settings_mod.Settings
    records: list[Recorded]
    exports: dict[str, Any]

    @property
    def objects(self) -> list[Recorded]:
        """Kubernetes objects only."""
        return [r for r in self.records if r.is_kubernetes_object]

    @property
    def releases(self) -> list[Recorded]:
        """Helm releases only."""
        return [r for r in self.records if r.is_helm_release]

    def by_kind(self, kind: str) -> list[Recorded]:
        """Objects of one kind."""
        return [r for r in self.objects if r.inputs["kind"] == kind]

    def get(self, kind: str, name: str, namespace: str | None = None) -> Recorded:
        """The one object of a kind with this name (and namespace); KeyError if absent."""
        for r in self.by_kind(kind):
            meta = r.inputs.get("metadata", {})
            if meta.get("name") == name and (
                namespace is None or meta.get("namespace") == namespace
            ):
                return r
        raise KeyError(f"{kind} {namespace}/{name} not declared")

    def release(self, name: str) -> Recorded:
        """The Helm release with this name; KeyError if absent."""
        for r in self.releases:
            if r.inputs.get("name") == name:
                return r
        raise KeyError(f"Helm release {name} not declared")


def run(settings: settings_mod.Settings) -> Rendering:
    """Run the program for one environment under mocks; return every declared resource."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(
        mocks,
        project="lakehouse",
        stack=settings.name,
        preview=False,
        monitor=RecordingMonitor(mocks),
    )
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        outs = build(settings)
        return pulumi.Output.from_input(outs).apply(exports.update)

    program()
    return Rendering(settings, mocks.records, _plain(exports, []))


def release_record(r: Recorded) -> dict[str, Any]:
    """A Helm release as written by `render`: chart, version, repo, namespace and values."""
    inputs = r.inputs
    return {
        "record": "helm.v3.Release",
        "name": inputs.get("name"),
        "namespace": inputs.get("namespace"),
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "repo": (inputs.get("repositoryOpts") or {}).get("repo"),
        "values": inputs.get("values", {}),
    }


def manifest(r: Recorded) -> dict[str, Any]:
    """A Kubernetes object as written by `render`: its inputs, what the provider applies."""
    return dict(r.inputs)


def write(rendering: Rendering, out: Path) -> dict[str, Any]:
    """Write a rendering to `out` (replacing what was there); return the summary."""
    if out.exists():
        shutil.rmtree(out)
    (out / "manifests").mkdir(parents=True)
    (out / "helm").mkdir()
    seen: set[Path] = set()
    for r in rendering.objects:
        m = manifest(r)
        meta = m.get("metadata", {})
        folder = out / "manifests" / (meta.get("namespace") or "_cluster")
        folder.mkdir(exist_ok=True)
        path = folder / f"{m['kind']}-{meta.get('name', r.name)}.yaml"
        if path in seen:
            raise SystemExit(f"two objects render to {path}")
        seen.add(path)
        path.write_text(yaml.safe_dump(m, sort_keys=False))
    for r in rendering.releases:
        rec = release_record(r)
        (out / "helm" / f"{rec['name']}.yaml").write_text(yaml.safe_dump(rec, sort_keys=False))
    others = [
        {"type": r.type, "name": r.name}
        for r in rendering.records
        if not r.is_kubernetes_object and not r.is_helm_release
    ]
    (out / "other.yaml").write_text(yaml.safe_dump(others, sort_keys=False))
    summary = {
        "environment": rendering.settings.name,
        "objects": len(rendering.objects),
        "helm_releases": len(rendering.releases),
        "other_resources": len(others),
        "kinds": dict(sorted(Counter(r.inputs["kind"] for r in rendering.objects).items())),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    """CLI: render one environment to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment folder name under environments/")
    parser.add_argument("--out", required=True, type=Path, help="output folder (replaced)")
    parser.add_argument("--environments", type=Path, default=None, help="environments/ folder")
    args = parser.parse_args(argv)
    root = args.environments or settings_mod.environments_root()
    try:
        loaded = settings_mod.load(root / args.env)
    except settings_mod.SettingsError as exc:
        print(f"render: bad settings:\n{exc}", file=sys.stderr)
        return 2
    summary = write(run(loaded), args.out)
    print(
        f"rendered {args.env}: {summary['objects']} Kubernetes objects, "
        f"{summary['helm_releases']} Helm releases, {summary['other_resources']} other resources "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
