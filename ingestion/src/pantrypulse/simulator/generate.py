"""Generate invoices, their deliveries and the ground truth, deterministically from a seed.

Households shop at their favourite branches one to four times a week; each trip becomes one
invoice printed in the chain's habits. Invoices are then delivered: most once on their
issue date, some late, some twice, some corrected later under a higher revision, and about
1 % broken in one specific way. Nothing arrives later than `max_late_days` after its issue
date, so an importer that re-reads that many days back sees everything.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import functools
import io
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pantrypulse.simulator.catalogue import (
    CHAIN_BY_ID,
    CHAINS,
    CITY_WEIGHTS,
    ITEM_BY_KEY,
    ITEMS,
    Chain,
    Product,
    Shop,
    build_products,
    build_shops,
    rng_for,
)
from pantrypulse.simulator.malformed import KINDS, MAIN_KINDS, compact, make_malformed
from pantrypulse.simulator.messy import (
    CATEGORY_VOCAB,
    STYLES,
    Spelling,
    build_shop_headers,
    build_spellings,
    print_shop,
)
from pantrypulse.simulator.pricing import PriceBook, money, price_line

SOURCE_SYSTEM = "pantrypulse-simulator"
DELIVERY_KINDS = ("ok", "duplicate", "correction", "late", "malformed")


@dataclass(frozen=True)
class SimulatorConfig:
    """What to simulate: the seed, the span, the number of households and delivery rates."""

    seed: int = 42
    start: dt.date = dt.date(2026, 5, 1)
    days: int = 183
    households: int = 30
    malformed_rate: float = 0.01
    duplicate_rate: float = 0.02
    correction_rate: float = 0.01
    late_rate: float = 0.03
    max_late_days: int = 5


@dataclass(frozen=True)
class Delivery:
    """One record as the source delivers it.

    `payload` is a dict for well-formed JSON objects, a str for raw JSON text (broken JSON,
    or valid JSON that is not an object) and bytes for records that are not UTF-8 (JSON
    Lines only: the HTTP source cannot carry them, see `Dataset.for_date`). `invoice_id` and
    `revision` are the truth of which invoice the record stands for, even when the payload
    itself lost them.
    """

    seq: int
    issue_date: dt.date
    available_on: dt.date
    kind: str
    payload: dict | str | bytes
    invoice_id: str | None
    revision: int | None
    expected_reason: str | None

    @property
    def http_servable(self) -> bool:
        """False for non-UTF-8 records, which only a JSON Lines file can carry."""
        return not isinstance(self.payload, bytes)


@dataclass
class Dataset:
    """The deliveries in source order and the ground truth behind them."""

    config: SimulatorConfig
    deliveries: list[Delivery]
    truth_products: list[dict]
    truth_shops: list[dict]
    truth_lines: list[dict]
    truth_invoices: list[dict]
    spelling_stats: dict = field(default_factory=dict, repr=False, compare=False)
    _by_date: dict | None = field(default=None, repr=False, compare=False)

    def for_date(self, day: dt.date, as_of: dt.date | None = None) -> list[Delivery]:
        """What the HTTP source lists under `day`, as of `as_of` (None: everything), in seq order.

        Deliveries whose available_on is after `as_of` are not there yet. Non-UTF-8 records
        (`invalid_encoding`) are JSON Lines only and never listed.
        """
        if self._by_date is None:
            index: dict[dt.date, list[Delivery]] = {}
            for d in self.deliveries:
                if d.http_servable:
                    index.setdefault(d.issue_date, []).append(d)
            self._by_date = index
        listed = self._by_date.get(day, [])
        if as_of is None:
            return list(listed)
        return [d for d in listed if d.available_on <= as_of]

    def dates(self) -> list[dt.date]:
        """Every issue date that has at least one delivery, ascending."""
        return sorted({d.issue_date for d in self.deliveries})

    def summary(self) -> dict:
        """Headline numbers: sizes, delivery kinds, malformed kinds, spelling variety."""
        kinds: dict[str, int] = {k: 0 for k in DELIVERY_KINDS}
        reasons: dict[str, int] = {k: 0 for k in KINDS}
        lines = 0
        for d in self.deliveries:
            kinds[d.kind] += 1
            if d.expected_reason:
                reasons[d.expected_reason] += 1
            elif isinstance(d.payload, dict):
                lines += len(d.payload["lines"])
        return {
            "deliveries": len(self.deliveries),
            "invoices": len({d.invoice_id for d in self.deliveries}),
            "lines_in_valid_deliveries": lines,
            "chains": len({s["chain_id"] for s in self.truth_shops}),
            "shops": len(self.truth_shops),
            "products": len(self.truth_products),
            "categories": len({p["category"] for p in self.truth_products}),
            "kinds": kinds,
            "malformed_by_reason": reasons,
            **self.spelling_stats,
        }


# --------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() - 6) % 7)


def madrid_offset(day: dt.date) -> dt.timezone:
    """The Europe/Madrid UTC offset during shop hours on `day` (EU summer time rule)."""
    summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    return dt.timezone(dt.timedelta(hours=2 if summer else 1))


# --------------------------------------------------------------------------------------
# Chain invoice habits
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceHabits:
    """What a chain's invoice feed puts around the lines."""

    revision: float  # share of first revisions that say "revision": 1 explicitly
    payment: tuple[str | None, ...]  # card, cash, mobile as this feed spells them
    loyalty: bool
    cashier: bool
    terminal: bool
    ean: bool
    vat_rate: bool


