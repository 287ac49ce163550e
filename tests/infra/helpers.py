"""Small lookups over a rendering shared by the infra tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lakehouse import settings
from lakehouse.render import Recorded, Rendering, run

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
_CACHE: dict[str, Rendering] = {}
DELETE = object()  # EnvCopy.edit(..., DELETE) removes a key


def rendering_of(env: str) -> Rendering:
    """Run the program for a committed environment once per test session (shared by both tiers)."""
    if env not in _CACHE:
        _CACHE[env] = run(settings.load(ENVIRONMENTS / env))
    return _CACHE[env]


def key(urn: str) -> str:
    """`type::name` of a URN (the mock engine spells parent chains differently in places)."""
    head, name = urn.rsplit("::", 1)
    return f"{head.rsplit('::', 1)[-1].rsplit('$', 1)[-1]}::{name}"


def rkey(r: Recorded) -> str:
    return f"{r.type}::{r.name}"


def depends_on(rendering: Rendering, r: Recorded) -> set[str]:
    """Every resource `r` waits for, transitively (explicit depends_on and input dependencies)."""
    by_key = {rkey(x): x for x in rendering.records}
    seen: set[str] = set()
    todo = [key(d) for d in r.dependencies]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        if k in by_key:
            todo += [key(d) for d in by_key[k].dependencies]
    return seen


def walk(value: Any) -> Iterator[Any]:
    """Every node of a nested structure."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def secret_value(rendering: Rendering, namespace: str, name: str, k: str) -> str:
    return rendering.get("Secret", name, namespace).inputs["stringData"][k]


def props(text: str) -> dict[str, str]:
    """A Java properties text as a dict."""
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
