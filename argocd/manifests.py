"""Building what ArgoCD syncs per environment with `kubectl kustomize`, as the tests see it.

`python argocd/manifests.py ENV [OUT]` is `make manifests`: the root (argocd/<env>) and one
build per app folder (environments/<env>/apps/<app>), to OUT or stdout.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


class BuildError(AssertionError):
    """kustomize refused to build a folder."""


@dataclass
class Build:
    """One environment: the root's objects and each app's objects, plus where they were written."""

    env: str
    out: Path
    root: list[dict[str, Any]] = field(default_factory=list)
    apps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def objects(self) -> list[tuple[str, dict[str, Any]]]:
        """(app or "argocd", object) for every object of the environment."""
        return [("argocd", o) for o in self.root] + [
            (app, o) for app, objs in self.apps.items() for o in objs
        ]


def kustomize(folder: Path) -> str:
    """`kubectl kustomize folder` (kustomize v5 built in); a failed build raises BuildError."""
    result = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise BuildError(f"kubectl kustomize {folder}: {result.stderr.strip()}")
    return result.stdout


def app_folders(env: str, repo: Path = REPO) -> list[Path]:
    """The folders the ApplicationSet's git directory generator turns into Applications."""
    return sorted(p for p in (repo / "environments" / env / "apps").glob("*") if p.is_dir())


def build(env: str, out: Path, repo: Path = REPO) -> Build:
    """Build the root and every app of `env`; write `out/argocd.yaml` and `out/apps/<app>.yaml`."""
    result = Build(env, out)
    (out / "apps").mkdir(parents=True, exist_ok=True)
    text = kustomize(repo / "argocd" / env)
    (out / "argocd.yaml").write_text(text)
    result.root = [d for d in yaml.safe_load_all(text) if d]
    for folder in app_folders(env, repo):
        text = kustomize(folder)
        (out / "apps" / f"{folder.name}.yaml").write_text(text)
        result.apps[folder.name] = [d for d in yaml.safe_load_all(text) if d]
    return result


def main(argv: list[str]) -> int:
    """`make manifests`: to files under OUT, or to stdout."""
    if not argv or len(argv) > 2:
        print("usage: manifests.py ENV [OUT]", file=sys.stderr)
        return 2
    env = argv[0]
    if not (REPO / "argocd" / env).is_dir():
        known = sorted(
            p.name
            for p in (REPO / "argocd").glob("*")
            if (p / "kustomization.yaml").is_file() and p.name != "base"
        )
        print(f"no argocd/{env}: environments are {known}", file=sys.stderr)
        return 2
    if len(argv) == 2:
        b = build(env, Path(argv[1]).resolve())
        print(f"{env}: {len(b.root)} root objects, {len(b.apps)} apps -> {b.out}")
        for app, objs in b.apps.items():
            print(f"  {app}: {len(objs)} objects")
        return 0
    print(f"# --- argocd/{env}")
    print(kustomize(REPO / "argocd" / env), end="")
    for folder in app_folders(env):
        print(f"---\n# --- {folder.relative_to(REPO)}")
        print(kustomize(folder), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