# fmt: off
HABITS = {
    "B01": InvoiceHabits(0.0, ("TARJETA", "EFECTIVO", "TARJETA"), False, False, False, False,
                         False),
    "B02": InvoiceHabits(1.0, ("Tarjeta", "Efectivo", "Bizum"), False, False, True, False, False),
    "B03": InvoiceHabits(0.5, ("card", "cash", "card"), True, False, False, False, False),
    "B04": InvoiceHabits(1.0, ("card", "cash", "mobile"), True, False, False, True, False),
    "B05": InvoiceHabits(0.0, ("TARJETA", "EFECTIVO", "TARJETA"), False, False, False, False,
                         False),
    "B06": InvoiceHabits(0.3, ("Visa", "Efectivo", "Visa"), False, True, False, False, False),
    "B07": InvoiceHabits(1.0, ("targeta", "efectiu", "targeta"), True, False, False, False,
                         False),
    "B08": InvoiceHabits(1.0, ("TARJETA", "EFECTIVO", "MOVIL"), True, False, False, False, True),
    "B09": InvoiceHabits(0.5, ("card", "cash", "card"), True, False, False, False, False),
    "B10": InvoiceHabits(0.0, (None, None, None), False, False, False, False, False),
}
# fmt: on
_SUPER_REDUCED = ("fruit", "vegetables", "bakery", "dairy")
_FULL_RATE_ITEMS = (
    "cerveza",
    "cerveza_sin",
    "vino_tinto",
    "vino_blanco",
    "cola",
    "cola_zero",
    "naranjada",
    "tonica",
)


def _vat(product: Product) -> int:
    if product.category in ("household", "personal_care") or product.item_key in _FULL_RATE_ITEMS:
        return 21
    return 4 if product.category in _SUPER_REDUCED else 10


def _invoice_id(chain_id: str, shop: Shop, when: dt.datetime, ticket: int, rng) -> str:
    ymd = when.strftime("%Y%m%d")
    code = shop.store_code
    formats = {
        "B01": lambda: f"MV-{code}-{ymd}-{ticket:05d}",
        "B02": lambda: f"AH{code}{when:%y%m%d}{ticket:06d}",
        "B03": lambda: f"{code}/{when:%Y}/{ticket:07d}",
        "B04": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "B05": lambda: f"LDL{code}{ymd}{ticket:05d}",
        "B06": lambda: f"FQ-{ticket:08d}-{code}",
        "B07": lambda: f"{code}{ymd}{ticket:05d}",
        "B08": lambda: f"ER/{code}/{ticket}",
        "B09": lambda: f"CSM{ymd}-{code}-{ticket:05d}",
        "B10": lambda: f"ALD{code}{ticket:09d}",
    }
    return formats[chain_id]()


