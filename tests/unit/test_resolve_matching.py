"""Matching: products and shops, positive and negative cases, determinism, unseen receipts."""

from __future__ import annotations

import random
from collections import Counter

from test_resolve_support import unseen_invoices

from pantrypulse.resolve.engine import resolve_invoices
from pantrypulse.resolve.quality import evaluate_aliases

MERCA_1 = {
    "name": "MERCADONA S.A.",
    "brand": "Mercadona",
    "address": "Av. Diagonal 123",
    "city": "Barcelona",
    "postal_code": "08019",
    "tax_id": "A46103834",
}
MERCA_2 = {
    "name": "MERCADONA S.A.",
    "brand": "Mercadona",
    "address": "Calle Colón 5",
    "city": "Valencia",
    "postal_code": "46004",
    "tax_id": "A46103834",
}
DIA_1 = {
    "name": "DIA RETAIL ESPAÑA S.A.U.",
    "brand": "Dia",
    "address": "Gran Via 10",
    "city": "Madrid",
    "postal_code": "28013",
    "tax_id": "A28164754",
}


class Receipts:
    """Builds contract-shaped invoices: `add(shop, (name, brand, price), ...)`."""

    def __init__(self) -> None:
        self.invoices: list[dict] = []

    def add(self, shop: dict, *lines: tuple, times: int = 2) -> None:
        for _ in range(times):
            n = len(self.invoices) + 1
            self.invoices.append(
                {
                    "invoice_id": f"T-{n}",
                    "revision": 1,
                    "issued_at": "2026-01-15T10:00:00+01:00",
                    "shop": dict(shop),
                    "currency": "EUR",
                    "total": 1.0,
                    "lines": [
                        {
                            "line_no": i,
                            "product_name": ln[0],
                            "product_brand": ln[1],
                            "quantity": 1,
                            "unit_price": ln[2],
                            "line_total": ln[2],
                        }
                        for i, ln in enumerate(lines, start=1)
                    ],
                }
            )

    def resolve(self, **kw):
        return resolve_invoices(self.invoices, **kw)


def pid(result, shop, name, brand=None):
    return result.product_id(result.shop_brand_key(shop), name, brand)


# --- products: positives ------------------------------------------------------------------


def test_spellings_of_one_product_resolve_to_one_id():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Leche Entera Hacendado 1L", "Hacendado", 0.89),
        ("Yogur Natural Hacendado 4x125g", "Hacendado", 1.10),
    )
    r.add(
        MERCA_2,
        ("LECHE ENT. HACENDADO 1 L", None, 0.89),
        ("leche entera  hacendado 1000ml", None, 0.90),
        ("LCHE ENTERA HCDO 1L", None, 0.89),
    )
    res = r.resolve()
    ids = {
        pid(res, MERCA_1, "Leche Entera Hacendado 1L", "Hacendado"),
        pid(res, MERCA_2, "LECHE ENT. HACENDADO 1 L"),
        pid(res, MERCA_2, "leche entera  hacendado 1000ml"),
        pid(res, MERCA_2, "LCHE ENTERA HCDO 1L"),
    }
    assert len(ids) == 1
    assert None not in ids
    row = next(p for p in res.registry.products if p["product_id"] in ids)
    assert (row["product_brand"], row["size_value"], row["size_unit"], row["pack_count"]) == (
        "Hacendado",
        1000.0,
        "ml",
        1,
    )


def test_brand_learned_from_brand_fields_is_found_in_names_anywhere():
    r = Receipts()
    r.add(DIA_1, ("Mayonesa Ybarra 450 ml", "Ybarra", 2.10))
    r.add(MERCA_1, ("YBARRA MAYONESA 450ML", None, 2.15))  # no brand field, brand first
    res = r.resolve()
    assert pid(res, DIA_1, "Mayonesa Ybarra 450 ml", "Ybarra") == pid(
        res, MERCA_1, "YBARRA MAYONESA 450ML"
    )


