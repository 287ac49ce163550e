"""Image references per environment: bump (CI, dev), promote (dev -> prod), verify (PR check).

Each environment's image references live in one file, `environments/<env>/images/
kustomization.yaml` (a kustomize Component with only `images:`). A reference is
`<registry>/<name>:<semver>-g<sha>@sha256:<digest>`: the tag says which release and commit, the
digest says exactly which bytes run.

"Ran" is recorded by git: a reference ran in an environment once a commit reachable from HEAD
set it in that environment's images file. dev syncs automatically (prune + self-heal) from the
main branch, so a reference merged into `environments/dev/images` is what dev ran. A reference
only in the working tree, or on a branch never merged, never ran.

    promote.py promote --from dev --to prod [--summary FILE]   # writes only the target's file
    promote.py bump --env dev --image ingestion=REF [...]       # CI after pushing images
    promote.py verify --env prod --source dev                   # every prod ref ran in dev

Standard library + PyYAML only (runs in the infra environment or CI's system Python).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TAG = re.compile(r"^\d+\.\d+\.\d+-g[0-9a-f]{7,40}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
UNBUILT = "sha256:" + "0" * 64  # placeholder before CI's first build: never promotable
FLOATING = {"latest", "stable", "main", "master", "edge", "nightly", "dev", "head"}
HEADER = """\
# Image references of the {env} environment, and nothing else. Written by CI (dev, on merge to
# main) and by `make promote FROM=dev TO=prod` (prod); never edited by hand. Every reference
# is version (semver + git sha) plus digest. The all-zero digest marks "not built yet": it
# renders, ArgoCD cannot pull it, and promotion refuses it.
"""


class PromotionError(Exception):
    """A reference or a request that must not go through; the message says which and why."""


@dataclass(frozen=True, order=True)
class ImageRef:
    """One entry of an images file: placeholder name -> registry name, tag, digest."""

    name: str  # placeholder used by apps/ (pantrypulse/<deployable>)
    new_name: str
    tag: str
    digest: str

    @property
    def ref(self) -> str:
        """The full reference the cluster pulls: name:tag@digest."""
        tag = f":{self.tag}" if self.tag else ""
        return f"{self.new_name}{tag}@{self.digest}"


def images_path(env: str, root: Path = REPO) -> Path:
    """The one file with an environment's image references."""
    return root / "environments" / env / "images" / "kustomization.yaml"


def parse(text: str, where: str) -> dict[str, ImageRef]:
    """The images of one file, keyed by placeholder name; any other content is refused."""
    doc = yaml.safe_load(text) or {}
    extra = set(doc) - {"apiVersion", "kind", "images"}
    if extra or doc.get("kind") != "Component":
        raise PromotionError(
            f"{where}: only a Component with `images:` allowed, got {sorted(extra)}"
        )
    out = {}
    for item in doc.get("images") or []:
        unknown = set(item) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise PromotionError(f"{where}: {item.get('name')}: unknown keys {sorted(unknown)}")
        ref = ImageRef(
            item["name"],
            item.get("newName", item["name"]),
            str(item.get("newTag") or ""),
            str(item.get("digest") or ""),
        )
        out[ref.name] = ref
    return out


def check_ref(ref: ImageRef, where: str) -> None:
    """Refuse floating tags, tags without a digest, bad digests, and the not-built placeholder."""
    if ref.tag.lower() in FLOATING:
        raise PromotionError(f"{where}: {ref.name}: tag {ref.tag!r} is mutable; refusing")
    if not ref.digest:
        raise PromotionError(
            f"{where}: {ref.name}: {ref.new_name}:{ref.tag} has no digest; promotion needs "
            "the exact image (name:version@sha256:...)"
        )
    if not DIGEST.match(ref.digest):
        raise PromotionError(f"{where}: {ref.name}: bad digest {ref.digest!r}")
    if ref.digest == UNBUILT:
        raise PromotionError(f"{where}: {ref.name}: not built yet (placeholder digest)")
    if not TAG.match(ref.tag):
        raise PromotionError(
            f"{where}: {ref.name}: tag {ref.tag!r} is not <semver>-g<git sha>; refusing"
        )