# --------------------------------------------------------------------------------------
# Households and trips
# --------------------------------------------------------------------------------------


@dataclass
class Household:
    """A household: where it lives, where it shops, what and how often it buys."""

    hid: str
    city: str
    members: int
    shops: list[str]
    shop_weights: list[float]
    trips_per_week: float
    needs: list[str]
    need_weights: list[float]
    pl_affinity: float
    payment: int  # index into the chain's payment spellings
    cards: dict[str, str]
    picks: dict[tuple[str, str], str] = field(default_factory=dict)


def _households(seed: int, count: int, shops: list[Shop]) -> list[Household]:
    cities = [c for c, _ in CITY_WEIGHTS]
    weights = [w for _, w in CITY_WEIGHTS]
    out = []
    for i in range(count):
        hid = f"H{i + 1:03d}"
        rng = rng_for(seed, "household", hid)
        city = rng.choices(cities, weights=weights)[0]
        local = [s.shop_id for s in shops if s.city == city]
        favourites = rng.sample(local, min(len(local), rng.choice((1, 2, 2, 3, 3))))
        shop_weights = [0.6, 0.3, 0.1][: len(favourites)]
        members = rng.choice((1, 2, 2, 3, 3, 4, 4, 5))
        baby = rng.random() < 0.15
        needs, need_weights = [], []
        for item in ITEMS:
            if item.key in ("panales", "toallitas") and not baby:
                continue
            if rng.random() < min(0.95, 0.25 + 0.3 * item.staple):
                needs.append(item.key)
                need_weights.append(item.staple * rng.lognormvariate(0, 0.6))
        cards = {}
        for chain in CHAINS:
            if HABITS[chain.chain_id].loyalty and rng.random() < 0.5:
                cards[chain.chain_id] = f"**** **** {rng.randrange(10000):04d}"
        out.append(
            Household(
                hid=hid,
                city=city,
                members=members,
                shops=favourites,
                shop_weights=shop_weights,
                trips_per_week=rng.uniform(1.0, 4.0),
                needs=needs,
                need_weights=need_weights,
                pl_affinity=rng.uniform(0.2, 0.9),
                payment=rng.choices((0, 1, 2), (6, 3, 1))[0],
                cards=cards,
            )
        )
    return out


@dataclass
class _Line:
    product: Product
    quantity: float | int
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


@dataclass
class _Trip:
    household: Household
    shop: Shop
    local: dt.datetime
    day: int
    lines: list[_Line]


# Weekday factors (Mon..Sun): Saturday is the big day, most shops close on Sunday.
_WEEKDAY = (0.95, 0.95, 0.95, 0.95, 1.2, 1.5, 0.2)
_WEEKDAY_NORM = 7 / sum(_WEEKDAY)
_LOOSE_KG = {
    "fruit": (0.4, 2.2),
    "vegetables": (0.25, 1.8),
    "meat": (0.3, 1.3),
    "fish": (0.25, 1.1),
    "deli": (0.1, 0.4),
}


@dataclass(frozen=True)
class _Catalogue:
    shops: tuple[Shop, ...]
    products: tuple[Product, ...]
    spellings: dict[tuple[str, str], list[Spelling]]
    shared_private_label_pairs: int
    headers: dict


@functools.lru_cache(maxsize=4)
def _catalogue(seed: int) -> _Catalogue:
    # Depends on the seed alone and is never mutated, so repeated runs (tests, the demo
    # after `simulate`) can share it instead of rebuilding every spelling.
    shops = build_shops(seed)
    products = build_products(seed)
    spellings, registry = build_spellings(seed, products)
    return _Catalogue(
        tuple(shops),
        tuple(products),
        spellings,
        registry.shared_private_label_pairs,
        build_shop_headers(seed, shops),
    )


