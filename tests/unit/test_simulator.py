"""The invoice simulator: determinism, scale, contract validity, messiness, truth, HTTP source.

The contract checks here are an independent implementation of the importer's rules (JSON
Schema, RFC 3339 with offset, arithmetic tolerances, first-failure order), so a simulator
bug cannot hide behind a validator bug; one test also runs the importer's own validator.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import unicodedata
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pantrypulse.simulator import (
    MALFORMED_KINDS,
    InvoiceSourceServer,
    SimulatorConfig,
    generate,
    http_item,
    load_truth,
    madrid_offset,
    write_jsonl,
)
from pantrypulse.simulator.messy import STYLES

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "ingestion/src/pantrypulse/contract/invoice.schema.json"
VALIDATOR = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SMALL = SimulatorConfig(seed=5, days=30, households=8)


# ------------------------------------------------------------------------------------------
# An independent contract oracle
# ------------------------------------------------------------------------------------------


def _line_expected(line: dict) -> float:
    return line["quantity"] * line["unit_price"] - line.get("discount", 0)


def classify(record) -> str | None:
    """The first failing check's reason code, or None for a valid invoice."""
    if isinstance(record, bytes):
        try:
            record = record.decode("utf-8")
        except UnicodeDecodeError:
            return "invalid_encoding"
    if isinstance(record, str):
        try:
            record = json.loads(record)
        except json.JSONDecodeError:
            return "invalid_json"
    if not isinstance(record, dict):
        return "not_an_object"
    errors = list(VALIDATOR.iter_errors(record))
    if any(e.validator == "required" for e in errors):
        return "missing_field"
    if any(e.validator == "type" for e in errors):
        return "wrong_type"
    quantity_errors = [e for e in errors if list(e.absolute_path)[-1:] == ["quantity"]]
    if len(quantity_errors) < len(errors):
        return "invalid_value"
    if not RFC3339.match(record["issued_at"]):
        return "invalid_value"
    if quantity_errors:
        return "negative_quantity"
    for line in record["lines"]:
        if abs(_line_expected(line) - line["line_total"]) > 0.011:
            return "line_total_mismatch"
    if abs(sum(line["line_total"] for line in record["lines"]) - record["total"]) > 0.05:
        return "total_mismatch"
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset():
    return generate()


@pytest.fixture(scope="module")
def view(dataset):
    """Valid deliveries joined with the truth: one row per printed line."""
    shops = {r["true_shop_id"]: r for r in dataset.truth_shops}
    products = {r["true_product_id"]: r for r in dataset.truth_products}
    line_truth = {
        (r["invoice_id"], r["revision"], r["line_no"]): r["true_product_id"]
        for r in dataset.truth_lines
    }
    invoice_truth = {r["seq"]: r for r in dataset.truth_invoices}
    rows, invoices = [], []
    for d in dataset.deliveries:
        if d.expected_reason is not None:
            continue
        shop_id = invoice_truth[d.seq]["true_shop_id"]
        chain = shops[shop_id]["chain_id"]
        invoices.append((d, shop_id, chain))
        for line in d.payload["lines"]:
            pid = line_truth[(d.invoice_id, d.revision, line["line_no"])]
            rows.append(
                {
                    "delivery": d,
                    "chain": chain,
                    "shop": shop_id,
                    "line": line,
                    "pid": pid,
                    "product": products[pid],
                }
            )
    return {
        "rows": rows,
        "invoices": invoices,
        "shops": shops,
        "products": products,
        "invoice_truth": invoice_truth,
    }


def _valid(dataset):
    return [d for d in dataset.deliveries if d.expected_reason is None]


# ------------------------------------------------------------------------------------------
# Determinism and scale
# ------------------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    write_jsonl(generate(SMALL), tmp_path / "a")
    write_jsonl(generate(SMALL), tmp_path / "b")
    write_jsonl(generate(SimulatorConfig(seed=6, days=30, households=8)), tmp_path / "c")
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert sorted(a) == [
        "invoices.jsonl",
        "truth/invoices.csv",
        "truth/lines.csv",
        "truth/products.csv",
        "truth/shops.csv",
    ]
    assert a == b
    assert a["invoices.jsonl"] != c["invoices.jsonl"]


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path):
    code = (
        "import sys; from pathlib import Path; from pantrypulse.simulator import *; "
        "write_jsonl(generate(SimulatorConfig(seed=5, days=30, households=8)), "
        "Path(sys.argv[1]))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / hash_seed)], env=env, check=True)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")


