"""Evidence beyond the name: barcodes, receipts, promotions, cut loose markers, product types."""

from __future__ import annotations

from collections import Counter

from test_resolve_support import load_unseen, unseen_invoices

from pantrypulse.resolve.categories import ProductEvidence, canonical_types, fold_label
from pantrypulse.resolve.engine import resolve_invoices
from pantrypulse.resolve.normalize import gtin, is_cut_loose_marker

SHOP_A = {"name": "ALFA MARKET", "brand": "Alfa", "city": "Madrid", "postal_code": "28013"}
SHOP_B = {"name": "BETA SUPER", "brand": "Beta", "city": "Sevilla", "postal_code": "41001"}
SHOP_C = {"name": "GAMMA SUPER", "brand": "Gamma", "city": "Bilbao", "postal_code": "48001"}


class Till:
    """Contract-shaped invoices; every `receipt(shop, line, ...)` call is one invoice."""

    def __init__(self) -> None:
        self.invoices: list[dict] = []

    def receipt(self, shop: dict, *lines: dict) -> None:
        n = len(self.invoices) + 1
        self.invoices.append(
            {
                "invoice_id": f"E-{n}",
                "revision": 1,
                "issued_at": "2026-01-15T10:00:00+01:00",
                "shop": dict(shop),
                "currency": "EUR",
                "total": 1.0,
                "lines": [
                    {"line_no": i, "quantity": 1, "line_total": ln["unit_price"], **ln}
                    for i, ln in enumerate(lines, start=1)
                ],
            }
        )

    def each(self, shop: dict, *lines: dict, times: int = 2) -> None:
        """Every line on its own receipt, `times` over."""
        for _ in range(times):
            for ln in lines:
                self.receipt(shop, ln)

    def resolve(self):
        return resolve_invoices(self.invoices)


def line(name: str, price: float, brand: str | None = None, **extra) -> dict:
    return {"product_name": name, "product_brand": brand, "unit_price": price, **extra}


def pid(res, shop: dict, name: str, brand: str | None = None) -> str:
    return res.product_id(res.shop_brand_key(shop), name, brand)


# --- barcodes -------------------------------------------------------------------------------


def test_gtin_checks_the_digit_and_pads_every_length_to_14():
    assert gtin("4006381333932") is None  # wrong check digit
    assert gtin("4006381333931") == "04006381333931"
    assert gtin("400 6381 333931") == "04006381333931"
    assert gtin(4006381333931) == "04006381333931"
    assert gtin("036000291452") == gtin("0036000291452") == "00036000291452"  # UPC-A = EAN-13
    assert gtin("96385074") == "00000096385074"  # EAN-8
    assert gtin("2012345000019") is None  # in-store variable-weight code: not an identity
    assert all(gtin(v) is None for v in ("", None, "ABC"))
    assert gtin(True) is None


def test_one_barcode_ties_two_names_that_share_no_word():
    t = Till()
    code = "4006381333931"
    t.each(SHOP_A, line("HOGAZA RUSTICA 400G", 1.40, ean=code))
    t.each(SHOP_A, line("PAN RUSTICO 400G", 1.41, ean=code))
    t.each(SHOP_B, line("Hogaza Rustica 400 g", 1.39))
    res = t.resolve()
    a = pid(res, SHOP_A, "HOGAZA RUSTICA 400G")
    assert a == pid(res, SHOP_A, "PAN RUSTICO 400G")
    assert a == pid(res, SHOP_B, "Hogaza Rustica 400 g")