class _World:
    """The catalogue, indexes and prices that trips draw from."""

    def __init__(self, config: SimulatorConfig) -> None:
        seed = config.seed
        self.config = config
        catalogue = _catalogue(seed)
        self.shops = list(catalogue.shops)
        self.shop_by_id = {s.shop_id: s for s in self.shops}
        self.products = list(catalogue.products)
        self.spellings = catalogue.spellings
        self.shared_private_label_pairs = catalogue.shared_private_label_pairs
        self.headers = catalogue.headers
        self.prices = PriceBook(seed, config.days)
        self.by_item_chain: dict[tuple[str, str], list[Product]] = {}
        for p in self.products:
            for c in p.chains:
                self.by_item_chain.setdefault((p.item_key, c), []).append(p)

    def pick(self, household: Household, item_key: str, chain_id: str, rng) -> Product | None:
        candidates = self.by_item_chain.get((item_key, chain_id))
        if not candidates:
            return None
        if rng.random() < 0.05:
            return rng.choice(candidates)  # trying something else this once
        key = (item_key, chain_id)
        if key not in household.picks:
            prefs = rng_for(self.config.seed, "pick", household.hid, item_key, chain_id)
            item = ITEM_BY_KEY[item_key]
            loyal = rng_for(self.config.seed, "brand-pref", household.hid, item_key)
            wants_pl = not item.brands or loyal.random() < household.pl_affinity
            brand = None if wants_pl else loyal.choice(item.brands)
            liked = [
                p
                for p in candidates
                if (p.private_label_of == chain_id if wants_pl else p.brand == brand)
            ]
            pool = liked or candidates
            if household.members >= 3 and len(pool) > 1 and prefs.random() < 0.6:
                choice = max(pool, key=lambda p: ((p.size_value or 0) * p.pack, p.product_id))
            else:
                choice = prefs.choice(pool)
            household.picks[key] = choice.product_id
        pid = household.picks[key]
        return next(p for p in candidates if p.product_id == pid)

    def quantity(self, product: Product, rng, promo: bool) -> float | int:
        if product.loose:
            low, high = _LOOSE_KG.get(product.category, (0.3, 1.5))
            return round(rng.uniform(low, high), 3)
        item = ITEM_BY_KEY[product.item_key]
        if item.key == "bolsa_compra":
            return rng.choice((1, 1, 2, 3))
        if item.staple >= 2 and product.pack == 1:
            qty = rng.choice((1, 2, 2, 3, 4, 6))
        else:
            qty = rng.choices((1, 2, 3, 4, 6), (68, 20, 7, 3, 2))[0]
        return qty + 1 if promo and rng.random() < 0.3 else qty

    def trip(self, household: Household, day: int, rng) -> _Trip | None:
        cfg = self.config
        date = cfg.start + dt.timedelta(days=day)
        if rng.random() < 0.03:
            shop = rng.choice(self.shops)  # away from home: visiting, on holiday
        else:
            shop = self.shop_by_id[rng.choices(household.shops, household.shop_weights)[0]]
        minute = rng.randint(9 * 60, 21 * 60 + 45)
        local = dt.datetime(
            date.year,
            date.month,
            date.day,
            minute // 60,
            minute % 60,
            rng.randrange(60),
            tzinfo=madrid_offset(date),
        )
        big = rng.random() < (0.35 if date.weekday() >= 4 else 0.2)
        wanted = rng.randint(12, 30) if big else rng.randint(3, 11)
        keys = sorted(
            (
                (rng.random() ** (1.0 / w), k)
                for k, w in zip(household.needs, household.need_weights, strict=True)
            ),
            reverse=True,
        )
        lines: list[_Line] = []
        for _, item_key in keys:
            if len(lines) >= wanted:
                break
            product = self.pick(household, item_key, shop.chain_id, rng)
            if product is None:
                continue
            promo = self.prices.promo_on(shop.chain_id, product, day)
            qty = self.quantity(product, rng, promo is not None)
            regular = self.prices.regular(shop.chain_id, product, day)
            lines.append(_Line(product, qty, *price_line(regular, qty, promo)))
        if not lines:
            return None
        if len(lines) < 30 and rng.random() < 0.02:
            # The same article scanned twice shows up as two lines.
            again = next((ln for ln in lines if not ln.product.loose), None)
            if again is not None:
                unit_price, discount, total = price_line(again.unit_price, 1, None)
                lines.append(_Line(again.product, 1, unit_price, discount, total))
        return _Trip(household, shop, local, day, lines)


