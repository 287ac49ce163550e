"""Turn a valid invoice into a record with exactly one defect of a given kind.

Importers check in a fixed order (encoding, JSON, object, required fields, types, values,
quantities, line arithmetic, total) and reject on the first failure, so each defect here is
built to trip exactly its own check and nothing earlier or later: arithmetic is recomputed
around a bad quantity or a bad line total, and an emptied `lines` comes with a zero total.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal

from pantrypulse.simulator.pricing import money

# Reason codes in the order importers check them; not_an_object is the rare one.
KINDS = (
    "invalid_encoding",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "negative_quantity",
    "line_total_mismatch",
    "total_mismatch",
)
MAIN_KINDS = tuple(k for k in KINDS if k != "not_an_object")


def compact(payload: object) -> str:
    """JSON text as the simulator writes it: compact, UTF-8 characters kept."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _num(value: Decimal) -> float:
    return float(value)


def _retotal(invoice: dict) -> None:
    invoice["total"] = _num(
        sum((Decimal(str(line["line_total"])) for line in invoice["lines"]), Decimal("0"))
    )


def _pick_line(rng, invoice: dict) -> dict:
    return invoice["lines"][rng.randrange(len(invoice["lines"]))]


def _missing_field(rng, inv: dict) -> None:
    target = rng.choice(
        (
            "invoice_id",
            "issued_at",
            "shop",
            "shop.name",
            "currency",
            "lines",
            "total",
            "line.line_no",
            "line.product_name",
            "line.quantity",
            "line.unit_price",
            "line.line_total",
        )
    )
    if target.startswith("line."):
        del _pick_line(rng, inv)[target.split(".", 1)[1]]
    elif target == "shop.name":
        del inv["shop"]["name"]
    else:
        del inv[target]


def _wrong_type(rng, inv: dict) -> None:
    target = rng.choice(
        (
            "quantity",
            "total",
            "lines",
            "unit_price",
            "line_no",
            "shop",
            "issued_at",
            "currency",
            "invoice_id",
        )
    )
    if target == "quantity":
        line = _pick_line(rng, inv)
        line["quantity"] = str(line["quantity"])
    elif target == "total":
        inv["total"] = f"{inv['total']:.2f}".replace(".", ",")
    elif target == "lines":
        inv["lines"] = {str(line["line_no"]): line for line in inv["lines"]}
    elif target == "unit_price":
        line = _pick_line(rng, inv)
        line["unit_price"] = f"{line['unit_price']:.2f}".replace(".", ",")
    elif target == "line_no":
        line = _pick_line(rng, inv)
        line["line_no"] = str(line["line_no"])
    elif target == "shop":
        inv["shop"] = inv["shop"]["name"]
    elif target == "issued_at":
        inv["issued_at"] = int(datetime.fromisoformat(inv["issued_at"]).timestamp())
    elif target == "currency":
        inv["currency"] = None
    else:
        inv["invoice_id"] = sum(ord(c) for c in inv["invoice_id"]) * 1000 + len(inv["lines"])


def _invalid_value(rng, inv: dict) -> None:
    target = rng.choice(
        (
            "issued_at_naive",
            "issued_at_dmy",
            "currency",
            "empty_lines",
            "line_no_zero",
            "revision_zero",
            "empty_shop_name",
        )
    )
    if target == "issued_at_naive":
        inv["issued_at"] = inv["issued_at"][:19]  # no UTC offset
    elif target == "issued_at_dmy":
        local = datetime.fromisoformat(inv["issued_at"])
        inv["issued_at"] = local.strftime("%d/%m/%Y %H:%M")
    elif target == "currency":
        inv["currency"] = rng.choice(("euro", "EUROS", "€", "eur"))
    elif target == "empty_lines":
        inv["lines"] = []
        inv["total"] = 0.0
    elif target == "line_no_zero":
        _pick_line(rng, inv)["line_no"] = 0
    elif target == "revision_zero":
        inv["revision"] = 0
    else:
        inv["shop"]["name"] = ""


def _negative_quantity(rng, inv: dict) -> None:
    line = _pick_line(rng, inv)
    # A return keyed as a sale line: negative (or zero) quantity, arithmetic still right.
    line["quantity"] = 0 if rng.random() < 0.25 else -line["quantity"]
    line.pop("discount", None)
    line["line_total"] = _num(
        money(Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"])))
    )
    _retotal(inv)


def _line_total_mismatch(rng, inv: dict) -> None:
    line = _pick_line(rng, inv)
    delta = Decimal(str(round(rng.uniform(0.1, 5.0), 2))) * rng.choice((1, -1))
    line["line_total"] = _num(money(Decimal(str(line["line_total"])) + delta))
    _retotal(inv)  # the printed total adds up the wrong line, so only the line is off


def _total_mismatch(rng, inv: dict) -> None:
    delta = Decimal(str(round(rng.uniform(1.0, 25.0), 2))) * rng.choice((1, -1))
    inv["total"] = _num(money(Decimal(str(inv["total"])) + delta))


def _invalid_json(rng, text: str) -> str:
    how = rng.choice(("truncated", "trailing_comma", "single_quotes"))
    if how == "truncated":
        return text[: int(len(text) * rng.uniform(0.3, 0.95))]
    if how == "trailing_comma":
        return text[:-1] + ",}"
    return text.replace('"', "'")


def _invalid_encoding(inv: dict) -> bytes:
    text = compact(inv)
    if text.isascii():
        inv["cashier"] = "Begoña"  # a Latin-1 re-encoding only shows with non-ASCII text
        text = compact(inv)
    raw = text.encode("latin-1", errors="replace")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    raise AssertionError("latin-1 bytes unexpectedly decode as UTF-8")


def make_malformed(payload: dict, kind: str, rng) -> dict | str | bytes:
    """A copy of `payload` carrying one defect whose reason code is `kind`."""
    inv = copy.deepcopy(payload)
    if kind == "invalid_encoding":
        return _invalid_encoding(inv)
    if kind == "invalid_json":
        return _invalid_json(rng, compact(inv))
    if kind == "not_an_object":
        # A batch of one sent as a list, or a bare number where the invoice should be.
        return f"[{compact(inv)}]" if rng.random() < 0.7 else compact(inv["total"])
    mutate = {
        "missing_field": _missing_field,
        "wrong_type": _wrong_type,
        "invalid_value": _invalid_value,
        "negative_quantity": _negative_quantity,
        "line_total_mismatch": _line_total_mismatch,
        "total_mismatch": _total_mismatch,
    }[kind]
    mutate(rng, inv)
    return inv
