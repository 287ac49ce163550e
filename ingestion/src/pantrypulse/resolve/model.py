"""Plain data shapes of the resolver: spellings (aliases), observations, registry rows.

Registry rows are dicts keyed by the columns of `pantrypulse.tables` (PRODUCTS,
PRODUCT_ALIASES, SHOPS, SHOP_ALIASES), so the I/O layer converts them to Arrow without any
mapping and tests can compare them directly.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Row = dict[str, Any]


def md5_hex(*parts: str) -> str:
    """md5 hex of the parts joined by `|` (the alias_key recipe)."""
    return hashlib.md5("|".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def raw_text(value: Any) -> str:
    """A raw field as stored in an alias: the string exactly as delivered, `''` for null.

    Non-string scalars (a number where text was expected) are kept as their JSON-like text so
    nothing is silently dropped.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, order=True)
class ShopSpelling:
    """One shop alias: the six raw shop fields ('' for null)."""

    name: str
    brand: str = ""
    address: str = ""
    city: str = ""
    postal_code: str = ""
    tax_id: str = ""

    @property
    def alias_key(self) -> str:
        """md5 of `raw_name|raw_brand|raw_address|raw_city|raw_postal_code|raw_tax_id`."""
        return md5_hex(
            self.name, self.brand, self.address, self.city, self.postal_code, self.tax_id
        )

    @classmethod
    def from_payload(cls, shop: Mapping[str, Any]) -> ShopSpelling:
        """From an invoice's `shop` object."""
        return cls(
            raw_text(shop.get("name")),
            raw_text(shop.get("brand")),
            raw_text(shop.get("address")),
            raw_text(shop.get("city")),
            raw_text(shop.get("postal_code")),
            raw_text(shop.get("tax_id")),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ShopSpelling:
        """From a `resolution.shop_aliases` row."""
        return cls(
            row["raw_name"],
            row["raw_brand"],
            row["raw_address"],
            row["raw_city"],
            row["raw_postal_code"],
            row["raw_tax_id"],
        )


@dataclass(frozen=True, order=True)
class ProductSpelling:
    """One product alias: chain context, raw product name, raw brand ('' for null)."""

    shop_brand_key: str
    name: str
    brand: str = ""

    @property
    def alias_key(self) -> str:
        """md5 of `shop_brand_key|raw_name|raw_brand`."""
        return md5_hex(self.shop_brand_key, self.name, self.brand)


@dataclass
class ShopObservation:
    """A shop spelling with how often it was seen (invoices) and the countries printed."""

    spelling: ShopSpelling
    count: int = 0
    countries: Counter = field(default_factory=Counter)


@dataclass
class ProductObservation:
    """A product spelling with its line count, categories, unit prices and weighed lines.

    Prices are evidence: one product at one chain has one price.
    """

    spelling: ProductSpelling
    count: int = 0
    categories: Counter = field(default_factory=Counter)
    prices: list[float] = field(default_factory=list)
    weighed: int = 0  # lines sold by weight (kg/g unit or a fractional quantity)
    codes: Counter = field(default_factory=Counter)  # valid GTIN/EAN barcodes printed on lines


@dataclass
class Registry:
    """The four registry tables as lists of row dicts (columns as in `pantrypulse.tables`)."""

    products: list[Row] = field(default_factory=list)
    product_aliases: list[Row] = field(default_factory=list)
    shops: list[Row] = field(default_factory=list)
    shop_aliases: list[Row] = field(default_factory=list)

    def is_empty(self) -> bool:
        """No rows in any table."""
        return not (self.products or self.product_aliases or self.shops or self.shop_aliases)


@dataclass(frozen=True)
class EntityCounts:
    """Aliases and canonical entities after a run, and how many of each are new."""

    aliases: int
    new_aliases: int
    entities: int
    new_entities: int


@dataclass(frozen=True)
class ResolutionSummary:
    """What a resolution run did."""

    products: EntityCounts
    shops: EntityCounts
    invoices: int = 0
    lines: int = 0
    elapsed_s: float = 0.0

    def __str__(self) -> str:
        p, s = self.products, self.shops
        return (
            f"resolution: {self.invoices} invoices, {self.lines} lines in {self.elapsed_s:.2f}s; "
            f"products {p.entities} ({p.new_entities} new) from {p.aliases} spellings "
            f"({p.new_aliases} new); shops {s.entities} ({s.new_entities} new) from "
            f"{s.aliases} spellings ({s.new_aliases} new)"
        )


@dataclass
class ResolutionResult:
    """The registry after a run plus lookups from raw spellings to canonical ids."""

    registry: Registry
    summary: ResolutionSummary
    now: datetime | None = None
    _shop_by_key: dict[str, Row] = field(default_factory=dict, repr=False)
    _shop_rows: dict[str, Row] = field(default_factory=dict, repr=False)
    _product_by_key: dict[str, Row] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._shop_by_key = {r["alias_key"]: r for r in self.registry.shop_aliases}
        self._shop_rows = {r["shop_id"]: r for r in self.registry.shops}
        self._product_by_key = {r["alias_key"]: r for r in self.registry.product_aliases}

    def shop_id(self, shop: Mapping[str, Any] | ShopSpelling) -> str | None:
        """Canonical shop id of an invoice's shop object (or spelling)."""
        sp = shop if isinstance(shop, ShopSpelling) else ShopSpelling.from_payload(shop)
        row = self._shop_by_key.get(sp.alias_key)
        return row["shop_id"] if row else None

    def shop_brand_key(self, shop: Mapping[str, Any] | ShopSpelling) -> str | None:
        """Chain key of an invoice's shop (the context of its product spellings)."""
        sid = self.shop_id(shop)
        return self._shop_rows[sid]["shop_brand_key"] if sid in self._shop_rows else None

    def product_id(self, shop_brand_key: str, name: Any, brand: Any = None) -> str | None:
        """Canonical product id of a line printed at a shop of chain `shop_brand_key`."""
        key = ProductSpelling(shop_brand_key, raw_text(name), raw_text(brand)).alias_key
        row = self._product_by_key.get(key)
        return row["product_id"] if row else None