def test_a_barcode_never_joins_two_known_brands_or_two_sizes():
    t = Till()
    code = "4006381333931"  # one code misprinted on four different products
    t.each(SHOP_A, line("Leche Entera Pastora 1L", 0.99, "Pastora", ean=code))
    t.each(SHOP_A, line("Leche Entera Lechenorte 1L", 0.97, "Lechenorte", ean=code))
    t.each(SHOP_A, line("Zumo Naranja Don Ramon 1L", 1.49, "Don Ramon", ean=code))
    t.each(SHOP_A, line("Zumo Naranja Don Ramon 2L", 2.69, "Don Ramon", ean=code))
    res = t.resolve()
    ids = {
        pid(res, SHOP_A, "Leche Entera Pastora 1L", "Pastora"),
        pid(res, SHOP_A, "Leche Entera Lechenorte 1L", "Lechenorte"),
        pid(res, SHOP_A, "Zumo Naranja Don Ramon 1L", "Don Ramon"),
        pid(res, SHOP_A, "Zumo Naranja Don Ramon 2L", "Don Ramon"),
    }
    assert len(ids) == 4


# --- dropped words, receipts as evidence ----------------------------------------------------


def test_a_name_that_lost_a_word_joins_the_only_product_that_explains_it():
    t = Till()
    t.each(SHOP_A, line("TOMATE PERA KG", 1.99, unit="kg", quantity=0.8))
    t.each(SHOP_B, line("Tomate Pera a granel", 2.05, unit="kg", quantity=1.2))
    t.each(SHOP_C, line("TOMATE GRANEL", 2.01, unit="kg", quantity=0.6))
    res = t.resolve()
    assert pid(res, SHOP_C, "TOMATE GRANEL") == pid(res, SHOP_A, "TOMATE PERA KG")


def test_a_dropped_word_that_fits_two_kinds_is_not_guessed():
    t = Till()
    for shop in (SHOP_A, SHOP_B):
        t.each(shop, line("REFRESCO COLA ROYAL 2L", 1.95, "Cola Royal"))
        t.each(shop, line("REFRESCO COLA ZERO ROYAL 2L", 1.95, "Cola Royal"))
    t.each(SHOP_C, line("COLA 2L", 1.96, "Cola Royal"))
    res = t.resolve()
    short = pid(res, SHOP_C, "COLA 2L", "Cola Royal")
    assert short != pid(res, SHOP_A, "REFRESCO COLA ROYAL 2L", "Cola Royal")
    assert short != pid(res, SHOP_A, "REFRESCO COLA ZERO ROYAL 2L", "Cola Royal")


def test_two_spellings_on_one_receipt_are_two_products():
    def build(together: bool) -> Till:
        t = Till()
        t.each(SHOP_A, line("Galletas Maria Dorada 800g", 1.80, "Dorada"))
        t.each(SHOP_B, line("GALLETAS MARIA DORADA 800G", 1.82, "Dorada"))
        if together:
            t.receipt(
                SHOP_A,
                line("Galletas Maria Dorada 800g", 1.80, "Dorada"),
                line("MARIA 800G", 1.80, "Dorada"),
            )
        t.each(SHOP_A, line("MARIA 800G", 1.80, "Dorada"))
        return t

    apart = build(together=True).resolve()
    assert pid(apart, SHOP_A, "MARIA 800G", "Dorada") != pid(
        apart, SHOP_A, "Galletas Maria Dorada 800g", "Dorada"
    )
    joined = build(together=False).resolve()
    assert pid(joined, SHOP_A, "MARIA 800G", "Dorada") == pid(
        joined, SHOP_A, "Galletas Maria Dorada 800g", "Dorada"
    )


# --- promotions, cut loose markers ----------------------------------------------------------


def test_a_single_promotional_price_does_not_split_a_branded_product():
    t = Till()
    t.each(SHOP_A, line("choco con leche valora 100g", 1.50, "Valora"), times=4)
    t.each(SHOP_A, line("CHOCO CON LECHE VALO", 1.12, "Valora"), times=1)  # one promo line
    t.each(SHOP_B, line("Valora Chocolate Con Leche 100 g", 1.55, "Valora"))
    res = t.resolve()
    assert pid(res, SHOP_A, "CHOCO CON LECHE VALO", "Valora") == pid(
        res, SHOP_A, "choco con leche valora 100g", "Valora"
    )