def test_unbranded_spelling_of_a_private_label_joins_it_at_the_same_chain_and_price():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Leche Entera Hacendado 1L", "Hacendado", 0.89),
        ("Tomate Frito Hacendado 400g", "Hacendado", 0.65),
    )
    r.add(MERCA_2, ("LECHE ENTERA 1L", None, 0.89))
    res = r.resolve()
    assert pid(res, MERCA_2, "LECHE ENTERA 1L") == pid(
        res, MERCA_1, "Leche Entera Hacendado 1L", "Hacendado"
    )


# --- products: negatives ------------------------------------------------------------------


def test_same_name_different_size_never_merges():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Leche Entera Pascual 1L", "Pascual", 1.20),
        ("Leche Entera Pascual 500ml", "Pascual", 0.70),
        ("Leche Entera Pascual 1,5 L", "Pascual", 1.70),
    )
    res = r.resolve()
    ids = {
        pid(res, MERCA_1, n, "Pascual")
        for n in (
            "Leche Entera Pascual 1L",
            "Leche Entera Pascual 500ml",
            "Leche Entera Pascual 1,5 L",
        )
    }
    assert len(ids) == 3


def test_same_name_different_pack_count_never_merges():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Coca-Cola 33cl", "Coca-Cola", 0.80),
        ("Coca-Cola 6x33cl", "Coca-Cola", 4.20),
        ("COCA COLA 6 X 33CL", None, 4.20),
    )
    res = r.resolve()
    single = pid(res, MERCA_1, "Coca-Cola 33cl", "Coca-Cola")
    six = pid(res, MERCA_1, "Coca-Cola 6x33cl", "Coca-Cola")
    assert single != six
    assert pid(res, MERCA_1, "COCA COLA 6 X 33CL") == six


def test_same_name_different_brand_never_merges():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Leche Entera 1L", "Pascual", 1.20),
        ("Leche Entera 1L", "Puleva", 1.20),
        ("Leche Entera Hacendado 1L", "Hacendado", 0.89),
    )
    res = r.resolve()
    ids = {
        pid(res, MERCA_1, "Leche Entera 1L", "Pascual"),
        pid(res, MERCA_1, "Leche Entera 1L", "Puleva"),
        pid(res, MERCA_1, "Leche Entera Hacendado 1L", "Hacendado"),
    }
    assert len(ids) == 3


def test_private_labels_at_different_chains_stay_apart():
    r = Receipts()
    # each chain prints its own label's milk as `LECHE ENTERA 1L`, sometimes with the brand
    r.add(
        MERCA_1,
        ("Leche Entera Hacendado 1L", "Hacendado", 0.89),
        ("Galletas Maria Hacendado 800g", "Hacendado", 1.15),
    )
    r.add(MERCA_2, ("LECHE ENTERA 1L", None, 0.89))
    r.add(DIA_1, ("Leche Entera Dia 1L", "Dia", 0.85), ("Galletas Maria Dia 800g", "Dia", 1.10))
    r.add(DIA_1, ("LECHE ENTERA 1L", None, 0.85))
    res = r.resolve()
    at_merca = pid(res, MERCA_2, "LECHE ENTERA 1L")
    at_dia = pid(res, DIA_1, "LECHE ENTERA 1L")
    assert at_merca != at_dia
    assert at_merca == pid(res, MERCA_1, "Leche Entera Hacendado 1L", "Hacendado")
    assert at_dia == pid(res, DIA_1, "Leche Entera Dia 1L", "Dia")


