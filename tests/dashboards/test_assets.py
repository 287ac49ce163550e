"""The Superset assets against dbt's manifest: no Superset, no database (runs in `make test`).

`dbt parse` writes the manifest into a temporary target path (about 6 s); set DBT_MANIFEST to
reuse one. The validator itself is `apps/superset-assets/validate.py`.
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import zipfile
from pathlib import Path

import bundle  # apps/superset-assets, put on sys.path by conftest.py
import pytest
import validate
import yaml

REPO = Path(__file__).resolve().parents[2]
SUPERSET_APP = REPO / "apps" / "superset-assets"
DBT = REPO / "dbt" / ".venv" / "bin" / "dbt"
GOLD = {
    "fct_invoices",
    "fct_invoice_lines",
    "fct_product_prices",
    "fct_spend_monthly",
    "fct_spend_yearly",
    "dim_products",
    "dim_shops",
}
# Dashboards are linked and bookmarked by these: changing one is a breaking change.
DASHBOARDS = {
    "pantrypulse-invoices": "f864d18f-9469-5b2c-b49c-2417182dfcee",
    "pantrypulse-invoice-detail": "40a55608-f2e3-557d-8142-3f24f1589eea",
    "pantrypulse-product-detail": "88ddec3d-0c41-5500-90c8-5727b8b4aa8a",
    "pantrypulse-spend": "5d9412e7-5f63-50b6-a92c-42a4c1907ce2",
}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, validate.Model]:
    given = os.environ.get("DBT_MANIFEST")
    if given:
        return validate.load_models(Path(given))
    if not DBT.exists():
        pytest.skip("dbt/.venv is not set up (make envs)")
    target = tmp_path_factory.mktemp("dbt-target")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "PANTRYPULSE_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    subprocess.run(
        [
            str(DBT),
            "parse",
            "--project-dir",
            "dbt",
            "--profiles-dir",
            "dbt",
            "--quiet",
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    return validate.load_models(target / "manifest.json")


@pytest.fixture
def assets() -> dict[str, dict[str, dict]]:
    return validate.load_assets()


def _errors(models, assets) -> list[str]:
    return validate.validate(models, assets).errors


def test_manifest_has_every_gold_model_with_its_columns(models):
    assert set(models) == GOLD
    for model in models.values():
        assert model.in_sql, f"no output columns parsed from {model.name}"
        assert model.documented <= model.in_sql, f"{model.name} documents columns its SQL lacks"


def test_assets_are_valid_against_the_manifest(models, assets):
    # Strict: every column a chart uses is documented in the gold models' YAML too.
    report = validate.validate(models, assets, strict_docs=True)
    assert report.errors == []
    assert report.warnings == []


def test_bundle_has_the_four_dashboards_with_stable_uuids(assets):
    found = {d["slug"]: d["uuid"] for d in assets["dashboards"].values()}
    assert found == DASHBOARDS
    for dash in assets["dashboards"].values():
        filters = dash["metadata"]["native_filter_configuration"]
        assert filters, f"{dash['slug']} has no native filters"
        widths = {}
        for node in dash["position"].values():
            if isinstance(node, dict) and node.get("type") == "CHART":
                parent = node["parents"][-1]
                widths[parent] = widths.get(parent, 0) + node["meta"]["width"]
        assert all(w <= 12 for w in widths.values()), f"{dash['slug']}: a row is wider than 12"


def test_invoice_list_filters_on_date_shop_and_brand(assets):
    dash = next(d for d in assets["dashboards"].values() if d["slug"] == "pantrypulse-invoices")
    kinds = {
        (f["filterType"], (f["targets"][0].get("column") or {}).get("name"))
        for f in dash["metadata"]["native_filter_configuration"]
    }
    assert kinds == {
        ("filter_time", None),
        ("filter_select", "shop_name"),
        ("filter_select", "shop_brand"),
    }


def test_spend_is_grouped_by_shop_brand_product_type_and_brand_monthly_and_yearly(assets):
    grouped: dict[str, set[str]] = {"fct_spend_monthly": set(), "fct_spend_yearly": set()}
    tables = {d["uuid"]: d["table_name"] for d in assets["datasets"].values()}
    for chart in assets["charts"].values():
        table = tables[chart["dataset_uuid"]]
        if table in grouped:
            p = chart["params"]
            grouped[table] |= set(p.get("groupby") or []) | set(p.get("groupbyRows") or [])
    dims = {"shop_name", "shop_brand", "product_type", "product_brand"}
    assert grouped == {"fct_spend_monthly": dims, "fct_spend_yearly": dims}


def test_a_missing_column_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    chart = broken["charts"]["charts/invoices_list.yaml"]
    chart["params"]["all_columns"].append("vat_number")
    errors = _errors(models, broken)
    assert any("vat_number" in e and "fct_invoices" in e for e in errors)


def test_a_metric_on_a_missing_column_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    chart = broken["charts"]["charts/spend_monthly_total.yaml"]
    chart["params"]["metric"]["sqlExpression"] = "SUM(spend_eur)"
    assert any("spend_eur" in e for e in _errors(models, broken))


def test_a_dataset_on_a_non_gold_model_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    broken["datasets"]["datasets/PantryPulse/dim_shops.yaml"]["table_name"] = "shop_aliases"
    assert any("shop_aliases is not a gold model" in e for e in _errors(models, broken))


def test_a_dashboard_chart_that_does_not_exist_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    del broken["charts"]["charts/invoice_lines.yaml"]
    assert any("not in the bundle" in e for e in _errors(models, broken))


def test_a_chart_on_no_dashboard_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    extra = copy.deepcopy(broken["charts"]["charts/invoices_count.yaml"])
    extra["uuid"] = "00000000-0000-4000-8000-000000000001"
    broken["charts"]["charts/orphan.yaml"] = extra
    assert any("orphan.yaml: on no dashboard" in e for e in _errors(models, broken))


def test_a_filter_on_a_missing_column_is_an_error(models, assets):
    broken = copy.deepcopy(assets)
    dash = broken["dashboards"]["dashboards/spend.yaml"]
    dash["metadata"]["native_filter_configuration"][1]["targets"][0]["column"]["name"] = "chain"
    assert any("targets column chain" in e for e in _errors(models, broken))


def test_duplicate_uuids_are_an_error(models, assets):
    broken = copy.deepcopy(assets)
    a = broken["charts"]["charts/invoices_count.yaml"]
    broken["charts"]["charts/spend_monthly_total.yaml"]["uuid"] = a["uuid"]
    assert any("also used by" in e for e in _errors(models, broken))


def test_no_connection_string_in_the_repository(models, assets):
    (db,) = assets["databases"].values()
    assert db["sqlalchemy_uri"] == validate.PLACEHOLDER
    broken = copy.deepcopy(assets)
    (db,) = broken["databases"].values()
    db["sqlalchemy_uri"] = "trino://superset:hunter2@trino:8080/lakehouse"
    assert any("supplied at import time" in e for e in _errors(models, broken))


def test_bundle_supplies_the_database_uri_at_import_time():
    uri = bundle.duckdb_uri("/data/pantrypulse.duckdb")
    assert uri == "duckdb:////data/pantrypulse.duckdb?access_mode=read_only"
    with zipfile.ZipFile(io.BytesIO(bundle.build(uri))) as zf:
        names = zf.namelist()
        assert all(n.startswith(f"{bundle.ROOT}/") for n in names)
        assert f"{bundle.ROOT}/metadata.yaml" in names
        db = yaml.safe_load(zf.read(f"{bundle.ROOT}/databases/PantryPulse.yaml"))
    assert db["sqlalchemy_uri"] == uri
    assert len(names) == sum(1 for _ in (SUPERSET_APP / "assets").rglob("*.yaml"))
    with pytest.raises(ValueError, match="required"):
        bundle.build(bundle.PLACEHOLDER)


def test_untyped_bundle_drops_only_the_metadata_type():
    uri = bundle.duckdb_uri("/data/pantrypulse.duckdb")
    with zipfile.ZipFile(io.BytesIO(bundle.build(uri, untyped=True))) as zf:
        meta = yaml.safe_load(zf.read(f"{bundle.ROOT}/metadata.yaml"))
    assert "type" not in meta
    assert meta["version"] == "1.0.0"