def _trips(world: _World, households: list[Household]) -> list[_Trip]:
    cfg = world.config
    trips = []
    for household in households:
        rng = rng_for(cfg.seed, "trips", household.hid)
        for day in range(cfg.days):
            weekday = (cfg.start + dt.timedelta(days=day)).weekday()
            chance = household.trips_per_week / 7 * _WEEKDAY[weekday] * _WEEKDAY_NORM
            if rng.random() < chance:
                trip = world.trip(household, day, rng)
                if trip is not None:
                    trips.append(trip)
    trips.sort(key=lambda t: (t.local, t.shop.shop_id, t.household.hid))
    return trips


# --------------------------------------------------------------------------------------
# Printing invoices
# --------------------------------------------------------------------------------------


def _spelling(world: _World, chain: Chain, product: Product, day: int, rng) -> Spelling:
    style = STYLES[chain.chain_id]
    post = style.firmware is not None and day >= style.firmware[0]
    options = [
        s
        for s in world.spellings[(chain.chain_id, product.product_id)]
        if s.era == "all" or (s.era == "post") == post
    ]
    return rng.choices(options, weights=[s.weight for s in options])[0]


def _number(value: Decimal) -> float:
    return float(value)


def _print_line(world: _World, chain: Chain, line_no: int, line: _Line, day: int, rng) -> dict:
    style = STYLES[chain.chain_id]
    habits = HABITS[chain.chain_id]
    spelling = _spelling(world, chain, line.product, day, rng)
    out: dict = {"line_no": line_no, "product_name": spelling.name}
    if spelling.brand is not None or style.null_keys:
        out["product_brand"] = spelling.brand
    if rng.random() < style.category_field:
        out["category"] = CATEGORY_VOCAB[style.category_vocab][line.product.category]
    elif style.null_keys:
        out["category"] = None
    out["quantity"] = line.quantity
    unit = style.unit_words[1] if line.product.loose else style.unit_words[0]
    if unit is not None or style.null_keys:
        out["unit"] = unit
    out["unit_price"] = _number(line.unit_price)
    if line.discount or style.null_keys:
        out["discount"] = _number(line.discount)
    out["line_total"] = _number(line.line_total)
    if habits.ean and rng.random() < 0.7:
        out["ean"] = line.product.ean
    if habits.vat_rate:
        out["vat_rate"] = _vat(line.product)
    return out


def _print_invoice(world: _World, trip: _Trip, invoice_id: str, rng) -> dict:
    chain = CHAIN_BY_ID[trip.shop.chain_id]
    habits = HABITS[chain.chain_id]
    invoice: dict = {"invoice_id": invoice_id}
    if rng.random() < habits.revision:
        invoice["revision"] = 1
    invoice["issued_at"] = trip.local.isoformat()
    invoice["shop"], _ = print_shop(rng, world.headers[trip.shop.shop_id])
    invoice["currency"] = "EUR"
    invoice["lines"] = [
        _print_line(world, chain, i + 1, line, trip.day, rng) for i, line in enumerate(trip.lines)
    ]
    total = sum((line.line_total for line in trip.lines), Decimal("0"))
    if len(trip.lines) > 1 and rng.random() < 0.01:
        total += Decimal("0.01") * rng.choice((1, -1))  # the till rounded the total its way
    invoice["total"] = _number(total)
    invoice["payment_method"] = habits.payment[trip.household.payment]
    card = trip.household.cards.get(chain.chain_id)
    if card and rng.random() < 0.9:
        invoice["loyalty_card"] = card
    if habits.cashier:
        invoice["cashier"] = f"Caja {rng.randint(1, 8)}"
    if habits.terminal:
        invoice["terminal_id"] = f"TPV-{trip.shop.store_code}-{rng.randint(1, 6):02d}"
    invoice["source"] = {
        "system": SOURCE_SYSTEM,
        "workflow_id": f"wf-invoices-{chain.chain_id.lower()}",
        "execution_id": f"{rng.getrandbits(64):016x}",
    }
    return invoice


