"""Quality metrics: pairwise precision / recall / F1 from contingency counts."""

from __future__ import annotations

import itertools
import random

import pytest

from pantrypulse.resolve.model import ProductSpelling, Registry, ShopSpelling
from pantrypulse.resolve.quality import evaluate_aliases, pairwise_scores


def brute_force(pairs):
    tp = pp = tpairs = 0
    for (p1, t1), (p2, t2) in itertools.combinations(pairs, 2):
        pp += p1 == p2
        tpairs += t1 == t2
        tp += p1 == p2 and t1 == t2
    return tp, pp, tpairs


def test_hand_computed_example():
    # predicted {a,b} {c,d}; truth {a,b,c} {d}
    s = pairwise_scores([("A", "x"), ("A", "x"), ("B", "x"), ("B", "y")])
    assert (s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == (1, 2, 3)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(0.4)


def test_perfect_singletons_and_everything_in_one_cluster():
    assert pairwise_scores([("A", "x"), ("A", "x"), ("B", "y")]).f1 == 1.0
    singletons = pairwise_scores([("A", "x"), ("B", "y"), ("C", "z")])
    assert (singletons.precision, singletons.recall, singletons.f1) == (1.0, 1.0, 1.0)
    lumped = pairwise_scores([("A", "x"), ("A", "y"), ("A", "z")])
    assert (lumped.precision, lumped.recall, lumped.f1) == (0.0, 1.0, 0.0)
    split = pairwise_scores([("A", "x"), ("B", "x"), ("C", "x")])
    assert (split.precision, split.recall, split.f1) == (1.0, 0.0, 0.0)


def test_contingency_counts_equal_brute_force():
    rng = random.Random(3)
    pairs = [(rng.randrange(12), rng.randrange(9)) for _ in range(300)]
    s = pairwise_scores(pairs)
    assert (s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == brute_force(pairs)
    assert s.items == 300


def _registry(shop_ids, product_ids):
    """A registry with given alias -> id mappings (sbk 'c' for every shop)."""
    shops = [{"shop_id": sid, "shop_brand_key": "c"} for sid in sorted(set(shop_ids.values()))]
    shop_aliases = [
        {"alias_key": ShopSpelling(name).alias_key, "shop_id": sid}
        for name, sid in shop_ids.items()
    ]
    product_aliases = [
        {"alias_key": ProductSpelling("c", name, "").alias_key, "product_id": pid}
        for name, pid in product_ids.items()
    ]
    return Registry([], product_aliases, shops, shop_aliases)


def test_evaluate_aliases_labels_each_alias_by_majority_and_reports_purity():
    invoices = [
        {
            "invoice_id": "1",
            "shop": {"name": "S1"},
            "lines": [
                {"line_no": 1, "product_name": "milk"},
                {"line_no": 2, "product_name": "MILK"},
            ],
        },
        {
            "invoice_id": "2",
            "shop": {"name": "S2"},
            "lines": [
                {"line_no": 1, "product_name": "milk"},
                {"line_no": 2, "product_name": "bread"},
            ],
        },
        {
            "invoice_id": "3",
            "shop": {"name": "S2"},
            "lines": [{"line_no": 1, "product_name": "milk"}],
        },
    ]
    truth_lines = [
        {"invoice_id": "1", "revision": 1, "line_no": 1, "true_product_id": "P1"},
        {"invoice_id": "1", "revision": 1, "line_no": 2, "true_product_id": "P1"},
        {"invoice_id": "2", "revision": 1, "line_no": 1, "true_product_id": "P1"},
        {"invoice_id": "2", "revision": 1, "line_no": 2, "true_product_id": "P2"},
        {"invoice_id": "3", "revision": 1, "line_no": 1, "true_product_id": "P2"},  # impure
    ]
    truth_invoices = [
        {"invoice_id": i, "revision": 1, "true_shop_id": t}
        for i, t in (("1", "T1"), ("2", "T2"), ("3", "T2"))
    ]
    reg = _registry({"S1": "s1", "S2": "s2"}, {"milk": "p1", "MILK": "p1", "bread": "p9"})
    q = evaluate_aliases(reg, invoices, truth_lines, truth_invoices)
    p = q["products"]
    # aliases: milk->P1 (2 of 3 mentions), MILK->P1, bread->P2; predicted p1, p1, p9
    assert (p.aliases, p.mentions, p.predicted_entities, p.true_entities) == (3, 5, 2, 2)
    assert (p.precision, p.recall, p.f1) == (1.0, 1.0, 1.0)
    assert p.alias_purity == pytest.approx(4 / 5)
    s = q["shops"]
    assert (s.aliases, s.precision, s.recall) == (2, 1.0, 1.0)


def test_evaluate_aliases_counts_unresolved_spellings_as_singletons():
    invoices = [
        {
            "invoice_id": "1",
            "shop": {"name": "S1"},
            "lines": [{"line_no": 1, "product_name": "a"}, {"line_no": 2, "product_name": "b"}],
        }
    ]
    truth_lines = [
        {"invoice_id": "1", "revision": 1, "line_no": n, "true_product_id": "P"} for n in (1, 2)
    ]
    truth_invoices = [{"invoice_id": "1", "revision": 1, "true_shop_id": "T"}]
    reg = _registry({"S1": "s1"}, {"a": "p1"})
    p = evaluate_aliases(reg, invoices, truth_lines, truth_invoices)["products"]
    assert p.unresolved_aliases == 1
    assert p.recall == 0.0
