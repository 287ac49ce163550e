"""Validate one delivered record against the invoice contract and say why it fails.

Every importer (HTTP, JSON Lines, Kafka) funnels each delivered record through
`validate_record`, so a record is either accepted as an invoice or rejected with one
machine-readable reason code and a sentence a person can act on. Checks run in a fixed
order and stop at the first failure: encoding, JSON, object, schema, arithmetic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

# Kafka's default max message size; anything bigger is not an invoice anyone printed.
MAX_RECORD_BYTES = 1_048_576
LINE_TOLERANCE = 0.011  # a line total may be off by one cent of shop rounding
TOTAL_TOLERANCE = 0.05  # the contract allows rounding between lines and the printed total

REASON_CODES = (
    "invalid_encoding",
    "invalid_json",
    "not_an_object",
    "oversized",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "negative_quantity",
    "line_total_mismatch",
    "total_mismatch",
    # Kafka only: the message key must be the invoice_id, or revisions of one invoice could
    # land on different partitions and be read out of order.
    "key_mismatch",
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of validating one record.

    `raw_text` is always set: the record as text (undecodable bytes backslash-escaped), so
    the quarantine keeps exactly what arrived.
    """

    raw_text: str
    invoice: dict[str, Any] | None = None
    reason_code: str | None = None
    reason: str | None = None
    invoice_id: str | None = None
    revision: int | None = None
    issued_at: datetime | None = None
    issued_date: date | None = None

    @property
    def ok(self) -> bool:
        """True when the record is a valid invoice."""
        return self.reason_code is None


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("pantrypulse.contract").joinpath("invoice.schema.json").read_text()
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


@cache
def _fast_check():
    """The schema check of the accept path: jsonschema-rs, ~100x faster than `jsonschema`.

    It only decides pass/fail. A failing record is re-checked by `jsonschema`, which stays
    the authority: its errors name the reason, and where the two disagree (jsonschema-rs
    refuses NaN as a number) its verdict stands. Like `jsonschema` without a format checker,
    `date-time` is not checked by the schema for either (the offset check is ours).
    """
    return jsonschema_rs.validator_for(_schema(), validate_formats=False).is_valid


def _schema_errors(obj: dict[str, Any]) -> list[ValidationError]:
    if _fast_check()(obj):
        return []
    return sorted(
        _validator().iter_errors(obj),
        key=lambda e: (_RANK.get(str(e.validator), 2), list(map(str, e.absolute_path))),
    )


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(invoice)"


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# Schema keywords grouped by the reason they mean; lower rank wins when several fail.
_RANK = {"required": 0, "type": 1}


def _classify(error: ValidationError) -> tuple[str, str]:
    where = _path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        field = f"{where}.{missing}" if where != "(invoice)" else missing
        return "missing_field", f"missing required field '{field}'"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return (
            "wrong_type",
            f"field '{where}' must be {expected}, got {type(error.instance).__name__} "
            f"{_describe(error.instance)}",
        )
    if (
        error.absolute_path
        and error.absolute_path[-1] == "quantity"
        and error.validator
        in (
            "exclusiveMinimum",
            "minimum",
        )
    ):
        return "negative_quantity", f"field '{where}' must be > 0, got {_describe(error.instance)}"
    return "invalid_value", f"field '{where}' is invalid: {error.message}"


def _parse_issued_at(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


_UNPARSED = object()


def _reject(raw_text: str, code: str, reason: str, obj: Any = None) -> Verdict:
    invoice_id = None
    if isinstance(obj, dict) and isinstance(obj.get("invoice_id"), str):
        invoice_id = obj["invoice_id"][:128]
    return Verdict(raw_text=raw_text, reason_code=code, reason=reason, invoice_id=invoice_id)


def validate_record(record: bytes | str | dict[str, Any] | Any) -> Verdict:
    """Validate one delivered record (raw bytes, JSON text, or an already-decoded value).

    Returns an accepted `Verdict` carrying the invoice and its parsed keys, or a rejected
    one with the first failing reason. Never raises on bad input.
    """
    encoded: bytes | None = None
    if isinstance(record, bytes | bytearray):
        raw_bytes = encoded = bytes(record)
        try:
            text = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            escaped = raw_bytes.decode("utf-8", errors="backslashreplace")
            return _reject(
                escaped,
                "invalid_encoding",
                f"not UTF-8: byte 0x{raw_bytes[exc.start]:02x} at offset {exc.start}",
            )
        record = text
    if isinstance(record, str):
        text = record
        if encoded is None:
            encoded = text.encode("utf-8")
        if len(encoded) > MAX_RECORD_BYTES:
            return _reject(text[:4096], "oversized", f"record larger than {MAX_RECORD_BYTES} bytes")
        try:
            # orjson is ~4x faster; the standard parser decides whatever orjson refuses
            # (NaN, Infinity) and words the error. Integers beyond 64 bits come back as
            # floats from orjson: beyond what JSON numbers carry between systems anyway.
            obj = orjson.loads(encoded)
        except orjson.JSONDecodeError:
            obj = _UNPARSED
        try:
            if obj is _UNPARSED:
                obj = json.loads(text)
        except json.JSONDecodeError as exc:
            return _reject(
                text,
                "invalid_json",
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            )
    else:
        obj = record
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(obj, dict):
        return _reject(text, "not_an_object", f"expected a JSON object, got {type(obj).__name__}")

    errors = _schema_errors(obj)
    if errors:
        code, reason = _classify(errors[0])
        return _reject(text, code, reason, obj)

    issued_at = _parse_issued_at(obj["issued_at"])
    if issued_at is None:
        return _reject(
            text,
            "invalid_value",
            f"field 'issued_at' must be an RFC 3339 date-time with offset, got "
            f"{_describe(obj['issued_at'])}",
            obj,
        )

    line_sum = 0.0
    for i, line in enumerate(obj["lines"]):
        expected = line["quantity"] * line["unit_price"] - line.get("discount", 0)
        if abs(expected - line["line_total"]) > LINE_TOLERANCE:
            return _reject(
                text,
                "line_total_mismatch",
                f"lines[{i}] (line_no {line['line_no']}): line_total {line['line_total']} != "
                f"quantity x unit_price - discount = {expected:.2f}",
                obj,
            )
        line_sum += line["line_total"]
    if abs(line_sum - obj["total"]) > TOTAL_TOLERANCE:
        return _reject(
            text,
            "total_mismatch",
            f"total {obj['total']} differs from the sum of line totals {line_sum:.2f} by more "
            f"than {TOTAL_TOLERANCE}",
            obj,
        )

    return Verdict(
        raw_text=text,
        invoice=obj,
        invoice_id=obj["invoice_id"],
        revision=int(obj.get("revision", 1)),
        issued_at=issued_at,
        issued_date=issued_at.date(),
    )