def test_unbranded_private_labels_of_a_branded_kind_stay_in_their_chain():
    r = Receipts()
    r.add(MERCA_1, ("Espaguetis Barilla 500g", "Barilla", 1.35))
    r.add(DIA_1, ("Espaguetis Barilla 500g", "Barilla", 1.30))
    r.add(MERCA_1, ("ESPAGUETIS 500G", None, 0.70))  # each chain's own, brand not printed
    r.add(DIA_1, ("ESPAGUETIS 500G", None, 0.69))
    res = r.resolve()
    assert pid(res, MERCA_1, "ESPAGUETIS 500G") != pid(res, DIA_1, "ESPAGUETIS 500G")
    assert pid(res, MERCA_1, "ESPAGUETIS 500G") != pid(
        res, MERCA_1, "Espaguetis Barilla 500g", "Barilla"
    )


def test_brandless_fresh_goods_are_one_product_across_chains():
    r = Receipts()
    r.add(MERCA_1, ("TOMATE CHERRY 250G", None, 1.20))
    r.add(DIA_1, ("Tomate Cherry 250 g", None, 1.25))
    r.add(MERCA_2, ("TOM. CHERRY 250G", None, 1.20))
    res = r.resolve()
    ids = {
        pid(res, MERCA_1, "TOMATE CHERRY 250G"),
        pid(res, DIA_1, "Tomate Cherry 250 g"),
        pid(res, MERCA_2, "TOM. CHERRY 250G"),
    }
    assert len(ids) == 1


def test_a_price_far_from_the_products_price_at_the_same_chain_is_another_product():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Leche Entera Pascual 1L", "Pascual", 1.25),
        ("Leche Entera Hacendado 1L", "Hacendado", 0.85),
    )
    r.add(MERCA_1, ("LECHE ENTERA 1L", None, 1.25))  # Pascual's price, brand dropped
    res = r.resolve()
    assert pid(res, MERCA_1, "LECHE ENTERA 1L") == pid(
        res, MERCA_1, "Leche Entera Pascual 1L", "Pascual"
    )


def test_different_flavours_and_variants_do_not_merge():
    r = Receipts()
    r.add(
        MERCA_1,
        ("Danone Yogur Natural 4x125g", "Danone", 1.89),
        ("Danone Yogur Fresa 4x125g", "Danone", 2.09),
        ("Leche Semidesnatada Pascual 1L", "Pascual", 1.15),
        ("Leche Desnatada Pascual 1L", "Pascual", 1.15),
        ("Leche Entera Pascual 1L", "Pascual", 1.25),
    )
    r.add(
        DIA_1,
        ("YOGUR NAT DANONE 4X125G", None, 1.85),
        ("YOGUR FRESA DANONE 4X125G", None, 2.05),
        ("LCHE SEMIDESN PASCUAL 1L", None, 1.12),
        ("LECHE DESN. PASCUAL 1L", None, 1.12),
    )
    res = r.resolve()
    nat = pid(res, MERCA_1, "Danone Yogur Natural 4x125g", "Danone")
    fresa = pid(res, MERCA_1, "Danone Yogur Fresa 4x125g", "Danone")
    semi = pid(res, MERCA_1, "Leche Semidesnatada Pascual 1L", "Pascual")
    desn = pid(res, MERCA_1, "Leche Desnatada Pascual 1L", "Pascual")
    entera = pid(res, MERCA_1, "Leche Entera Pascual 1L", "Pascual")
    assert len({nat, fresa, semi, desn, entera}) == 5
    assert pid(res, DIA_1, "YOGUR NAT DANONE 4X125G") == nat
    assert pid(res, DIA_1, "YOGUR FRESA DANONE 4X125G") == fresa
    assert pid(res, DIA_1, "LCHE SEMIDESN PASCUAL 1L") == semi
    assert pid(res, DIA_1, "LECHE DESN. PASCUAL 1L") == desn


def test_no_transitive_chaining_through_partial_overlaps():
    r = Receipts()
    names = [
        "Queso Curado Oveja 250g",
        "Queso Oveja Trufa 250g",
        "Oveja Trufa Aceite 250g",
        "Trufa Aceite Virgen 250g",
    ]
    r.add(MERCA_1, *[(n, "Flor", 3.0) for n in names])
    res = r.resolve()
    ids = [pid(res, MERCA_1, n, "Flor") for n in names]
    assert ids[0] != ids[3]
    assert len(set(ids)) >= 3


