"""The simulator's realistic anchors (see `pantrypulse.simulator.messy`): messy, but decidable."""

from __future__ import annotations

import unicodedata
from collections import defaultdict

import pytest

from pantrypulse.simulator import generate
from pantrypulse.simulator.catalogue import ITEMS


def _fold(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


@pytest.fixture(scope="module")
def lines():
    ds = generate()
    products = {p["true_product_id"]: p for p in ds.truth_products}
    truth = {(r["invoice_id"], r["revision"], r["line_no"]): r for r in ds.truth_lines}
    shop_chain = {s["true_shop_id"]: s["chain_id"] for s in ds.truth_shops}
    inv_shop = {(r["invoice_id"], r["revision"]): r["true_shop_id"] for r in ds.truth_invoices}
    out = []
    for d in ds.deliveries:
        if d.expected_reason is not None:
            continue
        chain = shop_chain[inv_shop[(d.invoice_id, d.revision)]]
        for ln in d.payload["lines"]:
            p = products[truth[(d.invoice_id, d.revision, ln["line_no"])]["true_product_id"]]
            out.append((chain, p, ln))
    return out


def test_a_national_brand_among_several_keeps_its_brand_on_every_line(lines):
    national: dict[str, set[str]] = defaultdict(set)
    own_label: dict[tuple[str, str], set[str]] = defaultdict(set)
    for chain, p, _ in lines:
        if p["brand"] and not p["private_label_of"]:
            national[p["item"]].add(p["brand"])
        elif p["brand"]:
            own_label[(chain, p["item"])].add(p["brand"])
    checked = missing_in_name = 0
    for chain, p, ln in lines:
        if not p["brand"] or p["private_label_of"]:
            continue
        if len(national[p["item"]] | own_label[(chain, p["item"])]) < 2:
            continue
        checked += 1
        in_name = _fold(p["brand"]) in _fold(ln["product_name"])
        missing_in_name += not in_name
        assert in_name or ln.get("product_brand"), (chain, p["true_product_id"], ln)
    assert checked > 1000
    assert missing_in_name > 0.1 * checked  # the name still drops or cuts the brand often


def test_brands_are_still_missing_where_nothing_else_fits(lines):
    lonely = [
        ln
        for _, p, ln in lines
        if p["brand"] and not p["private_label_of"] and not ln.get("product_brand")
        if _fold(p["brand"]) not in _fold(ln["product_name"])
    ]
    assert lonely  # single-brand items (and private labels) may still print no brand


def test_alternative_item_names_share_a_word_with_the_main_name():
    def words(name: str) -> set[str]:
        return {w[:3] for w in _fold(name).split() if len(w) >= 3}

    for item in ITEMS:
        main = words(item.names[0])
        for other in item.names[1:]:
            assert main & words(other), (item.key, item.names)