def test_catalogue_has_the_required_scale(dataset):
    shops_per_chain = Counter(s["chain_id"] for s in dataset.truth_shops)
    assert len(shops_per_chain) >= 8
    assert len(dataset.truth_shops) >= 40
    assert min(shops_per_chain.values()) >= 3  # several branches per chain
    assert len({(s["city"], s["chain_id"]) for s in dataset.truth_shops}) >= 30
    assert len({s["tax_id"] for s in dataset.truth_shops}) >= 10  # entities, franchises
    products = dataset.truth_products
    assert len(products) >= 500
    assert len({p["category"] for p in products}) >= 10
    assert {p["size_unit"] for p in products} >= {"g", "ml", "unit"}
    assert any(p["pack_count"] > 1 for p in products)
    assert sum(p["sold_by"] == "weight" for p in products) >= 20
    assert sum(bool(p["private_label_of"]) for p in products) >= 100
    assert sum(bool(p["brand"]) and not p["private_label_of"] for p in products) >= 100


def test_private_labels_stay_home_and_national_brands_travel(view):
    chains_seen = defaultdict(set)
    for row in view["rows"]:
        chains_seen[row["pid"]].add(row["chain"])
        if row["product"]["private_label_of"]:
            assert row["chain"] == row["product"]["private_label_of"]
    national = [
        pid
        for pid, p in view["products"].items()
        if p["brand"] and not p["private_label_of"] and pid in chains_seen
    ]
    assert sum(len(chains_seen[pid]) >= 2 for pid in national) > len(national) / 2


def test_scale_is_configurable(dataset):
    config = SimulatorConfig(seed=9, start=dt.date(2027, 1, 4), days=14, households=5)
    small = generate(config)
    assert small.deliveries
    assert {d.issue_date for d in small.deliveries} <= {
        config.start + dt.timedelta(days=i) for i in range(14)
    }
    assert len({r["household_id"] for r in small.truth_invoices}) <= 5
    assert len(small.deliveries) < len(dataset.deliveries) / 10


# ------------------------------------------------------------------------------------------
# The contract
# ------------------------------------------------------------------------------------------


def test_every_valid_delivery_honours_the_contract(dataset):
    valid = _valid(dataset)
    assert len(valid) > 1500
    for d in valid:
        p = d.payload
        assert isinstance(p, dict)
        assert classify(p) is None, p["invoice_id"]  # schema, RFC 3339, arithmetic
        assert p["invoice_id"] == d.invoice_id
        assert p.get("revision", 1) == d.revision
        assert p["currency"] == "EUR"
        assert p["source"]["system"] == "pantrypulse-simulator"
        assert p["source"]["workflow_id"]
        assert p["source"]["execution_id"]
        issued = dt.datetime.fromisoformat(p["issued_at"])
        assert RFC3339.match(p["issued_at"])
        assert issued.date() == d.issue_date
        assert issued.utcoffset() == madrid_offset(d.issue_date).utcoffset(None)
        assert 1 <= len(p["lines"]) <= 30
        assert [line["line_no"] for line in p["lines"]] == list(range(1, len(p["lines"]) + 1))
        for line in p["lines"]:
            assert line["quantity"] > 0
            assert abs(round(_line_expected(line), 2) - line["line_total"]) <= 0.011
        line_sum = sum(line["line_total"] for line in p["lines"])
        assert abs(round(line_sum, 2) - p["total"]) <= 0.011  # at most one cent of rounding


def test_some_totals_are_off_by_exactly_one_cent(dataset):
    off = [
        d
        for d in _valid(dataset)
        if round(abs(sum(ln["line_total"] for ln in d.payload["lines"]) - d.payload["total"]), 2)
        == 0.01
    ]
    assert 0 < len(off) < 0.03 * len(dataset.deliveries)


def test_issued_at_switches_offset_with_summer_time():
    ds = generate(SimulatorConfig(seed=3, start=dt.date(2026, 10, 19), days=14, households=10))
    offsets = {}
    for d in _valid(ds):
        offsets.setdefault(d.issue_date, set()).add(d.payload["issued_at"][-6:])
    switch = dt.date(2026, 10, 25)  # last Sunday of October 2026
    assert all(o == {"+02:00"} for day, o in offsets.items() if day < switch)
    assert all(o == {"+01:00"} for day, o in offsets.items() if day >= switch)
    assert any(day < switch for day in offsets)
    assert any(day > switch for day in offsets)


