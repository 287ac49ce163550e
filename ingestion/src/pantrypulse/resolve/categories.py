"""Canonical product types: one label per kind of category, learned from the data.

Chains name their categories in their own words and languages (`LACTEOS`, `Lácteos`,
`dairy`, `Molkereiprodukte`, `Crèmerie`), some print none at all. Gold groups spend by product
type, so the resolver gives each canonical product one canonical type:

1. Labels are folded (case, accents, punctuation, `_`): `LACTEOS` and `Lácteos` are one label.
2. Synonyms come from co-occurrence on canonical products: a product sold at two chains
   carries both chains' labels. Two labels are linked when, for one of them, the products
   carrying both make at least half (`LINK_SHARE`) of its products that carry any other
   label (products seen at one chain only say nothing and do not dilute the share). A
   wrongly merged product or two cannot link two labels that co-occur with others often.
3. Linked labels form one type (connected components). Its name is its most used label,
   lower-case, in its most readable spelling (accents kept, `_` read as a space):
   `{LACTEOS, Lácteos, dairy}` -> `lácteos` when the Spanish spellings are the most used.
4. A product without any category takes the type its words point to: categorized products
   that share its words vote, each word weighted by its rarity (IDF), plus its brand's other
   products; the type is kept only with a clear majority (>= `INFER_SHARE` of the vote, from
   >= 2 products), else it stays null (no guessing).

Nothing here knows a vocabulary: labels in any language cluster the same way. Known limit:
a chain whose one label covers what another chain splits in two (`Frescos` for meat and
fish) links both into one type.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from pantrypulse.resolve.normalize import fold

LINK_SHARE = 0.5
LINK_MIN = 1
INFER_SHARE = 2 / 3
INFER_MIN = 2

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold_label(label: str) -> str:
    """`'Lácteos'`, `'LACTEOS'` -> `'lacteos'`; `'personal_care'` -> `'personal care'`."""
    return " ".join(_NON_WORD.sub(" ", fold(label)).split())


def _display(raw: Counter) -> str:
    """The most readable spelling of one label: accented and mixed case beat bare capitals."""

    def rank(item: tuple[str, int]) -> tuple:
        text, n = item
        accents = sum(1 for ch in text if ord(ch) > 127)
        return (-accents, text.isupper(), -n, text)

    text = min(raw.items(), key=rank)[0]
    return " ".join(text.replace("_", " ").split()).lower()


@dataclass(frozen=True)
class ProductEvidence:
    """What one canonical product says about its type."""

    key: Hashable
    categories: Mapping[str, int]  # raw category label -> lines
    words: Sequence[str]  # canonical descriptor words
    brand: str | None


def canonical_types(
    products: Sequence[ProductEvidence], idf: Mapping[str, float] | None = None
) -> dict[Hashable, str | None]:
    """Each product's canonical type (see the module docstring); deterministic."""
    raw: dict[str, Counter] = defaultdict(Counter)  # folded label -> raw spellings -> lines
    labels_of: dict[Hashable, Counter] = {}
    for p in products:
        c: Counter = Counter()
        for label, n in p.categories.items():
            f = fold_label(label) if isinstance(label, str) else ""
            if f:
                c[f] += n
                raw[f][label.strip()] += n
        labels_of[p.key] = c

    # co-occurrence of labels on products
    pair: Counter = Counter()
    for c in labels_of.values():
        ls = sorted(c)
        for i, a in enumerate(ls):
            for b in ls[i + 1 :]:
                pair[(a, b)] += 1
    parent = {label: label for label in raw}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    co: Counter = Counter()  # products of a label that carry some other label too
    for c in labels_of.values():
        if len(c) > 1:
            co.update(c.keys())
    for (a, b), w in sorted(pair.items()):
        if w >= LINK_MIN and max(w / co[a], w / co[b]) >= LINK_SHARE:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

    members: dict[str, list[str]] = defaultdict(list)
    for label in sorted(raw):
        members[find(label)].append(label)
    name_of: dict[str, str] = {}
    for root, ls in members.items():
        top = min(ls, key=lambda lb: (-sum(raw[lb].values()), lb))
        name_of[root] = _display(raw[top])

    out: dict[Hashable, str | None] = {}
    for p in products:
        c = labels_of[p.key]
        if c:
            by_type: Counter = Counter()
            for label, n in c.items():
                by_type[find(label)] += n
            root = min(by_type.items(), key=lambda kv: (-kv[1], name_of[kv[0]]))[0]
            out[p.key] = name_of[root]
        else:
            out[p.key] = None

    # products without a category: a vote of the products sharing their words or brand
    typed = [p for p in products if out[p.key] is not None]
    by_word: dict[str, list[ProductEvidence]] = defaultdict(list)
    by_brand: dict[str, list[ProductEvidence]] = defaultdict(list)
    for p in typed:
        for w in set(p.words):
            by_word[w].append(p)
        if p.brand:
            by_brand[p.brand].append(p)
    n_typed = max(len(typed), 1)
    for p in products:
        if out[p.key] is not None:
            continue
        vote: Counter = Counter()
        voters: dict[str, set] = defaultdict(set)
        for w in sorted(set(p.words)):
            others = by_word.get(w, ())
            if not others:
                continue
            weight = (idf or {}).get(w, math.log((n_typed + 1) / (len(others) + 0.5)))
            for o in others:
                t = out[o.key]
                vote[t] += max(weight, 0.0) / len(others)
                voters[t].add(o.key)
        if p.brand:
            others = by_brand.get(p.brand, ())
            for o in others:
                t = out[o.key]
                vote[t] += 1.0 / len(others)
                voters[t].add(o.key)
        total = sum(vote.values())
        if total <= 0:
            continue
        best, score = min(vote.items(), key=lambda kv: (-kv[1], kv[0]))
        if score >= INFER_SHARE * total and len(voters[best]) >= INFER_MIN:
            out[p.key] = best
    return out


def type_count(types: Mapping[Hashable, str | None]) -> int:
    """Distinct non-null types."""
    return len({t for t in types.values() if t is not None})
