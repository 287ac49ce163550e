"""`make promote`: writes only the target's images file, from references the source ran."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import promote
import pytest
from kube import REPO

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
GOOD = {
    "ingestion": f"ghcr.io/pantrypulse/ingestion:0.2.0-g1a2b3c4@{DIGEST_A}",
    "dbt": f"ghcr.io/pantrypulse/dbt:0.2.0-g1a2b3c4@{DIGEST_A}",
    "dags": f"ghcr.io/pantrypulse/dags:0.2.0-g1a2b3c4@{DIGEST_A}",
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the committed environments (dev, prod) and an unrelated file."""
    root = tmp_path / "repo"
    shutil.copytree(
        REPO / "environments", root / "environments", ignore=shutil.ignore_patterns(".venv")
    )
    (root / "README.md").write_text("unrelated\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "ci")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bootstrap")
    return root


def merge_to_dev(root: Path, updates: dict[str, str]) -> None:
    """What CI does after pushing images: bump dev and merge (dev then runs them)."""
    promote.bump("dev", updates, root)
    git(root, "commit", "-q", "-am", "dev: bump images")


def refs(root: Path, env: str) -> dict[str, str]:
    path = promote.images_path(env, root)
    return {k: v.ref for k, v in promote.parse(path.read_text(), env).items()}


def test_committed_images_files_hold_only_image_references() -> None:
    for env in ("dev", "prod"):
        path = promote.images_path(env)
        images = promote.parse(path.read_text(), env)
        assert set(images) == {f"pantrypulse/{d}" for d in GOOD}
        # The file is exactly what the tools write (so a bump or promotion diff is minimal).
        assert promote.render(env, images) == path.read_text()


def test_promotion_copies_what_dev_ran_and_touches_only_prod(repo: Path) -> None:
    merge_to_dev(repo, GOOD)
    changed, summary = promote.promote("dev", "prod", repo)
    assert changed
    status = git(repo, "status", "--porcelain").splitlines()
    assert status == [" M environments/prod/images/kustomization.yaml"]
    diff = git(repo, "diff", "--name-only")
    assert all(p.startswith("environments/prod/") for p in diff.split())
    assert refs(repo, "prod") == {f"pantrypulse/{k}": v for k, v in GOOD.items()}
    for ref in GOOD.values():
        assert ref in summary
    assert "sha256:0000" in summary  # what prod ran before is shown too
    # Idempotent: a second run has nothing to do and writes nothing.
    git(repo, "commit", "-q", "-am", "promote")
    assert promote.promote("dev", "prod", repo) == (
        False,
        "prod already runs what dev runs: nothing to promote.\n",
    )
    assert git(repo, "status", "--porcelain") == ""


def test_the_make_target_runs_and_prints_the_summary(repo: Path, tmp_path: Path) -> None:
    merge_to_dev(repo, GOOD)
    shutil.copytree(REPO / "argocd", repo / "argocd", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "add", "argocd")
    git(repo, "commit", "-q", "-m", "tools")
    summary = tmp_path / "summary.md"
    result = subprocess.run(
        [
            sys.executable,
            "argocd/promote.py",
            "promote",
            "--from",
            "dev",
            "--to",
            "prod",
            "--summary",
            str(summary),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "## Promote dev -> prod" in result.stdout
    assert summary.read_text() == result.stdout
    assert git(repo, "status", "--porcelain").split() == [
        "M",
        "environments/prod/images/kustomization.yaml",
    ]


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("ghcr.io/pantrypulse/ingestion:latest", "mutable"),
        (f"ghcr.io/pantrypulse/ingestion:latest@{DIGEST_B}", "mutable"),
        ("ghcr.io/pantrypulse/ingestion:0.2.0-g1a2b3c4", "no digest"),
        ("ghcr.io/pantrypulse/ingestion:0.2.0@" + DIGEST_B, "not <semver>-g<git sha>"),
        ("ghcr.io/pantrypulse/ingestion:0.2.0-g1a2b3c4@sha256:abc", "bad digest"),
    ],
)
def test_refuses_mutable_or_undigested_references(repo: Path, ref: str, why: str) -> None:
    merge_to_dev(repo, GOOD)
    # Written straight into dev's file and committed (as a careless hand edit would be).
    path = promote.images_path("dev", repo)
    images = promote.parse(path.read_text(), "dev")
    name, _, rest = ref.partition(":")
    tag, _, digest = rest.partition("@")
    images["pantrypulse/ingestion"] = promote.ImageRef("pantrypulse/ingestion", name, tag, digest)
    path.write_text(promote.render("dev", images))
    git(repo, "commit", "-q", "-am", "dev: hand edit")
    before = promote.images_path("prod", repo).read_text()
    with pytest.raises(promote.PromotionError, match=why):
        promote.promote("dev", "prod", repo)
    assert promote.images_path("prod", repo).read_text() == before
    assert git(repo, "status", "--porcelain") == ""
    # CI's bump refuses the same references before they ever reach dev.
    with pytest.raises(promote.PromotionError, match=why):
        promote.bump("dev", {"ingestion": ref}, repo)


def test_refuses_a_reference_dev_never_ran(repo: Path) -> None:
    merge_to_dev(repo, GOOD)
    # Changed in the working tree only: never merged, so dev never ran it.
    promote.bump("dev", {"dbt": f"ghcr.io/pantrypulse/dbt:0.3.0-g9f9f9f9@{DIGEST_B}"}, repo)
    with pytest.raises(promote.PromotionError, match="never ran in dev"):
        promote.promote("dev", "prod", repo)
    assert "prod" not in git(repo, "status", "--porcelain")


def test_refuses_the_not_built_placeholder(repo: Path) -> None:
    with pytest.raises(promote.PromotionError, match="not built yet"):
        promote.promote("dev", "prod", repo)
    assert git(repo, "status", "--porcelain") == ""


def test_verify_flags_a_prod_reference_dev_never_ran(repo: Path) -> None:
    merge_to_dev(repo, GOOD)
    assert promote.verify("prod", "dev", repo) == []  # placeholders: nothing runs yet
    promote.promote("dev", "prod", repo)
    assert promote.verify("prod", "dev", repo) == []
    # A hand edit of prod to an image dev never ran is caught on the pull request.
    path = promote.images_path("prod", repo)
    path.write_text(path.read_text().replace(DIGEST_A, DIGEST_B, 1))
    problems = promote.verify("prod", "dev", repo)
    assert len(problems) == 1
    assert "never ran in dev" in problems[0]


def test_refuses_anything_but_image_references_in_the_file(repo: Path) -> None:
    path = promote.images_path("dev", repo)
    path.write_text(path.read_text() + "patches:\n  - path: x.yaml\n")
    with pytest.raises(promote.PromotionError, match="only a Component with `images:`"):
        promote.promote("dev", "prod", repo)