def test_the_importers_validator_agrees_with_every_expected_reason(dataset):
    from pantrypulse.contract import validate_record

    got = Counter(
        (d.expected_reason, validate_record(d.payload).reason_code) for d in dataset.deliveries
    )
    assert all(expected == actual for expected, actual in got), got


# ------------------------------------------------------------------------------------------
# Malformed records
# ------------------------------------------------------------------------------------------


def test_every_malformed_kind_is_present_at_about_one_percent(dataset):
    bad = [d for d in dataset.deliveries if d.kind == "malformed"]
    assert 0.005 <= len(bad) / len(dataset.deliveries) <= 0.02
    assert {d.expected_reason for d in bad} == set(MALFORMED_KINDS)
    assert all(d.expected_reason is None for d in dataset.deliveries if d.kind != "malformed")
    for d in bad:
        assert classify(d.payload) == d.expected_reason, (d.expected_reason, d.payload)


def _sums_hold(p: dict) -> bool:
    lines_ok = all(abs(_line_expected(ln) - ln["line_total"]) <= 0.011 for ln in p["lines"])
    return lines_ok and abs(sum(ln["line_total"] for ln in p["lines"]) - p["total"]) <= 0.05


def test_each_malformed_record_carries_exactly_its_defect(dataset):
    for d in (d for d in dataset.deliveries if d.kind == "malformed"):
        reason, p = d.expected_reason, d.payload
        if reason == "invalid_encoding":
            assert isinstance(p, bytes)
            with pytest.raises(UnicodeDecodeError):
                p.decode("utf-8")
            assert classify(json.loads(p.decode("latin-1"))) is None  # only the encoding
        elif reason == "invalid_json":
            assert isinstance(p, str)
            assert "\n" not in p
            with pytest.raises(json.JSONDecodeError):
                json.loads(p)
        elif reason == "not_an_object":
            assert isinstance(p, str)
            assert not isinstance(json.loads(p), dict)
        elif reason in ("missing_field", "wrong_type"):
            kinds = {e.validator for e in VALIDATOR.iter_errors(p)}
            assert kinds == {"required" if reason == "missing_field" else "type"}
        elif reason == "invalid_value":
            assert classify(p) == "invalid_value"
        elif reason == "negative_quantity":
            assert any(ln["quantity"] <= 0 for ln in p["lines"])
            assert _sums_hold(p)
        elif reason == "line_total_mismatch":
            off = [ln for ln in p["lines"] if abs(_line_expected(ln) - ln["line_total"]) > 0.011]
            assert len(off) == 1
            assert abs(sum(ln["line_total"] for ln in p["lines"]) - p["total"]) <= 0.05
        else:
            assert reason == "total_mismatch"
            assert all(abs(_line_expected(ln) - ln["line_total"]) <= 0.011 for ln in p["lines"])
            assert abs(sum(ln["line_total"] for ln in p["lines"]) - p["total"]) >= 1.0


def test_jsonl_file_holds_each_delivery_on_its_own_line(dataset, tmp_path):
    path = write_jsonl(dataset, tmp_path)
    raw = path.read_bytes().split(b"\n")
    assert raw[-1] == b""
    assert len(raw) - 1 == len(dataset.deliveries)
    for line, d in zip(raw, dataset.deliveries, strict=False):
        if isinstance(d.payload, dict):
            # compact UTF-8 JSON, non-ASCII characters kept as they are (no \u escapes)
            assert line == json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode(
                "utf-8"
            )
        elif isinstance(d.payload, str):
            assert line == d.payload.encode("utf-8")
        else:
            assert line == d.payload
    assert sum(b"\\u00" in line for line in raw) == 0
    assert any("ñ".encode() in line for line in raw)


# ------------------------------------------------------------------------------------------
# Deliveries
# ------------------------------------------------------------------------------------------