def test_a_regular_price_gap_still_splits_at_one_chain():
    t = Till()
    t.each(SHOP_A, line("CHOCO CON LECHE VALORA 100G", 1.50, "Valora"), times=3)
    t.each(SHOP_A, line("CHOCO CON LECHE VALO", 1.12, "Valora"), times=3)  # always cheaper
    res = t.resolve()
    assert pid(res, SHOP_A, "CHOCO CON LECHE VALO", "Valora") != pid(
        res, SHOP_A, "CHOCO CON LECHE VALORA 100G", "Valora"
    )


def test_cut_loose_markers():
    assert all(is_cut_loose_marker(t) for t in ("grane", "gra", "g", "vra"))
    assert not any(is_cut_loose_marker(t) for t in ("granel", "lomo"))


def test_a_weighed_name_cut_in_its_loose_marker_matches_the_uncut_name():
    t = Till()
    weighed = {"unit": "kg", "quantity": 0.45}
    # a 32-character till: names are cut there (the width is learned from the data)
    cut = [
        "Lomo De Cerdo En Filetes a grane",
        "Pechuga De Pollo Fileteada a gra",
        "Filete De Ternera Extra a granel",
        "Costillas De Cerdo Adobadas a gr",
    ]
    for i, name in enumerate(cut):
        t.each(SHOP_A, line(name, 6.7 + i, **weighed))
    t.each(SHOP_B, line("Lomo de cerdo en filetes", 6.85, **weighed))
    res = t.resolve()
    assert pid(res, SHOP_A, cut[0]) == pid(res, SHOP_B, "Lomo de cerdo en filetes")


# --- canonical product types ----------------------------------------------------------------


def test_category_labels_fold_case_accents_and_separators():
    assert fold_label("LACTEOS") == fold_label("Lácteos") == "lacteos"
    assert fold_label("personal_care") == "personal care"
    assert fold_label("Obst & Gemüse") == "obst gemuse"


def test_synonym_categories_cluster_by_the_products_they_share():
    ev = [
        ProductEvidence(1, {"LACTEOS": 6, "dairy": 2}, ("leche",), "pastora"),
        ProductEvidence(2, {"Lácteos": 4, "dairy": 1}, ("yogur",), "danubia"),
        ProductEvidence(3, {"dairy": 5}, ("queso",), None),
        ProductEvidence(4, {"BEBIDAS": 2, "drinks": 3}, ("agua",), None),
        ProductEvidence(5, {"drinks": 2, "Getränke": 2}, ("cola",), "royal"),
        ProductEvidence(6, {}, ("leche", "yogur"), "pastora"),  # no category: words vote
        ProductEvidence(7, {}, ("tornillos",), None),  # nothing to go by: null
    ]
    types = canonical_types(ev)
    assert types[1] == types[2] == types[3] == types[6]
    assert types[4] == types[5] != types[1]
    assert types[7] is None
    assert types[1] == "lácteos"  # most used label, readable spelling, lower case
    assert len({t for t in types.values() if t}) == 2


def test_one_noisy_product_does_not_link_two_types():
    ev = [ProductEvidence(i, {"dairy": 1, "LACTEOS": 1}, ("leche",), None) for i in range(6)]
    ev += [ProductEvidence(10 + i, {"drinks": 1, "BEBIDAS": 1}, ("agua",), None) for i in range(6)]
    ev.append(ProductEvidence(99, {"dairy": 1, "BEBIDAS": 1}, ("batido",), None))  # a bad merge
    types = canonical_types(ev)
    assert types[0] != types[10]