def _recompute(invoice: dict) -> None:
    total = Decimal("0")
    for line in invoice["lines"]:
        value = money(
            Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"]))
            - Decimal(str(line.get("discount", 0)))
        )
        line["line_total"] = _number(value)
        total += value
    invoice["total"] = _number(total)


def _correct(invoice: dict, products: list[str], revision: int, rng) -> tuple[dict, list[str]]:
    """A corrected re-issue: one line's quantity or price fixed, a line removed or added."""
    fixed = copy.deepcopy(invoice)
    fixed["revision"] = revision
    products = list(products)
    lines = fixed["lines"]
    options = ["quantity", "price"]
    options += ["remove"] if len(lines) > 1 else []
    options += ["add"] if len(lines) < 30 else []
    what = rng.choice(options)
    i = rng.randrange(len(lines))
    if what == "quantity":
        qty = lines[i]["quantity"]
        lines[i]["quantity"] = (
            round(qty * rng.uniform(0.8, 1.2), 3)
            if isinstance(qty, float)
            else qty + 1
            if qty == 1 or rng.random() < 0.5
            else qty - 1
        )
    elif what == "price":
        lines[i]["unit_price"] = _number(
            money(Decimal(str(lines[i]["unit_price"])) * Decimal(str(rng.choice((0.8, 0.9, 0.95)))))
        )
    elif what == "remove":
        del lines[i]
        del products[i]
    else:
        extra = copy.deepcopy(lines[i])
        extra.pop("discount", None)
        if not isinstance(extra["quantity"], float):
            extra["quantity"] = 1
        lines.append(extra)
        products.append(products[i])
    for n, line in enumerate(lines, start=1):
        line["line_no"] = n
    _recompute(fixed)
    fixed["source"] = dict(fixed["source"], execution_id=f"{rng.getrandbits(64):016x}")
    return fixed, products


# --------------------------------------------------------------------------------------
# Deliveries and truth
# --------------------------------------------------------------------------------------


@dataclass
class _Pending:
    issue_date: dt.date
    available_on: dt.date
    phase: int  # 0: delivered as it happened; 1: a later batch that day
    utc: dt.datetime
    invoice_id: str
    revision: int
    order: int  # 0 original, 1 re-delivery
    kind: str
    payload: dict | str | bytes
    expected_reason: str | None
    shop_id: str
    household: str
    products: list[str]


@dataclass
class _Emitter:
    """Appends the deliveries of one invoice to the pending list."""

    pending: list[_Pending]
    trip: _Trip
    payload: dict
    products: list[str]

    def __call__(
        self,
        days_late: int,
        kind: str,
        body: dict | str | bytes,
        *,
        products: list[str] | None = None,
        revision: int = 1,
        order: int = 0,
        reason: str | None = None,
        phase: int = 1,
    ) -> None:
        issue = self.trip.local.date()
        self.pending.append(
            _Pending(
                issue_date=issue,
                available_on=issue + dt.timedelta(days=days_late),
                phase=phase,
                utc=self.trip.local.astimezone(dt.UTC),
                invoice_id=self.payload["invoice_id"],
                revision=revision,
                order=order,
                kind=kind,
                payload=body,
                expected_reason=reason,
                shop_id=self.trip.shop.shop_id,
                household=self.trip.household.hid,
                products=self.products if products is None else products,
            )
        )


def _malformed_kinds(count: int, rng) -> list[str]:
    """`count` reason codes cycling through every kind (not_an_object every other cycle)."""
    out: list[str] = []
    cycle = 0
    while len(out) < count:
        kinds = list(MAIN_KINDS) + (["not_an_object"] if cycle % 2 == 0 else [])
        rng.shuffle(kinds)
        out += kinds
        cycle += 1
    return out[:count]


