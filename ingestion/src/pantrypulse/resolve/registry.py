"""Registry I/O: bronze in, the four `resolution.*` Iceberg tables out.

    summary = run_resolution(catalog)            # any pyiceberg catalog

reads every accepted delivery in `bronze.invoices_raw` (raw JSON parsed; undecodable rows
skipped), loads the current registry (creating the tables from `pantrypulse.tables` when they
do not exist), resolves with `engine.resolve_invoices` and overwrites each registry table
that changed, in one atomic `overwrite` per table: aliases first, then entities. A re-run
over the same bronze reproduces the registry exactly, so it writes nothing.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from pantrypulse.catalog import ensure_table
from pantrypulse.resolve.engine import resolve_invoices
from pantrypulse.resolve.model import Registry, ResolutionResult, ResolutionSummary, Row
from pantrypulse.tables import (
    INVOICES_RAW,
    PRODUCT_ALIASES,
    PRODUCTS,
    RESOLUTION_TABLES,
    SHOP_ALIASES,
    SHOPS,
    TableDef,
)

log = logging.getLogger(__name__)

_BRONZE_FIELDS = ("invoice_id", "revision", "payload_sha256", "raw_json")
_REGISTRY_ATTR = {
    PRODUCTS.name: "products",
    PRODUCT_ALIASES.name: "product_aliases",
    SHOPS.name: "shops",
    SHOP_ALIASES.name: "shop_aliases",
}


def ensure_registry_tables(catalog) -> None:
    """Create the `resolution` namespace and the four registry tables when missing."""
    for t in RESOLUTION_TABLES:
        if not catalog.table_exists(t.identifier):
            ensure_table(catalog, t)


def iter_bronze_invoices(catalog) -> Iterator[dict[str, Any]]:
    """Every distinct accepted delivery in bronze, parsed (identical payloads once)."""
    if not catalog.table_exists(INVOICES_RAW.identifier):
        return
    table = catalog.load_table(INVOICES_RAW.identifier)
    data = table.scan(selected_fields=_BRONZE_FIELDS).to_arrow()
    seen: set[str] = set()
    bad = 0
    shas = data.column("payload_sha256").to_pylist()
    raws = data.column("raw_json").to_pylist()
    order = sorted(range(len(raws)), key=lambda i: (shas[i] or "", i))
    for i in order:
        sha = shas[i]
        if sha and sha in seen:
            continue
        if sha:
            seen.add(sha)
        try:
            inv = json.loads(raws[i])
        except (TypeError, ValueError):
            bad += 1
            continue
        if isinstance(inv, dict):
            yield inv
        else:
            bad += 1
    if bad:
        log.warning("resolution skipped %d bronze rows whose raw_json is not an object", bad)


def _read_table(catalog, t: TableDef) -> list[Row]:
    if not catalog.table_exists(t.identifier):
        return []
    return catalog.load_table(t.identifier).scan().to_arrow().to_pylist()


def load_registry(catalog) -> Registry:
    """The current registry (empty lists for tables that do not exist yet)."""
    reg = Registry()
    for t in RESOLUTION_TABLES:
        setattr(reg, _REGISTRY_ATTR[t.name], _read_table(catalog, t))
    return reg


def to_arrow(t: TableDef, rows: list[Row]) -> pa.Table:
    """Rows as an Arrow table with exactly the Iceberg schema of `t`."""
    schema = schema_to_pyarrow(t.schema)
    names = [f.name for f in schema]
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)


def _canonical(rows: list[Row], key: str) -> list[tuple]:
    out = []
    for r in sorted(rows, key=lambda r: r[key]):
        items = []
        for k in sorted(r):
            v = r[k]
            if isinstance(v, datetime):
                v = v.astimezone(UTC).replace(tzinfo=None)
            items.append((k, v))
        out.append(tuple(items))
    return out


def write_registry(catalog, registry: Registry, previous: Registry | None = None) -> list[str]:
    """Overwrite each registry table whose content changed; return the ones written."""
    ensure_registry_tables(catalog)
    written = []
    for t, key in (
        (PRODUCT_ALIASES, "alias_key"),
        (SHOP_ALIASES, "alias_key"),
        (PRODUCTS, "product_id"),
        (SHOPS, "shop_id"),
    ):
        attr = _REGISTRY_ATTR[t.name]
        rows = getattr(registry, attr)
        if previous is not None and _canonical(rows, key) == _canonical(
            getattr(previous, attr), key
        ):
            continue
        with warnings.catch_warnings():  # overwriting an empty table "matches no records"
            warnings.filterwarnings("ignore", message="Delete operation did not match")
            catalog.load_table(t.identifier).overwrite(to_arrow(t, rows))
        written.append(t.identifier)
    return written


def resolve_catalog(
    catalog, now: datetime | None = None, shop_policy: str = "unknown"
) -> ResolutionResult:
    """Resolve bronze against the stored registry and write the result back."""
    ensure_registry_tables(catalog)
    previous = load_registry(catalog)
    result = resolve_invoices(iter_bronze_invoices(catalog), previous, now, shop_policy)
    written = write_registry(catalog, result.registry, previous)
    log.info("resolution wrote %s; %s", written or "nothing (unchanged)", result.summary)
    return result


def run_resolution(catalog, now: datetime | None = None) -> ResolutionSummary:
    """Resolve every product and shop spelling in bronze; refresh the registry tables.

    Ids already assigned never change; new spellings are matched to existing canonical
    entities first. Idempotent: with no new bronze data nothing is rewritten.
    """
    return resolve_catalog(catalog, now).summary
