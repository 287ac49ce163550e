"""Shared builders for the resolver tests (no tests here).

`unseen_invoices()` turns `fixtures/resolve/unseen_receipts.json` (hand-written receipts of
chains, countries and spelling habits the simulator does not produce) into contract-shaped
invoices plus truth rows in the simulator's truth format, deterministically: every shop
spelling and every product spelling appears on at least two invoices.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "resolve"

CHAIN_PRICE_LEVEL = {
    "rewe": 1.04,
    "aldi": 0.93,
    "edeka": 1.07,
    "tesco": 1.0,
    "sainsburys": 1.05,
    "monoprix": 1.12,
    "intermarche": 0.97,
    "esselunga": 1.03,
    "consum": 0.98,
}

SHOP_FIELDS = ("name", "brand", "address", "city", "postal_code", "country", "tax_id")


def load_unseen() -> dict:
    return json.loads((FIXTURES / "unseen_receipts.json").read_text(encoding="utf-8"))


def unseen_invoices(spec: dict | None = None, repeat: int = 2):
    """(invoices, truth_lines, truth_invoices, hard_spellings) from the unseen fixture."""
    spec = spec or load_unseen()
    shops_by_chain: dict[str, list[tuple[str, dict]]] = {}
    for shop in spec["shops"]:
        for sp in shop["spellings"]:
            obj = {f: sp.get(f) for f in SHOP_FIELDS}
            obj["country"] = obj["country"] or shop.get("country")
            shops_by_chain.setdefault(shop["chain"], []).append((shop["truth"], obj))
    lines_by_chain: dict[str, list[tuple[str, dict]]] = {}
    hard = set()
    for product in spec["products"]:
        for sp in product["spellings"]:
            line = {
                "product_name": sp["name"],
                "product_brand": sp.get("brand"),
                "category": sp.get("category"),
                "unit_price": product.get("price", 1.0),
            }
            for chain in sp["at"]:
                lines_by_chain.setdefault(chain, []).append((product["truth"], line))
            if sp.get("hard"):
                hard.add(sp["name"])
    invoices, truth_lines, truth_invoices = [], [], []
    n = 0
    for chain in sorted(shops_by_chain):
        shops = shops_by_chain[chain]
        lines = lines_by_chain.get(chain, [])
        # every (shop spelling, product spelling) pair in `repeat` rounds, 3 lines an invoice
        for r in range(repeat):
            for s_i, (shop_truth, shop) in enumerate(shops):
                chunk = [lines[(s_i + r + k) % len(lines)] for k in range(3)] if lines else []
                if r == 0 and s_i == 0:
                    chunk = lines  # the first invoice carries every product once
                n += 1
                iid = f"U-{n:05d}"
                inv_lines = []
                for no, (truth, line) in enumerate(chunk, start=1):
                    # chain price level and a small jitter, deterministic
                    price = round(
                        line["unit_price"]
                        * CHAIN_PRICE_LEVEL.get(chain, 1.0)
                        * (1 + 0.01 * ((n + no) % 3 - 1)),
                        2,
                    )
                    inv_lines.append(
                        {
                            "line_no": no,
                            **line,
                            "quantity": 1,
                            "unit": None,
                            "unit_price": price,
                            "discount": 0,
                            "line_total": price,
                        }
                    )
                    truth_lines.append(
                        {"invoice_id": iid, "revision": 1, "line_no": no, "true_product_id": truth}
                    )
                invoices.append(
                    {
                        "invoice_id": iid,
                        "revision": 1,
                        "issued_at": "2026-01-15T10:00:00+01:00",
                        "shop": dict(shop),
                        "currency": "EUR",
                        "lines": inv_lines,
                        "total": round(sum(x["line_total"] for x in inv_lines), 2),
                    }
                )
                truth_invoices.append(
                    {"invoice_id": iid, "revision": 1, "true_shop_id": shop_truth, "kind": "good"}
                )
    return invoices, truth_lines, truth_invoices, hard