def generate(config: SimulatorConfig = SimulatorConfig()) -> Dataset:  # noqa: B008 - frozen
    """Simulate `config.days` of invoices from `config.households` households."""
    world = _World(config)
    trips = _trips(world, _households(config.seed, config.households, world.shops))
    pending = _plan_deliveries(config, _number_and_print(world, trips))
    pending.sort(key=lambda p: (p.available_on, p.phase, p.utc, p.invoice_id, p.revision, p.order))
    deliveries, truth_invoices, truth_lines = [], [], []
    lines_done: set[tuple[str, int]] = set()
    for seq, p in enumerate(pending, start=1):
        deliveries.append(
            Delivery(
                seq=seq,
                issue_date=p.issue_date,
                available_on=p.available_on,
                kind=p.kind,
                payload=p.payload,
                invoice_id=p.invoice_id,
                revision=p.revision,
                expected_reason=p.expected_reason,
            )
        )
        truth_invoices.append(
            {
                "seq": seq,
                "invoice_id": p.invoice_id,
                "revision": p.revision,
                "issue_date": p.issue_date.isoformat(),
                "available_on": p.available_on.isoformat(),
                "kind": p.kind,
                "true_shop_id": p.shop_id,
                "expected_reason": p.expected_reason or "",
                "household_id": p.household,
            }
        )
        if (p.invoice_id, p.revision) not in lines_done:
            lines_done.add((p.invoice_id, p.revision))
            truth_lines += [
                {
                    "invoice_id": p.invoice_id,
                    "revision": p.revision,
                    "line_no": n,
                    "true_product_id": pid,
                }
                for n, pid in enumerate(p.products, start=1)
            ]
    return Dataset(
        config=config,
        deliveries=deliveries,
        truth_products=[_product_row(p) for p in world.products],
        truth_shops=[_shop_row(s) for s in world.shops],
        truth_lines=truth_lines,
        truth_invoices=truth_invoices,
        spelling_stats=_spelling_stats(deliveries, world),
    )


def _number_and_print(world: _World, trips: list[_Trip]) -> list[tuple[_Trip, dict, list[str]]]:
    """Give every trip its shop's next ticket number and invoice id, and print it."""
    seed = world.config.seed
    rng = rng_for(seed, "invoices")
    tickets: dict[str, int] = {}
    seen_ids: set[str] = set()
    out = []
    for trip in trips:
        shop = trip.shop
        if shop.shop_id not in tickets:
            tickets[shop.shop_id] = rng_for(seed, "ticket", shop.shop_id).randint(1000, 40000)
        tickets[shop.shop_id] += rng.randint(15, 250)  # other customers in between
        invoice_id = _invoice_id(shop.chain_id, shop, trip.local, tickets[shop.shop_id], rng)
        if invoice_id in seen_ids:
            raise AssertionError(f"duplicate invoice id {invoice_id}")
        seen_ids.add(invoice_id)
        payload = _print_invoice(world, trip, invoice_id, rng)
        out.append((trip, payload, [ln.product.product_id for ln in trip.lines]))
    return out


def _plan_deliveries(
    config: SimulatorConfig, invoices: list[tuple[_Trip, dict, list[str]]]
) -> list[_Pending]:
    """Decide how each invoice reaches the source: once, late, twice, corrected or broken.

    Exact counts (not coin flips) keep the rates close to the config even on short spans.
    """
    plan = rng_for(config.seed, "deliveries")
    n = len(invoices)
    n_bad = round(n * config.malformed_rate)
    bad = dict(
        zip(sorted(plan.sample(range(n), n_bad)), _malformed_kinds(n_bad, plan), strict=True)
    )
    good = [i for i in range(n) if i not in bad]

    def chosen(rate: float) -> set[int]:
        return set(plan.sample(good, min(len(good), round(n * rate))))

    late = chosen(config.late_rate)
    dups = chosen(config.duplicate_rate)
    fixes = chosen(config.correction_rate)
    window = config.max_late_days  # nothing arrives later than this after its issue date

    pending: list[_Pending] = []
    for i, (trip, payload, products) in enumerate(invoices):
        emit = _Emitter(pending, trip, payload, products)
        if i in bad:
            emit(0, "malformed", make_malformed(payload, bad[i], plan), reason=bad[i], phase=0)
            continue
        delay = plan.randint(1, window) if i in late else 0
        emit(delay, "late" if delay else "ok", payload, phase=int(delay > 0))
        if i in dups:
            again = min(delay + plan.choice((0, 0, 1, 2, 3)), window)
            emit(again, "duplicate", copy.deepcopy(payload), order=1)
        if i in fixes:
            current, current_products, when = payload, products, delay
            for revision in (2, 3) if plan.random() < 0.15 else (2,):
                when = min(when + plan.randint(1, window), window)
                current, current_products = _correct(current, current_products, revision, plan)
                emit(when, "correction", current, products=current_products, revision=revision)
    return pending


