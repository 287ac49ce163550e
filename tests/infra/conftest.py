"""Fixtures for the Pulumi program under mocks: renderings per environment, a scratch env copy."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = REPO / "environments"
for extra in (REPO / "infra", REPO / "policies" / "crossguard", REPO / "tests" / "infra"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from helpers import DELETE, rendering_of  # noqa: E402

from lakehouse import render, settings  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_digitalocean warns about its own deprecated modules on import: not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_digitalocean.*")


@pytest.fixture(scope="session")
def dev() -> render.Rendering:
    return rendering_of("dev")


@pytest.fixture(scope="session")
def prod() -> render.Rendering:
    return rendering_of("prod")


@pytest.fixture(params=["dev", "prod"], scope="session")
def rendered(request: pytest.FixtureRequest) -> render.Rendering:
    return rendering_of(request.param)


class EnvCopy:
    """A writable copy of environments/ to change one value at a time."""

    def __init__(self, root: Path):
        self.root = root

    def edit(self, env: str, file: str, dotted: str, value: object) -> None:
        """Set (or with value=DELETE remove) one key, given as a dotted path."""
        path = self.root / env / file
        data = yaml.safe_load(path.read_text())
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def load(self, env: str) -> settings.Settings:
        return settings.load(self.root / env)


@pytest.fixture
def envs(tmp_path: Path) -> EnvCopy:
    root = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, root, ignore=shutil.ignore_patterns("*.md"))
    return EnvCopy(root)
