"""Built GitOps manifests (kustomize) and the platform program's rendering, once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for extra in (
    REPO / "infra",
    REPO / "policies" / "crossguard",
    REPO / "tests" / "infra",
    REPO / "tests" / "manifests",
    REPO / "argocd",
):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from helpers import rendering_of  # noqa: E402
from kube import ENVIRONMENTS  # noqa: E402

import manifests  # noqa: E402
from lakehouse import render  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_digitalocean warns about its own deprecated modules on import: not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_digitalocean.*")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, manifests.Build]:
    """`make manifests ENV=<env>` for every committed environment."""
    root = tmp_path_factory.mktemp("gitops")
    return {env: manifests.build(env, root / env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def platform_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make render ENV=<env> OUT=<root>/<env>` for every committed environment."""
    root = tmp_path_factory.mktemp("platform")
    for env in ENVIRONMENTS:
        render.write(rendering_of(env), root / env)
    return root
