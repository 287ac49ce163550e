"""Helpers shared by product and shop resolution: alignment, ids, display choices."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence

from pantrypulse.resolve.normalize import token_similarity


def align(
    left: Sequence[str],
    right: Sequence[Sequence[str]],
    sim: Callable[[str, str], float] = token_similarity,
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one alignment of `left` tokens to `right` slots (each slot = variants).

    Pairs are taken best first (ties by position), so the result is deterministic. Returns
    `(left_index, right_index, similarity)` for every aligned pair with similarity > 0.
    """
    pairs = []
    for i, t in enumerate(left):
        for j, variants in enumerate(right):
            s = max(sim(t, v) for v in variants)
            if s > 0:
                pairs.append((-s, i, j))
    pairs.sort()
    used_l: set[int] = set()
    used_r: set[int] = set()
    out = []
    for neg, i, j in pairs:
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        out.append((i, j, -neg))
    return out


def token_coverage(a: Sequence[str], b: Sequence[str]) -> tuple[float, float]:
    """Share of `a`'s and of `b`'s tokens (by length) matched by the other, abbreviation-aware."""
    if not a or not b:
        return (1.0, 1.0) if not a and not b else (0.0, 0.0)
    pairs = align(a, [(t,) for t in b])
    wa = sum(len(t) for t in a)
    wb = sum(len(t) for t in b)
    ma = sum(s * len(a[i]) for i, _, s in pairs)
    mb = sum(s * len(b[j]) for _, j, s in pairs)
    return ma / wa, mb / wb


def stable_id(prefix: str, key: str, taken: set[str]) -> str:
    """`prefix` + first 12 hex of sha1(key); on collision sha1(key#2), key#3 ... Adds to taken."""
    n = 1
    while True:
        seed = key if n == 1 else f"{key}#{n}"
        digest = hashlib.sha1(seed.encode("utf-8"), usedforsecurity=False).hexdigest()
        cand = prefix + digest[:12]
        if cand not in taken:
            taken.add(cand)
            return cand
        n += 1


def most_common(counter: Counter, tie: Callable[[object], object] | None = None):
    """The most frequent key; ties broken by `tie(key)` ascending (default: the key itself)."""
    if not counter:
        return None
    tie = tie or (lambda k: k)
    return min(counter.items(), key=lambda kv: (-kv[1], tie(kv[0])))[0]
