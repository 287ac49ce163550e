"""The pure resolution API: invoices (parsed JSON) + previous registry -> new registry.

    result = resolve_invoices(invoices, previous=registry, now=now)
    result.registry.products, ...product_aliases, ...shops, ...shop_aliases   # row dicts
    result.shop_id(invoice["shop"]); result.product_id(sbk, line["product_name"], brand)

Shops are resolved first (each invoice's shop gets a chain key, `shop_brand_key`), then the
product spellings are formed per chain and resolved, with the barcodes their lines print
(`ean`, `gtin` or `barcode`, when valid) and which spellings share a receipt. No I/O here:
`registry.py` reads bronze and writes the Iceberg tables around this.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pantrypulse.resolve.model import (
    EntityCounts,
    ProductObservation,
    ProductSpelling,
    Registry,
    ResolutionResult,
    ResolutionSummary,
    ShopObservation,
    ShopSpelling,
    raw_text,
)
from pantrypulse.resolve.normalize import gtin
from pantrypulse.resolve.products import resolve_products
from pantrypulse.resolve.shops import resolve_shops


class _Collected:
    """Shop observations and, per shop spelling, the product spellings printed there."""

    def __init__(self) -> None:
        self.shops: dict[ShopSpelling, ShopObservation] = {}
        self.lines: dict[ShopSpelling, dict[tuple[str, str], list]] = defaultdict(dict)
        self.invoices = 0
        self.line_count = 0
        self.baskets: set[tuple[ShopSpelling, frozenset[tuple[str, str]]]] = set()

    def add(self, inv: Mapping[str, Any]) -> bool:
        shop = inv.get("shop")
        lines = inv.get("lines")
        if not isinstance(shop, Mapping) or not isinstance(lines, list):
            return False
        sp = ShopSpelling.from_payload(shop)
        if not sp.name:
            return False
        obs = self.shops.get(sp)
        if obs is None:
            obs = self.shops[sp] = ShopObservation(sp, 0, Counter())
        obs.count += 1
        obs.countries[raw_text(shop.get("country")).strip().upper()] += 1
        per_shop = self.lines[sp]
        basket = set()
        for line in lines:
            if not isinstance(line, Mapping):
                continue
            name = raw_text(line.get("product_name"))
            if not name:
                continue
            k = (name, raw_text(line.get("product_brand")))
            basket.add(k)
            slot = per_shop.get(k)
            if slot is None:
                slot = per_shop[k] = [0, Counter(), [], 0, Counter()]
            slot[0] += 1
            cat = line.get("category")
            if isinstance(cat, str) and cat.strip():
                slot[1][cat.strip()] += 1
            price = line.get("unit_price")
            if isinstance(price, int | float) and not isinstance(price, bool) and price > 0:
                slot[2].append(float(price))
            if _weighed(line):
                slot[3] += 1
            code = gtin(line.get("ean") or line.get("gtin") or line.get("barcode"))
            if code:
                slot[4][code] += 1
            self.line_count += 1
        if len(basket) > 1:
            self.baskets.add((sp, frozenset(basket)))
        self.invoices += 1
        return True


_WEIGHT_UNITS = {"kg", "kgs", "kilo", "kilos", "g", "gr", "grs", "gramos", "lb", "lbs", "oz"}


def _weighed(line: Mapping[str, Any]) -> bool:
    unit = line.get("unit")
    if isinstance(unit, str) and unit.strip().casefold().rstrip(".") in _WEIGHT_UNITS:
        return True
    q = line.get("quantity")
    return isinstance(q, float) and not q.is_integer()


def resolve_invoices(
    invoices: Iterable[Mapping[str, Any]],
    previous: Registry | None = None,
    now: datetime | None = None,
    shop_policy: str = "unknown",
    guard_unknown_size: bool = True,
) -> ResolutionResult:
    """Resolve every shop and product spelling in `invoices` against `previous`.

    Deterministic: the same invoices (in any order) and registry give the same result.
    Every invoice given counts (the I/O layer drops byte-identical re-deliveries); every
    revision's spellings are resolved. `now` stamps new ids and aliases (default: now, UTC).
    """
    t0 = time.perf_counter()
    now = now or datetime.now(UTC)
    previous = previous or Registry()
    col = _Collected()
    for inv in invoices:
        col.add(inv)

    shop_rows, shop_alias_rows, shop_stats = resolve_shops(
        list(col.shops.values()), previous.shops, previous.shop_aliases, now, shop_policy
    )
    alias_to_shop = {r["alias_key"]: r["shop_id"] for r in shop_alias_rows}
    sbk_of_shop = {r["shop_id"]: r["shop_brand_key"] for r in shop_rows}

    prod_obs: dict[ProductSpelling, ProductObservation] = {}
    for sp in sorted(col.lines):
        sbk = sbk_of_shop[alias_to_shop[sp.alias_key]]
        for (name, brand), (count, cats, prices, weighed, codes) in sorted(col.lines[sp].items()):
            psp = ProductSpelling(sbk, name, brand)
            obs = prod_obs.get(psp)
            if obs is None:
                obs = prod_obs[psp] = ProductObservation(psp, 0, Counter())
            obs.count += count
            obs.categories.update(cats)
            obs.prices.extend(prices)
            obs.weighed += weighed
            obs.codes.update(codes)

    # spellings printed on one receipt are two products (one product is one line)
    together: set[tuple[str, str]] = set()
    for sp, basket in col.baskets:
        sbk = sbk_of_shop[alias_to_shop[sp.alias_key]]
        keys = sorted(ProductSpelling(sbk, n, b).alias_key for n, b in basket)
        together.update((a, b) for i, a in enumerate(keys) for b in keys[i + 1 :])

    product_rows, product_alias_rows, product_stats = resolve_products(
        [prod_obs[k] for k in sorted(prod_obs)],
        previous.products,
        previous.product_aliases,
        now,
        guard_unknown_size,
        together,
    )
    registry = Registry(product_rows, product_alias_rows, shop_rows, shop_alias_rows)
    summary = ResolutionSummary(
        products=EntityCounts(**product_stats),
        shops=EntityCounts(**shop_stats),
        invoices=col.invoices,
        lines=col.line_count,
        elapsed_s=round(time.perf_counter() - t0, 3),
    )
    return ResolutionResult(registry, summary, now)