def render(env: str, images: dict[str, ImageRef]) -> str:
    """The images file text (deterministic: sorted by placeholder name)."""
    lines = [
        HEADER.format(env=env).rstrip("\n"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1",
        "kind: Component",
        "images:",
    ]
    for ref in sorted(images.values()):
        lines += [f"  - name: {ref.name}", f"    newName: {ref.new_name}"]
        if ref.tag:
            lines.append(f"    newTag: {ref.tag}")
        lines.append(f"    digest: {ref.digest}")
    return "\n".join(lines) + "\n"


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise PromotionError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def ran(env: str, root: Path = REPO, rev: str = "HEAD") -> set[tuple[str, str, str]]:
    """Every (placeholder, registry name, digest) some commit reachable from `rev` set for env."""
    path = images_path(env, root).relative_to(root).as_posix()
    out: set[tuple[str, str, str]] = set()
    for commit in _git(root, "log", "--format=%H", rev, "--", path).split():
        try:
            text = _git(root, "show", f"{commit}:{path}")
        except PromotionError:  # the commit deleted the file
            continue
        for ref in parse(text, f"{path}@{commit[:8]}").values():
            out.add((ref.name, ref.new_name, ref.digest))
    return out


def promote(source: str, target: str, root: Path = REPO) -> tuple[bool, str]:
    """Write the target's images file from the source's; return (changed, summary)."""
    if source == target:
        raise PromotionError("FROM and TO are the same environment")
    src_path, dst_path = images_path(source, root), images_path(target, root)
    for p in (src_path, dst_path):
        if not p.is_file():
            raise PromotionError(f"{p.relative_to(root)} not found")
    src = parse(src_path.read_text(), str(src_path.relative_to(root)))
    dst = parse(dst_path.read_text(), str(dst_path.relative_to(root)))
    if not src:
        raise PromotionError(f"{src_path.relative_to(root)} lists no image")
    history = ran(source, root)
    for ref in src.values():
        check_ref(ref, f"{source}")
        if (ref.name, ref.new_name, ref.digest) not in history:
            raise PromotionError(
                f"{source}: {ref.name}: {ref.ref} never ran in {source} (no commit on this "
                f"branch set it in {src_path.relative_to(root)}); merge it to {source} first"
            )
    new = dict(dst)
    rows = []
    for name, ref in sorted(src.items()):
        old = dst.get(name)
        if old != ref:
            rows.append(f"| `{name}` | {old.ref if old else '(none)'} | {ref.ref} |")
        new[name] = ref
    if not rows:
        return False, f"{target} already runs what {source} runs: nothing to promote.\n"
    text = render(target, new)
    dst_path.write_text(text)
    summary = "\n".join(
        [
            f"## Promote {source} -> {target}",
            "",
            f"Changes only `{dst_path.relative_to(root)}`. Every reference below ran in "
            f"{source} (set by a commit on this branch) and is pinned by digest.",
            "",
            f"| image | {target} before | {target} after |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
    return True, summary


def bump(env: str, updates: dict[str, str], root: Path = REPO) -> str:
    """Set references of env from `deployable=registry/name:tag@sha256:...` (CI after a push)."""
    path = images_path(env, root)
    current = parse(path.read_text(), str(path.relative_to(root)))
    for deployable, full in updates.items():
        name = f"pantrypulse/{deployable}"
        if name not in current:
            raise PromotionError(f"{env}: unknown image {deployable!r}")
        image, _, digest = full.partition("@")
        new_name, _, tag = (
            image.rpartition(":")
            if ":" in image.rsplit("/", 1)[-1]
            else (
                image,
                "",
                "",
            )
        )
        ref = ImageRef(name, new_name, tag, digest)
        check_ref(ref, env)
        current[name] = ref
    path.write_text(render(env, current))
    return ", ".join(f"{k}={v}" for k, v in sorted(updates.items()))


def verify(env: str, source: str, root: Path = REPO) -> list[str]:
    """Problems with env's references: unpinned, or never ran in `source` (CI on every PR)."""
    path = images_path(env, root)
    history = ran(source, root)
    problems = []
    for ref in parse(path.read_text(), str(path.relative_to(root))).values():
        if ref.digest == UNBUILT:
            continue  # the bootstrap placeholder: nothing runs yet, nothing to compare
        try:
            check_ref(ref, env)
        except PromotionError as exc:
            problems.append(str(exc))
            continue
        if (ref.name, ref.new_name, ref.digest) not in history:
            problems.append(f"{env}: {ref.name}: {ref.ref} never ran in {source}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """The command line; exit 2 on a refusal, 1 when `verify` finds problems."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("promote", help="copy the source's image references to the target")
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--to", dest="target", required=True)
    p.add_argument("--summary", type=Path, help="also write the summary here (PR body)")
    b = sub.add_parser("bump", help="set image references of an environment (CI)")
    b.add_argument("--env", required=True)
    b.add_argument("--image", action="append", default=[], help="deployable=name:tag@sha256:...")
    v = sub.add_parser("verify", help="every reference of --env ran in --source")
    v.add_argument("--env", required=True)
    v.add_argument("--source", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "promote":
            _changed, summary = promote(args.source, args.target)
            print(summary, end="")
            if args.summary:
                args.summary.write_text(summary)
        elif args.command == "bump":
            updates = dict(i.split("=", 1) for i in args.image)
            if not updates:
                raise PromotionError("bump needs at least one --image deployable=ref")
            print(f"{args.env}: {bump(args.env, updates)}")
        else:
            problems = verify(args.env, args.source)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            print(f"{args.env}: every image reference is pinned and ran in {args.source}")
    except PromotionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
