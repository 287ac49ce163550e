"""The CI definitions (.github/workflows) cannot run here: actionlint checks them instead."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from kube import REPO

WORKFLOWS = REPO / ".github" / "workflows"


@pytest.fixture(scope="module")
def actionlint() -> str:
    path = os.environ.get("ACTIONLINT", "")
    if not path or not Path(path).is_file():
        pytest.fail("ACTIONLINT is not set to the actionlint binary: run `make test-gitops`")
    return path


def lint(actionlint: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint, "-no-color", "-shellcheck=", "-pyflakes=", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def test_workflows_pass_actionlint(actionlint: str) -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) >= 2
    result = lint(actionlint, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_planted_bad_workflow_fails_actionlint(actionlint: str, tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.evnt.name }}\n      - uses: actions/checkout@v4\n"
        "        with: {fetch-dpth: 0}\n"
    )
    result = lint(actionlint, bad)
    assert result.returncode == 1
    assert "evnt" in result.stdout
    assert "fetch-dpth" in result.stdout


def test_the_flow_is_wired() -> None:
    ci = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    release = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    ci_runs = "\n".join(s.get("run", "") for j in ci["jobs"].values() for s in j["steps"])
    assert "make test test-gitops" in ci_runs
    assert "promote.py verify --env prod --source dev" in ci_runs
    assert list(release["jobs"]) == ["images", "bump-dev", "promotion-pr"]
    runs = "\n".join(s.get("run", "") for j in release["jobs"].values() for s in j["steps"])
    assert "promote.py bump --env dev" in runs
    assert "promote.py promote --from dev --to prod" in runs
    # The promotion branch commits only prod's images file.
    assert "git add environments/prod/images/kustomization.yaml" in runs
    built = [
        s["with"]["context"]
        for s in release["jobs"]["images"]["steps"]
        if s.get("uses", "").startswith("docker/build-push-action")
    ]
    assert sorted(built) == ["dags", "dbt", "ingestion"]