def test_no_two_products_share_a_normalized_key():
    invoices, _, _, _ = unseen_invoices()
    res = resolve_invoices(invoices)
    keys = Counter(p["normalized_key"] for p in res.registry.products)
    assert max(keys.values()) == 1
    keys = Counter(s["normalized_key"] for s in res.registry.shops)
    assert max(keys.values()) == 1


# --- shops -----------------------------------------------------------------------------------


def sid(result, **shop):
    return result.shop_id({"name": shop.pop("name"), **shop})


def test_contract_examples_of_one_shop_resolve_to_one_branch():
    r = Receipts()
    line = ("Pan", None, 1.0)
    spellings = [
        {
            "name": "MERCADONA S.A.",
            "brand": "Mercadona",
            "address": "Av. Diagonal 123",
            "city": "Barcelona",
            "postal_code": "08019",
        },
        {"name": "Mercadona - Av. Diagonal 123"},
        {"name": "mercadona diagonal"},
        {"name": "MERCADONA, S.A.U.", "address": "Avinguda Diagonal, 123", "city": "BARCELONA"},
    ]
    other = {"name": "Mercadona - C/ Colón 5", "city": "Valencia", "postal_code": "46004"}
    for s in [*spellings, other]:
        r.add(s, line)
    res = r.resolve()
    ids = {res.shop_id(s) for s in spellings}
    assert len(ids) == 1
    assert res.shop_id(other) not in ids
    assert {res.shop_brand_key(s) for s in [*spellings, other]} == {"mercadona"}