def test_delivery_kinds_come_at_their_rates_and_within_the_late_window(dataset):
    n = len(dataset.deliveries)
    kinds = Counter(d.kind for d in dataset.deliveries)
    assert 0.01 <= kinds["duplicate"] / n <= 0.03
    assert 0.005 <= kinds["correction"] / n <= 0.02
    assert 0.02 <= kinds["late"] / n <= 0.04
    assert [d.seq for d in dataset.deliveries] == list(range(1, n + 1))
    window = dt.timedelta(days=dataset.config.max_late_days)
    previous = dt.date.min
    for d in dataset.deliveries:
        assert d.issue_date <= d.available_on <= d.issue_date + window
        assert d.available_on >= previous  # the source delivers in time order
        previous = d.available_on
        if d.kind == "late":
            assert d.available_on > d.issue_date
        if d.kind == "ok":
            assert d.available_on == d.issue_date


def test_duplicates_repeat_and_corrections_supersede(dataset):
    first: dict[tuple, object] = {}
    for d in dataset.deliveries:
        key = (d.invoice_id, d.revision)
        if d.kind == "duplicate":
            assert key in first, "a re-delivery follows its original"
            assert d.payload == first[key].payload
        else:
            assert key not in first, "(invoice_id, revision) is unique apart from re-deliveries"
            first[key] = d
        if d.kind == "correction":
            assert d.revision >= 2
            earlier = first.get((d.invoice_id, d.revision - 1))
            assert earlier is not None
            assert earlier.seq < d.seq
            assert d.payload["revision"] == d.revision
            assert (d.payload["lines"], d.payload["total"]) != (
                earlier.payload["lines"],
                earlier.payload["total"],
            )


# ------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------


def test_truth_covers_every_delivery_and_line(dataset, view, tmp_path):
    assert [
        (r["seq"], r["invoice_id"], r["revision"], r["kind"], r["expected_reason"] or None)
        for r in dataset.truth_invoices
    ] == [(d.seq, d.invoice_id, d.revision, d.kind, d.expected_reason) for d in dataset.deliveries]
    per_invoice = Counter((r["invoice_id"], r["revision"]) for r in dataset.truth_lines)
    for d in _valid(dataset):
        assert per_invoice[(d.invoice_id, d.revision)] == len(d.payload["lines"])
    write_jsonl(dataset, tmp_path)
    loaded = load_truth(tmp_path)
    for name, rows in (
        ("products", dataset.truth_products),
        ("shops", dataset.truth_shops),
        ("lines", dataset.truth_lines),
        ("invoices", dataset.truth_invoices),
    ):
        assert loaded[name] == [{k: str(v) for k, v in row.items()} for row in rows]


def test_truth_shop_matches_what_the_receipt_says(view):
    for d, shop_id, _chain in view["invoices"]:
        shop = d.payload["shop"]
        chain_name = _fold(view["shops"][shop_id]["chain_name"])
        assert chain_name in _fold(shop["name"]) or chain_name in _fold(shop.get("brand") or "")


def test_loose_goods_are_weighed_and_packaged_goods_counted(view):
    for row in view["rows"]:
        qty = row["line"]["quantity"]
        if row["product"]["sold_by"] == "weight":
            assert isinstance(qty, float)
            assert 0 < qty < 5
            assert row["line"].get("unit") in (None, "kg", "KG")
        else:
            assert isinstance(qty, int)
    assert sum(not float(r["line"]["quantity"]).is_integer() for r in view["rows"]) > 1000


def test_a_spelling_never_means_two_products_at_one_chain(view):
    owners = defaultdict(set)
    for row in view["rows"]:
        line = row["line"]
        owners[(row["chain"], line["product_name"], line.get("product_brand"))].add(row["pid"])
    assert all(len(pids) == 1 for pids in owners.values())
    across = defaultdict(set)
    for (_chain, name, brand), pids in owners.items():
        across[(name, brand)] |= pids
    shared = {k: pids for k, pids in across.items() if len(pids) > 1}
    for (name, brand), pids in shared.items():
        assert brand is None
        for pid in pids:
            product = view["products"][pid]
            assert product["private_label_of"], (name, pid)
            assert _fold(product["brand"]) not in _fold(name)
    assert len(shared) <= 0.01 * len(across)


def test_every_printed_shop_header_points_at_one_branch(view):
    owners = defaultdict(set)
    for d, shop_id, _chain in view["invoices"]:
        shop = d.payload["shop"]
        owners[(shop["name"], shop.get("address"), shop.get("postal_code"))].add(shop_id)
    assert all(len(s) == 1 for s in owners.values())


