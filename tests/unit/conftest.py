"""Fixtures for the unit tier: a valid invoice and a throwaway embedded catalog."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pantrypulse.catalog import open_catalog
from pantrypulse.settings import load_settings

VALID_INVOICE = {
    "invoice_id": "INV-1",
    "revision": 1,
    "issued_at": "2026-01-15T23:32:00+01:00",
    "shop": {"name": "MERCADONA S.A. - AV. DIAGONAL 123", "brand": None, "city": "Barcelona"},
    "currency": "EUR",
    "lines": [
        {
            "line_no": 1,
            "product_name": "LECHE ENT. HACENDADO 1L",
            "quantity": 6,
            "unit_price": 0.95,
            "line_total": 5.7,
        },
        {
            "line_no": 2,
            "product_name": "PLATANO CANARIAS",
            "quantity": 0.732,
            "unit": "kg",
            "unit_price": 2.99,
            "discount": 0,
            "line_total": 2.19,
        },
    ],
    "total": 7.89,
    "loyalty_card": "XYZ",
}


@pytest.fixture
def invoice() -> dict:
    """A fresh copy of a valid invoice (with an unknown extra field, which is allowed)."""
    return copy.deepcopy(VALID_INVOICE)


@pytest.fixture
def settings(tmp_path: Path):
    """Settings pointing at an empty embedded catalog under tmp_path."""
    return load_settings({"PANTRYPULSE_HOME": str(tmp_path / "home")})


@pytest.fixture
def catalog(settings):
    """The embedded SQL catalog for `settings`."""
    return open_catalog(settings)
