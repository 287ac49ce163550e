"""Shelf prices per chain and product: inflation in steps, and short promotions.

Each chain reprices its shelf every one to five weeks; at each repricing a product's price
follows its own monthly inflation (0.2-0.5 %) from its opening price, rounded to the cent.
Promotions last one or two weeks and either cut the unit price, take a share off the line,
or make the second unit half price.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pantrypulse.simulator.catalogue import CHAIN_BY_ID, CHAINS, Product, rng_for

CENT = Decimal("0.01")
DAYS_PER_MONTH = 30.4375


def money(value: Decimal | float | int) -> Decimal:
    """Round half up to the cent, the way tills do."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _shelf_cents(euros: float) -> int:
    """An opening price that looks like a shelf price (x.x9 / x.x5 above a euro)."""
    cents = round(euros * 100)
    if cents < 100:
        return max(cents, 5)
    rounded = 5 * round(cents / 5)
    return rounded - 1 if rounded % 10 == 0 else rounded


@dataclass(frozen=True)
class Promo:
    """A promotion on one product at one chain, days counted from the start date."""

    first_day: int
    last_day: int
    kind: str  # price | pct | second_half
    value: float  # price: share cut off the unit price; pct: share off the line


class PriceBook:
    """Deterministic prices for every (chain, product, day)."""

    def __init__(self, seed: int, days: int) -> None:
        self.seed = seed
        self.days = days
        self._revisions: dict[str, list[int]] = {}
        for chain in CHAINS:
            rng = rng_for(seed, "repricing", chain.chain_id)
            day, revisions = 0, [0]
            while day < days:
                day += rng.randint(7, 35)
                revisions.append(day)
            self._revisions[chain.chain_id] = revisions
        self._opening: dict[tuple[str, str], tuple[int, float]] = {}
        self._promos: dict[tuple[str, str], list[Promo]] = {}

    def _product_terms(self, chain_id: str, product: Product) -> tuple[int, float]:
        key = (chain_id, product.product_id)
        if key not in self._opening:
            rng = rng_for(self.seed, "price", chain_id, product.product_id)
            factor = CHAIN_BY_ID[chain_id].price_factor * rng.uniform(0.94, 1.06)
            self._opening[key] = (
                _shelf_cents(product.base_price * factor),
                rng.uniform(0.002, 0.005),
            )
        return self._opening[key]

    def regular(self, chain_id: str, product: Product, day: int) -> Decimal:
        """The shelf price (per unit, or per kg for loose goods) on `day`."""
        opening, monthly = self._product_terms(chain_id, product)
        revisions = self._revisions[chain_id]
        priced_on = revisions[bisect.bisect_right(revisions, day) - 1]
        cents = opening * (1 + monthly) ** (priced_on / DAYS_PER_MONTH)
        return Decimal(math.floor(cents + 0.5)) / 100

    def promos(self, chain_id: str, product: Product) -> list[Promo]:
        """All promotions of a product at a chain over the span."""
        key = (chain_id, product.product_id)
        if key not in self._promos:
            rng = rng_for(self.seed, "promo", chain_id, product.product_id)
            found = []
            for block in range(0, self.days, 28):
                if rng.random() >= 0.12:
                    continue
                first = block + rng.randrange(21)
                length = rng.choice((7, 7, 14))
                kind = (
                    "price"
                    if product.loose
                    else rng.choice(("price", "price", "pct", "second_half"))
                )
                value = rng.choice((0.1, 0.15, 0.2, 0.25, 0.3)) if kind != "second_half" else 0.5
                found.append(Promo(first, first + length - 1, kind, value))
            self._promos[key] = found
        return self._promos[key]

    def promo_on(self, chain_id: str, product: Product, day: int) -> Promo | None:
        """The promotion running on `day`, if any."""
        for promo in self.promos(chain_id, product):
            if promo.first_day <= day <= promo.last_day:
                return promo
        return None


def price_line(
    regular: Decimal, quantity: float | int, promo: Promo | None
) -> tuple[Decimal, Decimal, Decimal]:
    """(unit_price, discount, line_total) for a line, promotions applied."""
    unit_price, discount = regular, Decimal("0")
    qty = Decimal(str(quantity))
    if promo is not None and promo.kind == "price":
        unit_price = money(regular * Decimal(str(1 - promo.value)))
    elif promo is not None and promo.kind == "pct":
        discount = money(qty * unit_price * Decimal(str(promo.value)))
    elif promo is not None and promo.kind == "second_half" and int(quantity) >= 2:
        discount = money(unit_price * Decimal("0.5") * (int(quantity) // 2))
    return unit_price, discount, money(qty * unit_price - discount)