def test_different_postal_codes_or_house_numbers_never_merge():
    r = Receipts()
    a = {"name": "Lidl", "address": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115"}
    b = {"name": "Lidl", "address": "Hauptstraße 5", "city": "Berlin", "postal_code": "10117"}
    c = {"name": "Lidl", "address": "Hauptstraße 7", "city": "Berlin", "postal_code": "10115"}
    for s in (a, b, c):
        r.add(s, ("Brot", None, 1.0))
    res = r.resolve()
    assert len({res.shop_id(a), res.shop_id(b), res.shop_id(c)}) == 3


def test_chain_only_spelling_attaches_to_the_only_branch():
    r = Receipts()
    r.add(MERCA_1, ("Pan", None, 1.0))
    bare = {"name": "MERCADONA"}
    r.add(bare, ("Pan", None, 1.0))
    res = r.resolve()
    assert res.shop_id(bare) == res.shop_id(MERCA_1)


def test_chain_only_spelling_with_several_branches_goes_to_unknown_branch_or_majority():
    r = Receipts()
    r.add(MERCA_1, ("Pan", None, 1.0), times=5)
    r.add(MERCA_2, ("Pan", None, 1.0), times=2)
    bare = {"name": "MERCADONA S.A."}
    r.add(bare, ("Pan", None, 1.0))
    res = r.resolve()
    unknown = next(s for s in res.registry.shops if s["shop_id"] == res.shop_id(bare))
    assert res.shop_id(bare) not in {res.shop_id(MERCA_1), res.shop_id(MERCA_2)}
    assert unknown["normalized_key"].endswith("|?")
    assert unknown["address"] is None
    res = r.resolve(shop_policy="majority")
    assert res.shop_id(bare) == res.shop_id(MERCA_1)


def test_city_only_spelling_attaches_to_the_chains_branch_in_that_city():
    r = Receipts()
    r.add(MERCA_1, ("Pan", None, 1.0))
    r.add(MERCA_2, ("Pan", None, 1.0))
    in_valencia = {"name": "MERCADONA VALENCIA", "city": "València"}
    r.add(in_valencia, ("Pan", None, 1.0))
    res = r.resolve()
    assert res.shop_id(in_valencia) == res.shop_id(MERCA_2)


def test_tax_id_names_the_chain_of_a_legal_name():
    r = Receipts()
    branded = {
        "name": "Sainsbury's",
        "brand": "Sainsbury's",
        "address": "44 Sidney Street",
        "city": "Cambridge",
        "tax_id": "GB 660 4548 36",
    }
    legal = {
        "name": "J SAINSBURY PLC",
        "address": "44 Sidney St",
        "city": "Cambridge",
        "tax_id": "GB660454836",
    }
    r.add(branded, ("Milk", None, 1.0))
    r.add(legal, ("Milk", None, 1.0))
    res = r.resolve()
    assert res.shop_id(legal) == res.shop_id(branded)


def test_store_codes_identify_branches():
    r = Receipts()
    with_address = {"name": "LIDAL 4113", "address": "CL Santa Teresa 49", "city": "Murcia"}
    code_only = {"name": "LIDAL 4113", "city": "Murcia"}
    other = {"name": "LIDAL 2069", "city": "Murcia"}
    for s in (with_address, code_only, other):
        r.add(s, ("Pan", None, 1.0))
    res = r.resolve()
    assert res.shop_id(code_only) == res.shop_id(with_address)
    assert res.shop_id(other) != res.shop_id(with_address)


def test_generic_words_after_chain_names_are_one_chain():
    r = Receipts()
    for brand, street in (
        ("Foodia", "Calle Mayor 1"),
        ("Foodia Supermercados", "Calle Sol 2"),
        ("Vendal", "Calle Luna 3"),
        ("Vendal Supermercados", "Calle Mar 4"),
    ):
        r.add(
            {"name": brand.upper(), "brand": brand, "address": street, "city": "Sevilla"},
            ("Pan", None, 1.0),
        )
    res = r.resolve()
    assert {s["shop_brand_key"] for s in res.registry.shops} == {"foodia", "vendal"}


def test_lost_leading_zero_of_a_postal_code_is_restored():
    r = Receipts()
    a = {"name": "Bonmercat", "address": "C. Aragó 110", "postal_code": "08009"}
    b = {"name": "bonmercat", "postal_code": "8009"}
    for s in (a, b):
        r.add(s, ("Pan", None, 1.0))
    res = r.resolve()
    assert res.shop_id(a) == res.shop_id(b)


# --- determinism and the unseen fixture ------------------------------------------------------


def test_shuffled_input_gives_identical_output():
    invoices, _, _, _ = unseen_invoices()
    first = resolve_invoices(invoices, now=None)
    rng = random.Random(7)
    shuffled = [dict(inv, lines=rng.sample(inv["lines"], len(inv["lines"]))) for inv in invoices]
    rng.shuffle(shuffled)
    second = resolve_invoices(shuffled, now=first.now)
    assert second.registry == first.registry


def test_unseen_receipts_quality():
    invoices, truth_lines, truth_invoices, hard = unseen_invoices()
    res = resolve_invoices(invoices)
    q = evaluate_aliases(res, invoices, truth_lines, truth_invoices)
    p, s = q["products"], q["shops"]
    assert p.precision >= 0.97, p
    assert p.recall >= 0.85, p
    assert s.precision >= 0.97, s
    assert s.recall >= 0.95, s
    # every spelling not marked hard lands with the rest of its product
    truth = {(t["invoice_id"], t["line_no"]): t["true_product_id"] for t in truth_lines}
    by_truth: dict[str, Counter] = {}
    for inv in invoices:
        sbk = res.shop_brand_key(inv["shop"])
        for line in inv["lines"]:
            t = truth[(inv["invoice_id"], line["line_no"])]
            if line["product_name"] not in hard:
                p_id = res.product_id(sbk, line["product_name"], line["product_brand"])
                by_truth.setdefault(t, Counter())[p_id] += 1
    split = {t: dict(c) for t, c in by_truth.items() if len(c) > 1}
    assert not split