# ------------------------------------------------------------------------------------------
# Messiness
# ------------------------------------------------------------------------------------------


def test_products_print_many_ways_across_and_few_ways_within_chains(view):
    names = defaultdict(Counter)
    at_chain = defaultdict(Counter)
    for row in view["rows"]:
        line = row["line"]
        names[row["pid"]][line["product_name"]] += 1
        at_chain[(row["chain"], row["pid"])][(line["product_name"], line.get("product_brand"))] += 1
    assert statistics.mean(len(c) for c in names.values()) > 1.5
    folded = [len({" ".join(n.lower().split()) for n in c}) for c in names.values()]
    assert sum(k > 1 for k in folded) > 0.25 * len(folded)  # not just upper vs lower case
    busy = [c for c in at_chain.values() if sum(c.values()) >= 5]
    assert statistics.mean(max(c.values()) / sum(c.values()) for c in busy) > 0.75
    assert statistics.mean(len(c) for c in busy) < 2.5
    assert sum(len(c) > 1 for c in busy) > 0.1 * len(busy)  # yet variants do occur


def test_names_vary_in_case_accents_spacing_and_width(view):
    rows = view["rows"]
    names = [r["line"]["product_name"] for r in rows]
    upper = sum(n == n.upper() and n != n.lower() for n in names)
    lower = sum(n == n.lower() and n != n.upper() for n in names)
    assert 0.15 < upper / len(names) < 0.85
    assert lower > 0.05 * len(names)
    accented = [r for r in rows if _fold(r["product"]["name"]) != r["product"]["name"].lower()]
    kept = sum(
        _fold(r["line"]["product_name"]) != r["line"]["product_name"].lower() for r in accented
    )
    assert 0.1 * len(accented) < kept < 0.9 * len(accented)
    assert sum("  " in n for n in names) > 0.005 * len(names)
    truncated_chains = {
        r["chain"] for r in rows if len(r["line"]["product_name"]) == STYLES[r["chain"]].width
    }
    assert len(truncated_chains) >= 5
    assert all(len(r["line"]["product_name"]) <= max(STYLES[r["chain"]].width, 60) for r in rows)


def test_units_are_spelled_many_ways(view):
    one_litre = Counter()
    for row in view["rows"]:
        p = row["product"]
        if (p["size_unit"], p["size_value"], p["pack_count"]) == ("ml", 1000, 1):
            m = re.search(r"(1\s?[lL][tT]?|1000\s?(ml|ML))$", row["line"]["product_name"])
            if m:
                one_litre[m.group(1)] += 1
    assert len(one_litre) >= 4, one_litre
    text = " ".join(r["line"]["product_name"] for r in view["rows"])
    assert re.search(r"\b0,\d+KG\b", text)  # 0,5KG
    assert re.search(r"\b\d+X\d", text)
    assert re.search(r"\b\d+ ?x ?\d", text)
    assert re.search(r"\b\d+G\b", text)
    assert re.search(r"\b\d+ ?g\b", text)


def test_brand_and_category_are_sometimes_there(view):
    rows = view["rows"]
    branded = [r for r in rows if r["product"]["brand"]]
    with_field = sum(r["line"].get("product_brand") is not None for r in branded)
    assert 0.15 * len(branded) < with_field < 0.85 * len(branded)
    with_category = sum(r["line"].get("category") is not None for r in rows)
    assert 0.15 * len(rows) < with_category < 0.85 * len(rows)
    national = [r for r in branded if not r["product"]["private_label_of"]]
    first = sum(
        _fold(r["line"]["product_name"]).startswith(_fold(r["product"]["brand"])) for r in national
    )
    inside = sum(_fold(r["product"]["brand"]) in _fold(r["line"]["product_name"]) for r in national)
    assert 0 < first < inside < len(national)  # brand first, brand after, brand missing


