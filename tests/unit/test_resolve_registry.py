"""Stable ids, idempotent re-runs and the Iceberg registry I/O on a throwaway SQL catalog."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.io.pyarrow import schema_to_pyarrow
from test_resolve_support import unseen_invoices

from pantrypulse.resolve.engine import resolve_invoices
from pantrypulse.resolve.model import ProductSpelling, ShopSpelling, md5_hex
from pantrypulse.resolve.registry import load_registry, run_resolution
from pantrypulse.tables import INVOICES_RAW, RESOLUTION_TABLES

T1 = datetime(2026, 2, 1, tzinfo=UTC)
T2 = datetime(2026, 3, 1, tzinfo=UTC)
T3 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def fixture_invoices():
    invoices, _, _, _ = unseen_invoices()
    return invoices


def split(invoices):
    """The invoices of the first chains (the builder goes chain by chain), then everything."""
    return invoices[: len(invoices) // 2], invoices


def test_alias_keys_follow_the_documented_recipe():
    sp = ProductSpelling("mercadona", "LECHE ENT. 1L", "")
    assert sp.alias_key == hashlib.md5(b"mercadona|LECHE ENT. 1L|").hexdigest()
    shop = ShopSpelling.from_payload({"name": "MERCADONA S.A.", "brand": None, "city": "Valencia"})
    assert shop.alias_key == md5_hex("MERCADONA S.A.", "", "", "Valencia", "", "")


def test_ids_are_deterministic_and_well_formed(fixture_invoices):
    a = resolve_invoices(fixture_invoices, now=T1)
    b = resolve_invoices(list(reversed(fixture_invoices)), now=T1)
    assert a.registry == b.registry
    assert all(re.fullmatch(r"p_[0-9a-f]{12}", p["product_id"]) for p in a.registry.products)
    assert all(re.fullmatch(r"s_[0-9a-f]{12}", s["shop_id"]) for s in a.registry.shops)
    # every alias points at an existing entity; counts add up
    pids = {p["product_id"] for p in a.registry.products}
    assert {r["product_id"] for r in a.registry.product_aliases} == pids
    assert sum(p["alias_count"] for p in a.registry.products) == len(a.registry.product_aliases)
    sids = {s["shop_id"] for s in a.registry.shops}
    assert {r["shop_id"] for r in a.registry.shop_aliases} == sids


def test_new_data_never_changes_existing_ids(fixture_invoices):
    first, everything = split(fixture_invoices)
    r1 = resolve_invoices(first, now=T1)
    r2 = resolve_invoices(everything, previous=r1.registry, now=T2)
    for name, key, ident in (
        ("product_aliases", "alias_key", "product_id"),
        ("shop_aliases", "alias_key", "shop_id"),
    ):
        before = {r[key]: r for r in getattr(r1.registry, name)}
        after = {r[key]: r for r in getattr(r2.registry, name)}
        assert set(before) <= set(after)
        for k, row in before.items():
            assert after[k][ident] == row[ident]
            assert after[k]["first_seen_at"] == row["first_seen_at"] == T1
            assert after[k]["match_method"] == row["match_method"]
    for name, ident in (("products", "product_id"), ("shops", "shop_id")):
        before = {r[ident]: r for r in getattr(r1.registry, name)}
        after = {r[ident]: r for r in getattr(r2.registry, name)}
        assert set(before) <= set(after)
        assert all(after[i]["first_seen_at"] == T1 for i in before)
        assert all(after[i]["first_seen_at"] == T2 for i in set(after) - set(before))
    assert r2.summary.products.new_aliases == len(r2.registry.product_aliases) - len(
        r1.registry.product_aliases
    )
    # new spellings of known products join them instead of founding new ids
    assert r2.summary.products.new_entities < r2.summary.products.new_aliases


def test_rerun_with_no_new_data_is_identical(fixture_invoices):
    first, everything = split(fixture_invoices)
    r1 = resolve_invoices(first, now=T1)
    r2 = resolve_invoices(everything, previous=r1.registry, now=T2)
    r3 = resolve_invoices(everything, previous=r2.registry, now=T3)
    assert r3.registry == r2.registry
    assert r3.summary.products.new_aliases == r3.summary.shops.new_entities == 0


def test_aliases_no_longer_in_the_input_are_kept(fixture_invoices):
    first, everything = split(fixture_invoices)
    r_all = resolve_invoices(everything, now=T1)
    r_less = resolve_invoices(first, previous=r_all.registry, now=T2)
    assert r_less.registry == r_all.registry.__class__(
        products=r_less.registry.products,
        product_aliases=r_all.registry.product_aliases,
        shops=r_less.registry.shops,
        shop_aliases=r_all.registry.shop_aliases,
    )
    assert {p["product_id"] for p in r_less.registry.products} == {
        p["product_id"] for p in r_all.registry.products
    }


# --- Iceberg I/O --------------------------------------------------------------------------


@pytest.fixture
def sql_catalog(tmp_path):
    return SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=f"file://{tmp_path}/wh")


def land(catalog, invoices, load_id: str) -> None:
    """Append invoices to bronze.invoices_raw the way the bronze writer stores them."""
    catalog.create_namespace_if_not_exists("bronze")
    if not catalog.table_exists(INVOICES_RAW.identifier):
        catalog.create_table(
            INVOICES_RAW.identifier,
            schema=INVOICES_RAW.schema,
            partition_spec=INVOICES_RAW.partition_spec(),
        )
    now = datetime(2026, 1, 16, tzinfo=UTC)
    rows = []
    for i, inv in enumerate(invoices):
        raw = json.dumps(inv, ensure_ascii=False)
        rows.append(
            {
                "invoice_id": inv["invoice_id"],
                "revision": inv.get("revision", 1),
                "issued_at": now,
                "issued_date": date(2026, 1, 15),
                "payload_sha256": hashlib.sha256(raw.encode()).hexdigest(),
                "raw_json": raw,
                "source": "file",
                "slice_key": f"file:{load_id}",
                "source_position": str(i),
                "load_id": load_id,
                "ingested_at": now,
                "ingest_date": now.date(),
                "kafka_topic": None,
                "kafka_partition": None,
                "kafka_offset": None,
            }
        )
    table = pa.Table.from_pylist(rows, schema=schema_to_pyarrow(INVOICES_RAW.schema))
    catalog.load_table(INVOICES_RAW.identifier).append(table)


def snapshots(catalog) -> dict[str, int]:
    return {
        t.identifier: len(catalog.load_table(t.identifier).snapshots()) for t in RESOLUTION_TABLES
    }


def test_run_resolution_on_an_empty_catalog_creates_empty_tables(sql_catalog):
    summary = run_resolution(sql_catalog, now=T1)
    assert summary.products.aliases == summary.shops.entities == 0
    assert all(sql_catalog.table_exists(t.identifier) for t in RESOLUTION_TABLES)


def test_run_resolution_round_trip(sql_catalog, fixture_invoices):
    first, everything = split(fixture_invoices)
    land(sql_catalog, first, "L1")
    s1 = run_resolution(sql_catalog, now=T1)
    reg1 = load_registry(sql_catalog)
    assert s1.products.aliases == s1.products.new_aliases == len(reg1.product_aliases) > 0
    assert s1.shops.entities == len(reg1.shops) > 0
    # tables match the declared schemas, timestamps are UTC, raw strings are exact
    alias = next(r for r in reg1.product_aliases if r["raw_brand"] == "")
    assert alias["first_seen_at"] == T1
    raw_names = {ln["product_name"] for inv in first for ln in inv["lines"]}
    assert {r["raw_name"] for r in reg1.product_aliases} == raw_names

    # a re-run over the same bronze writes nothing and changes nothing
    before = snapshots(sql_catalog)
    s1b = run_resolution(sql_catalog, now=T2)
    assert snapshots(sql_catalog) == before
    assert load_registry(sql_catalog) == reg1
    assert s1b.products.new_aliases == s1b.shops.new_entities == 0

    # new deliveries: old ids kept, new spellings resolved
    land(sql_catalog, [inv for inv in everything if inv not in first], "L2")
    s2 = run_resolution(sql_catalog, now=T3)
    reg2 = load_registry(sql_catalog)
    old = {r["alias_key"]: r["product_id"] for r in reg1.product_aliases}
    new = {r["alias_key"]: r["product_id"] for r in reg2.product_aliases}
    assert all(new[k] == v for k, v in old.items())
    assert s2.products.new_aliases == len(new) - len(old) > 0
    assert s2.products.aliases == len(new)


def test_duplicate_deliveries_in_bronze_do_not_change_the_result(
    sql_catalog, tmp_path, fixture_invoices
):
    land(sql_catalog, fixture_invoices, "L1")
    run_resolution(sql_catalog, now=T1)
    once = load_registry(sql_catalog)
    other = SqlCatalog("u", uri=f"sqlite:///{tmp_path}/d.db", warehouse=f"file://{tmp_path}/wh2")
    land(other, fixture_invoices, "L1")
    land(other, fixture_invoices[:10], "L2")  # re-delivered, byte-identical
    run_resolution(other, now=T1)
    assert load_registry(other) == once