# the unseen fixture's chains, each with its own category vocabulary (other languages); only
# products sold at two chains tie two vocabularies (the fixture's markets share few products)
VOCAB = {
    "rewe": {"dairy": "Molkereiprodukte", "drinks": "Getränke", "pantry": "Vorrat"},
    "edeka": {"dairy": "Milch & Käse", "drinks": "GETRAENKE", "pantry": "Trockensortiment"},
    "aldi": {},  # prints no categories
    "tesco": {"dairy": "Dairy", "drinks": "Drinks", "pantry": "Tins"},
    "sainsburys": {"dairy": "DAIRY & EGGS", "drinks": "DRINKS", "pantry": "FOOD CUPBOARD"},
    "monoprix": {"dairy": "Crèmerie", "drinks": "Boissons", "pantry": "Épicerie"},
    "intermarche": {"dairy": "PRODUITS LAITIERS", "drinks": "BOISSONS", "pantry": "EPICERIE"},
    "esselunga": {"dairy": "Latticini", "drinks": "Bevande", "pantry": "Dispensa"},
    "consum": {"dairy": "Lácteos", "drinks": "Bebidas", "pantry": "Alimentación"},
    "baeckerei": {},
}
PANTRY = ("haferflocken", "beans", "spaghetti", "penne", "broetchen", "roggenbrot")


def _true_type(product: str) -> str:
    if "cocacola" in product:
        return "drinks"
    if any(w in product for w in PANTRY):
        return "pantry"
    return "produce" if "bananen" in product else "dairy"


def test_unseen_chains_categories_cluster_across_languages_through_shared_products():
    invoices, truth_lines, _, _ = unseen_invoices()
    truth = {(t["invoice_id"], t["line_no"]): t["true_product_id"] for t in truth_lines}
    chain_of = {
        sp["name"]: shop["chain"] for shop in load_unseen()["shops"] for sp in shop["spellings"]
    }
    for inv in invoices:
        vocab = VOCAB[chain_of[inv["shop"]["name"]]]
        for ln in inv["lines"]:
            ln["category"] = vocab.get(_true_type(truth[(inv["invoice_id"], ln["line_no"])]))
    res = resolve_invoices(invoices)
    ptype = {p["product_id"]: p["product_type"] for p in res.registry.products}
    seen: dict[tuple[str, str], Counter] = {}
    for inv in invoices:
        chain = chain_of[inv["shop"]["name"]]
        sbk = res.shop_brand_key(inv["shop"])
        for ln in inv["lines"]:
            product = truth[(inv["invoice_id"], ln["line_no"])]
            p = res.product_id(sbk, ln["product_name"], ln["product_brand"])
            seen.setdefault((chain, _true_type(product)), Counter())[ptype[p]] += 1

    def one(chain: str, kind: str) -> str | None:
        (t,) = seen[(chain, kind)]  # one type per chain and kind
        return t

    # German dairy: `Molkereiprodukte` (REWE) ~ `Milch & Käse` (EDEKA), both sell Weihenstephan;
    # ALDI prints no category: its milk takes the type its words point to
    assert one("rewe", "dairy") == one("edeka", "dairy") == one("aldi", "dairy") is not None
    assert one("rewe", "drinks") == one("edeka", "drinks") == one("aldi", "drinks")
    # French dairy: `Crèmerie` ~ `PRODUITS LAITIERS` (Lactel, Danone, Président at both)
    assert one("monoprix", "dairy") == one("intermarche", "dairy") is not None
    # pantry across languages: Heinz (UK), Barilla (IT `Dispensa` ~ ES `Alimentación`)
    assert one("tesco", "pantry") == one("sainsburys", "pantry") is not None
    assert one("esselunga", "pantry") == one("consum", "pantry") is not None
    assert one("esselunga", "pantry") != one("esselunga", "dairy")
    # labels no shared product ties stay apart: nothing says `Latticini` is `Molkereiprodukte`
    assert one("esselunga", "dairy") != one("rewe", "dairy")
    # a kind no chain labels is never invented
    assert set(seen[("rewe", "produce")]) == {None}
    types = {t for t in ptype.values() if t}
    assert all(t == t.lower() for t in types)
    assert len(types) < len({fold_label(v) for vs in VOCAB.values() for v in vs.values()})