def test_shop_headers_vary(view):
    per_shop = defaultdict(set)
    fields = Counter()
    for d, shop_id, _chain in view["invoices"]:
        shop = d.payload["shop"]
        per_shop[shop_id].add(shop["name"])
        for key in ("brand", "address", "city", "postal_code", "tax_id"):
            fields[key, shop.get(key) is not None] += 1
    names = {n for s in per_shop.values() for n in s}
    assert statistics.mean(len(s) for s in per_shop.values()) > 1.3
    assert any(re.search(r"S\.A\.|S\.L\.|SAU|S\.A\.U\.|Coop", n) for n in names)
    assert any(" - " in n for n in names)
    assert any(n == n.lower() and " " in n for n in names)
    assert any(n.isalpha() for n in names)  # only the brand
    for key in ("brand", "address", "city", "postal_code", "tax_id"):
        assert fields[key, True], key
        assert fields[key, False], key


def test_unknown_extra_fields_appear_in_valid_invoices(dataset):
    valid = [d.payload for d in _valid(dataset)]
    assert any("loyalty_card" in p for p in valid)
    assert any("vat_rate" in ln for p in valid for ln in p["lines"])


# ------------------------------------------------------------------------------------------
# Prices and households
# ------------------------------------------------------------------------------------------


def test_prices_drift_up_and_promotions_happen(dataset, view):
    start, days = dataset.config.start, dataset.config.days
    first, last, all_prices = defaultdict(list), defaultdict(list), defaultdict(list)
    for row in view["rows"]:
        d = row["delivery"]
        if d.revision != 1 or d.kind == "duplicate":
            continue
        key = (row["chain"], row["pid"])
        price = row["line"]["unit_price"]
        all_prices[key].append(price)
        age = (d.issue_date - start).days
        if age < 30:
            first[key].append(price)
        elif age >= days - 30:
            last[key].append(price)
    pairs = [k for k in first if len(first[k]) >= 3 and len(last.get(k, ())) >= 3]
    assert len(pairs) > 100
    ratios = [statistics.median(last[k]) / statistics.median(first[k]) for k in pairs]
    assert sum(r > 1 for r in ratios) > 0.75 * len(pairs)
    assert 1.005 < statistics.median(ratios) < 1.04  # 0.2-0.5 % a month over ~5 months
    discounted = sum(row["line"].get("discount", 0) > 0 for row in view["rows"])
    assert discounted > 0.005 * len(view["rows"])
    cut = sum(min(p) < 0.88 * statistics.median(p) for p in all_prices.values() if len(p) >= 5)
    assert cut > 20  # a week or two at a lower unit price


def test_households_shop_like_households(dataset, view):
    per_household = defaultdict(list)
    for d, shop_id, _chain in view["invoices"]:
        if d.kind in ("ok", "late"):
            household = view["invoice_truth"][d.seq]["household_id"]
            per_household[household].append((d, shop_id))
    assert len(per_household) == dataset.config.households
    weeks = dataset.config.days / 7
    rates = [len(v) / weeks for v in per_household.values()]
    assert 1 <= statistics.mean(rates) <= 4
    loyalty = [max(Counter(s for _, s in v).values()) / len(v) for v in per_household.values()]
    assert statistics.mean(loyalty) > 0.5  # a favourite shop
    sizes = [len(d.payload["lines"]) for v in per_household.values() for d, _ in v]
    assert sum(3 <= n <= 30 for n in sizes) > 0.95 * len(sizes)
    assert max(sizes) >= 20
    assert statistics.median(sizes) < 15
    buyers = defaultdict(set)
    for row in view["rows"]:
        buyers[row["product"]["item"]].add(
            view["invoice_truth"][row["delivery"].seq]["household_id"]
        )
    staples = [item for item, hh in buyers.items() if len(hh) >= 0.6 * len(per_household)]
    assert len(staples) >= 10


# ------------------------------------------------------------------------------------------
# The HTTP source
# ------------------------------------------------------------------------------------------