def _product_row(p: Product) -> dict:
    return {
        "true_product_id": p.product_id,
        "name": p.name,
        "brand": p.brand or "",
        "category": p.category,
        "size_value": "" if p.size_value is None else p.size_value,
        "size_unit": "" if p.loose else p.size_unit,
        "pack_count": p.pack,
        "sold_by": "weight" if p.loose else "unit",
        "private_label_of": p.private_label_of,
        "item": p.item_key,
        "ean": p.ean,
    }


def _shop_row(s: Shop) -> dict:
    return {
        "true_shop_id": s.shop_id,
        "chain_id": s.chain_id,
        "chain_name": CHAIN_BY_ID[s.chain_id].name,
        "address": s.address,
        "city": s.city,
        "postal_code": s.postal_code,
        "country": "ES",
        "tax_id": s.tax_id,
        "legal_name": s.legal_name,
        "store_code": s.store_code,
    }


def _spelling_stats(deliveries: list[Delivery], world: _World) -> dict:
    names, shop_names = set(), set()
    for d in deliveries:
        if d.expected_reason is None and isinstance(d.payload, dict):
            shop_names.add(compact(d.payload["shop"]))
            for line in d.payload["lines"]:
                names.add((line["product_name"], line.get("product_brand")))
    return {
        "distinct_product_spellings": len(names),
        "distinct_shop_spellings": len(shop_names),
        "cross_chain_private_label_pairs": world.shared_private_label_pairs,
    }


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

TRUTH_COLUMNS = {
    "products": (
        "true_product_id",
        "name",
        "brand",
        "category",
        "size_value",
        "size_unit",
        "pack_count",
        "sold_by",
        "private_label_of",
        "item",
        "ean",
    ),
    "shops": (
        "true_shop_id",
        "chain_id",
        "chain_name",
        "address",
        "city",
        "postal_code",
        "country",
        "tax_id",
        "legal_name",
        "store_code",
    ),
    "lines": ("invoice_id", "revision", "line_no", "true_product_id"),
    "invoices": (
        "seq",
        "invoice_id",
        "revision",
        "issue_date",
        "available_on",
        "kind",
        "true_shop_id",
        "expected_reason",
        "household_id",
    ),
}


def delivery_bytes(delivery: Delivery) -> bytes:
    """One delivery as its JSON Lines line (without the newline)."""
    if isinstance(delivery.payload, bytes):
        return delivery.payload
    if isinstance(delivery.payload, str):
        return delivery.payload.encode("utf-8")
    return compact(delivery.payload).encode("utf-8")


def write_jsonl(dataset: Dataset, out_dir: Path) -> Path:
    """Write invoices.jsonl (one delivery per line, seq order) and truth/*.csv; return the path.

    Same config, byte-identical files.
    """
    out_dir = Path(out_dir)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    path = out_dir / "invoices.jsonl"
    with path.open("wb") as fh:
        for delivery in dataset.deliveries:
            fh.write(delivery_bytes(delivery))
            fh.write(b"\n")
    tables = {
        "products": dataset.truth_products,
        "shops": dataset.truth_shops,
        "lines": dataset.truth_lines,
        "invoices": dataset.truth_invoices,
    }
    for name, rows in tables.items():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=TRUTH_COLUMNS[name], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        (out_dir / "truth" / f"{name}.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def load_truth(out_dir: Path) -> dict[str, list[dict]]:
    """Read truth/{products,shops,lines,invoices}.csv back (every value a string)."""
    out = {}
    for name in TRUTH_COLUMNS:
        with (Path(out_dir) / "truth" / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            out[name] = list(csv.DictReader(fh))
    return out
