import json

import pytest

from pantrypulse.contract import REASON_CODES, validate_record


def test_valid_invoice_is_accepted_with_its_keys(invoice):
    verdict = validate_record(invoice)
    assert verdict.ok, verdict.reason
    assert verdict.invoice_id == "INV-1"
    assert verdict.revision == 1
    # The local issue date is the printed one, not the UTC date (23:32+01:00 is 22:32 UTC).
    assert str(verdict.issued_date) == "2026-01-15"
    assert verdict.issued_at.utcoffset().total_seconds() == 3600
    assert json.loads(verdict.raw_text)["loyalty_card"] == "XYZ"  # unknown fields kept


def test_revision_defaults_to_one(invoice):
    del invoice["revision"]
    assert validate_record(invoice).revision == 1


@pytest.mark.parametrize(
    ("mutate", "code", "needle"),
    [
        (lambda d: d.pop("lines"), "missing_field", "'lines'"),
        (lambda d: d["shop"].pop("name"), "missing_field", "'shop.name'"),
        (lambda d: d["lines"][1].pop("unit_price"), "missing_field", "lines[1].unit_price"),
        (lambda d: d["lines"][0].__setitem__("quantity", "6"), "wrong_type", "lines[0].quantity"),
        (lambda d: d.__setitem__("total", "7,89"), "wrong_type", "'total'"),
        (lambda d: d.__setitem__("lines", {"a": 1}), "wrong_type", "'lines'"),
        (lambda d: d.__setitem__("currency", "euro"), "invalid_value", "currency"),
        (lambda d: d.__setitem__("lines", []), "invalid_value", "lines"),
        (lambda d: d["lines"][0].__setitem__("line_no", 0), "invalid_value", "line_no"),
        (lambda d: d.__setitem__("issued_at", "15/01/2026"), "invalid_value", "issued_at"),
        (lambda d: d.__setitem__("issued_at", "2026-01-15T10:00:00"), "invalid_value", "offset"),
        (lambda d: d["lines"][0].__setitem__("quantity", -6), "negative_quantity", "> 0"),
        (lambda d: d["lines"][0].__setitem__("quantity", 0), "negative_quantity", "> 0"),
        (lambda d: d["lines"][0].__setitem__("line_total", 6.7), "line_total_mismatch", "5.70"),
        (lambda d: d.__setitem__("total", 9.89), "total_mismatch", "7.89"),
    ],
)
def test_each_defect_gets_its_reason(invoice, mutate, code, needle):
    mutate(invoice)
    verdict = validate_record(invoice)
    assert not verdict.ok
    assert verdict.reason_code == code
    assert needle in verdict.reason
    assert verdict.invoice_id == "INV-1"  # kept for the quarantine when readable


def test_rounding_within_tolerance_is_valid(invoice):
    invoice["total"] = 7.90  # printed total off by a cent of rounding
    invoice["lines"][1]["line_total"] = 2.18  # 0.732 * 2.99 = 2.18868, shop rounded down
    invoice["total"] = 7.88
    assert validate_record(invoice).ok


def test_raw_inputs_bad_encoding_json_and_shape():
    latin1 = '{"invoice_id": "A", "shop": {"name": "Peñalver"}}'.encode("latin-1")
    verdict = validate_record(latin1)
    assert verdict.reason_code == "invalid_encoding"
    assert "\\xf1" in verdict.raw_text  # the bad byte survives, escaped, for the quarantine
    assert validate_record(b'{"invoice_id": "A",').reason_code == "invalid_json"
    assert validate_record("{'invoice_id': 'A'}").reason_code == "invalid_json"
    assert validate_record("[1, 2]").reason_code == "not_an_object"
    assert validate_record(42).reason_code == "not_an_object"
    huge = json.dumps({"invoice_id": "x" * 2_000_000})
    assert validate_record(huge).reason_code == "oversized"


def test_bytes_and_text_of_a_valid_invoice_are_accepted(invoice):
    text = json.dumps(invoice, ensure_ascii=False)
    assert validate_record(text).ok
    assert validate_record(text.encode()).ok
    assert validate_record(text).raw_text == text  # exactly as delivered


def test_every_reason_code_is_documented_in_the_dbt_accepted_values():
    # The list is the contract between the importer and silver's accepted_values test.
    assert len(REASON_CODES) == len(set(REASON_CODES)) == 11