def _get(url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def _canonical(item) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _fetch_all(base_url: str, day: dt.date, extra: str = "") -> list:
    items, page = [], 1
    while page is not None:
        status, _, body = _get(f"{base_url}/invoices?date={day}&page={page}{extra}")
        assert status == 200, body
        assert (body["date"], body["page"]) == (day.isoformat(), page)
        items += body["invoices"]
        page = body["next_page"]
    return items


def test_all_pages_of_all_dates_are_exactly_the_servable_deliveries(dataset, capfd):
    config = dataset.config
    days = [
        config.start + dt.timedelta(days=i)
        for i in range(-1, config.days + config.max_late_days + 1)
    ]
    served = []
    with InvoiceSourceServer(dataset, page_size=7).start() as srv:
        for day in days:
            items = _fetch_all(srv.base_url, day)
            assert items == [http_item(d) for d in dataset.for_date(day)]
            served += items
        assert _get(f"{srv.base_url}/invoices?date={days[40]}&page=2") == _get(
            f"{srv.base_url}/invoices?date={days[40]}&page=2"
        )  # pages are stable
    # Pages group by issue date, the dataset is in delivery order: compare as multisets.
    expected = [d.payload for d in dataset.deliveries if d.http_servable]
    assert Counter(map(_canonical, served)) == Counter(map(_canonical, expected))
    assert len(expected) == len(dataset.deliveries) - sum(
        d.expected_reason == "invalid_encoding" for d in dataset.deliveries
    )
    assert any(isinstance(item, str) for item in served)  # broken JSON travels as a string
    assert capfd.readouterr().err == ""  # quiet unless verbose


def test_bad_requests_and_empty_dates(dataset):
    with InvoiceSourceServer(dataset, page_size=5).start() as srv:
        base = srv.base_url
        for query in (
            "",
            "?date=",
            "?date=2026-13-01",
            "?date=01/05/2026",
            "?date=2026-05-01&page=0",
            "?date=2026-05-01&page=x",
        ):
            status, headers, body = _get(f"{base}/invoices{query}")
            assert status == 400, query
            assert "error" in body, query
            assert headers["Content-Type"].startswith("application/json")
        assert _get(f"{base}/nope")[0] == 404
        empty = _get(f"{base}/invoices?date=1999-01-01")
        assert empty[0] == 200
        assert empty[2] == {"date": "1999-01-01", "page": 1, "next_page": None, "invoices": []}
        beyond = _get(f"{base}/invoices?date={dataset.config.start}&page=999")[2]
        assert (beyond["invoices"], beyond["next_page"]) == ([], None)
        status, _, body = _get(f"{base}/healthz")
        assert (status, body) == (200, {"status": "ok"})


def test_token_is_enforced(dataset):
    day = dataset.config.start
    with InvoiceSourceServer(dataset, token="s3cret").start() as srv:
        url = f"{srv.base_url}/invoices?date={day}"
        assert _get(url)[0] == 401
        assert _get(url, token="wrong")[0] == 401
        status, _, body = _get(url, token="s3cret")
        assert status == 200
        assert body["invoices"]
        assert _get(f"{srv.base_url}/healthz")[0] == 200
        assert srv.stats["unauthorized"] == 2


def test_faults_are_injected_at_about_the_configured_rate(dataset):
    statuses = Counter()
    with InvoiceSourceServer(dataset, error_rate=0.3, seed=11).start() as srv:
        for _ in range(300):
            status, headers, _ = _get(f"{srv.base_url}/invoices?date={dataset.config.start}")
            statuses[status] += 1
            if status == 429:
                assert headers["Retry-After"] in ("0", "1")
        assert all(_get(f"{srv.base_url}/healthz")[0] == 200 for _ in range(50))
        injected = srv.stats["injected_errors"]
    assert set(statuses) <= {200, 429, 500, 502, 503}
    assert len(statuses) >= 4
    assert 0.2 < (300 - statuses[200]) / 300 < 0.4
    assert sum(injected.values()) == 300 - statuses[200]


def test_late_arrivals_appear_only_once_as_of_reaches_them(dataset):
    late = next(
        d
        for d in dataset.deliveries
        if d.kind == "late" and (d.available_on - d.issue_date).days >= 2
    )
    day = late.issue_date

    def mine(items):
        return [i for i in items if isinstance(i, dict) and i.get("invoice_id") == late.invoice_id]

    with InvoiceSourceServer(dataset, page_size=4, as_of=day).start() as srv:
        before = _fetch_all(srv.base_url, day)
        assert mine(before) == []
        srv.as_of = late.available_on - dt.timedelta(days=1)
        assert mine(_fetch_all(srv.base_url, day)) == []
        srv.as_of = late.available_on
        after = _fetch_all(srv.base_url, day)
        assert late.payload in mine(after)
        assert after[: len(before)] == before  # re-asking returns the same, plus the new
        via_query = _fetch_all(srv.base_url, day, f"&as_of={day}")
        assert via_query == before
    assert after == [http_item(d) for d in dataset.for_date(day, late.available_on)]
