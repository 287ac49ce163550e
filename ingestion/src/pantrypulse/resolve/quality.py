"""Resolution quality: pairwise precision / recall / F1 against ground truth.

Pairwise metrics count pairs of items placed together: precision = pairs predicted together
that truly belong together / pairs predicted together; recall = ... / pairs truly together.
They are computed from contingency counts (sum of C(n, 2) over cells, rows and columns),
never by enumerating pairs, so millions of items are fine.

`evaluate_aliases` applies this to the resolver's output over distinct alias keys: each
alias (spelling) is labelled with the majority true entity of the lines / invoices that use
it, and predicted by the canonical id it was resolved to. Alias purity says how much that
labelling hides: the share of mentions whose alias's majority label equals their own (an
alias used for two real entities can never be resolved perfectly).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pantrypulse.resolve.model import (
    ProductSpelling,
    Registry,
    ResolutionResult,
    ShopSpelling,
    raw_text,
)


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise precision, recall and F1 with the pair counts behind them."""

    precision: float
    recall: float
    f1: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    items: int


def _c2(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(pairs: Iterable[tuple[Hashable, Hashable]]) -> PairwiseScores:
    """Pairwise P/R/F1 from `(predicted_cluster, true_cluster)` per item.

    With no pair on a side (all singletons) that side's score is 1.0 by convention.
    """
    cells: Counter = Counter()
    pred: Counter = Counter()
    true: Counter = Counter()
    n = 0
    for p, t in pairs:
        cells[(p, t)] += 1
        pred[p] += 1
        true[t] += 1
        n += 1
    tp = sum(_c2(k) for k in cells.values())
    pp = sum(_c2(k) for k in pred.values())
    tpairs = sum(_c2(k) for k in true.values())
    precision = tp / pp if pp else 1.0
    recall = tp / tpairs if tpairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, pp, tpairs, n)


@dataclass(frozen=True)
class EntityQuality:
    """Quality of one entity type (products or shops) over distinct aliases."""

    precision: float
    recall: float
    f1: float
    aliases: int
    mentions: int
    predicted_entities: int
    true_entities: int
    alias_purity: float
    unresolved_aliases: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for reports and JSON)."""
        return dataclasses.asdict(self)


def _rows(data: Any) -> list[Mapping[str, Any]]:
    """Rows from a list of dicts/objects/dataclasses/namedtuples, or an Arrow/pandas table."""
    if data is None:
        return []
    if hasattr(data, "to_pylist"):
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return data.to_dict("records")
    out = []
    for r in data:
        if isinstance(r, Mapping):
            out.append(r)
        elif dataclasses.is_dataclass(r):
            out.append(dataclasses.asdict(r))
        elif hasattr(r, "_asdict"):
            out.append(r._asdict())
        else:
            out.append(vars(r))
    return out


def _lookups(resolved: ResolutionResult | Registry):
    reg = resolved.registry if isinstance(resolved, ResolutionResult) else resolved
    shop_alias = {r["alias_key"]: r["shop_id"] for r in reg.shop_aliases}
    sbk = {r["shop_id"]: r["shop_brand_key"] for r in reg.shops}
    product_alias = {r["alias_key"]: r["product_id"] for r in reg.product_aliases}
    return shop_alias, sbk, product_alias


def _entity_quality(
    mentions: dict[str, Counter], predicted: dict[str, str | None]
) -> EntityQuality:
    labels = {}
    total = agree = 0
    true_entities = set()
    for key in sorted(mentions):
        c = mentions[key]
        label = min(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]
        labels[key] = label
        total += sum(c.values())
        agree += c[label]
        true_entities.update(c)
    unresolved = sorted(k for k in labels if predicted.get(k) is None)
    pairs = [
        (predicted.get(k) if predicted.get(k) is not None else ("unresolved", k), labels[k])
        for k in sorted(labels)
    ]
    s = pairwise_scores(pairs)
    return EntityQuality(
        precision=s.precision,
        recall=s.recall,
        f1=s.f1,
        aliases=len(labels),
        mentions=total,
        predicted_entities=len({p for p, _ in pairs}),
        true_entities=len(true_entities),
        alias_purity=agree / total if total else 1.0,
        unresolved_aliases=len(unresolved),
    )


def evaluate_aliases(
    resolved: ResolutionResult | Registry,
    invoices: Iterable[Mapping[str, Any]],
    truth_lines: Any,
    truth_invoices: Any,
) -> dict[str, EntityQuality]:
    """Product and shop quality of a resolution against the simulator's truth.

    `invoices`: the invoice payloads (dicts) that were resolved; `truth_lines`: rows with
    `invoice_id, revision, line_no, true_product_id`; `truth_invoices`: rows with
    `invoice_id, revision, true_shop_id` (lists of dicts/objects, or Arrow/pandas tables).
    Invoices or lines without a truth row are skipped. Returns `{"products": ...,
    "shops": ...}`.
    """
    shop_alias, sbk, product_alias = _lookups(resolved)
    true_line = {
        (str(r["invoice_id"]), int(r.get("revision") or 1), int(r["line_no"])): r["true_product_id"]
        for r in _rows(truth_lines)
    }
    true_shop = {
        (str(r["invoice_id"]), int(r.get("revision") or 1)): r["true_shop_id"]
        for r in _rows(truth_invoices)
    }
    shop_mentions: dict[str, Counter] = defaultdict(Counter)
    product_mentions: dict[str, Counter] = defaultdict(Counter)
    product_pred: dict[str, str | None] = {}
    seen: set[tuple[str, int]] = set()
    for inv in invoices:
        shop = inv.get("shop")
        lines = inv.get("lines")
        if not isinstance(shop, Mapping) or not isinstance(lines, list):
            continue
        ident = (str(inv.get("invoice_id")), int(inv.get("revision") or 1))
        if ident in seen:
            continue
        seen.add(ident)
        skey = ShopSpelling.from_payload(shop).alias_key
        if ident in true_shop and true_shop[ident] is not None:
            shop_mentions[skey][true_shop[ident]] += 1
        shop_id = shop_alias.get(skey)
        chain = sbk.get(shop_id) if shop_id else None
        for line in lines:
            if not isinstance(line, Mapping):
                continue
            t = true_line.get((ident[0], ident[1], int(line.get("line_no", -1))))
            if t is None:
                continue
            pkey = ProductSpelling(
                chain if chain is not None else f"?{skey}",
                raw_text(line.get("product_name")),
                raw_text(line.get("product_brand")),
            ).alias_key
            product_mentions[pkey][t] += 1
            product_pred[pkey] = product_alias.get(pkey)
    shop_pred = {k: shop_alias.get(k) for k in shop_mentions}
    return {
        "products": _entity_quality(product_mentions, product_pred),
        "shops": _entity_quality(shop_mentions, shop_pred),
    }
