"""The cluster's import path: the same bundle through Superset's REST import endpoints.

`bundle.py --untyped` with the environment's URI, then database, dataset, chart and dashboard
import, each with overwrite=true (the dashboard endpoint alone would keep stale charts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[3] / "apps" / "superset-assets"
sys.path.insert(0, str(APP))
import bundle  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_bundle_imports_through_every_rest_endpoint(api, gold_path):
    csrf = api.get(f"{api.base}/api/v1/security/csrf_token/", timeout=30).json()["result"]
    data = bundle.build(bundle.duckdb_uri(gold_path), untyped=True)
    for kind in ("database", "dataset", "chart", "dashboard"):
        r = api.post(
            f"{api.base}/api/v1/{kind}/import/",
            files={"formData": ("pantrypulse.zip", data, "application/zip")},
            data={"overwrite": "true", "passwords": json.dumps({})},
            headers={"X-CSRFToken": csrf, "Referer": api.base},
            timeout=120,
        )
        assert r.status_code == 200, f"{kind}: {r.status_code} {r.text[:300]}"
    dashboards = api.get(f"{api.base}/api/v1/dashboard/", timeout=30).json()["result"]
    assert {d["slug"] for d in dashboards} >= {
        "pantrypulse-invoices",
        "pantrypulse-invoice-detail",
        "pantrypulse-product-detail",
        "pantrypulse-spend",
    }
