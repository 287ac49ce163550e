"""Superset's chart data API returns, for each dashboard's main chart, the numbers gold holds.

The query context is built from the chart's saved params the way the dashboard builds it
(metrics, dimensions, time grain, temporal filter), plus the native-filter values a user picks.
Expected numbers come straight from the gold DuckDB file Superset reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _dataset_id(api, table: str) -> int:
    r = api.get(
        f"{api.base}/api/v1/dataset/",
        timeout=30,
        params={"q": f"(filters:!((col:table_name,opr:eq,value:{table})))"},
    )
    r.raise_for_status()
    (row,) = r.json()["result"]
    return row["id"]


def _chart_data(api, assets, chart_key: str, filters: dict[str, list] | None = None) -> list[dict]:
    chart = assets["charts"][chart_key]
    table = next(
        d["table_name"] for d in assets["datasets"].values() if d["uuid"] == chart["dataset_uuid"]
    )
    p, viz = chart["params"], chart["viz_type"]
    query: dict = {
        "filters": [
            {"col": f["subject"], "op": "TEMPORAL_RANGE", "val": "No filter"}
            for f in p.get("adhoc_filters", [])
            if f.get("operator") == "TEMPORAL_RANGE"
        ]
        + [{"col": col, "op": "IN", "val": val} for col, val in (filters or {}).items()],
        "extras": {"having": "", "where": ""},
        "row_limit": 10000,
        "time_range": "No filter",
    }
    if viz == "big_number_total":
        query.update(metrics=[p["metric"]], columns=[])
    elif viz.startswith("echarts_timeseries"):
        axis = {
            "columnType": "BASE_AXIS",
            "expressionType": "SQL",
            "label": p["x_axis"],
            "sqlExpression": p["x_axis"],
            "timeGrain": p["time_grain_sqla"],
        }
        query.update(
            metrics=p["metrics"],
            columns=[axis, *p["groupby"]],
            series_columns=p["groupby"],
            orderby=[[p["metrics"][0], False]],
        )
    elif viz == "table" and p.get("query_mode") == "raw":
        query.update(columns=p["all_columns"], metrics=[])
    else:
        raise AssertionError(f"no query builder for {viz}")
    ds_id = _dataset_id(api, table)
    body = {
        "datasource": {"id": ds_id, "type": "table"},
        "force": True,
        "queries": [query],
        "form_data": {**p, "viz_type": viz, "datasource": f"{ds_id}__table"},
        "result_format": "json",
        "result_type": "full",
    }
    r = api.post(f"{api.base}/api/v1/chart/data", json=body, timeout=60)
    assert r.status_code == 200, r.text[:500]
    (result,) = r.json()["result"]
    assert not result.get("error"), result["error"]
    return result["data"]


def _money(x) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"))


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def test_invoices_total_spend_and_list(api, assets, gold):
    (row,) = _chart_data(api, assets, "invoices_spend_total")
    (spend,) = gold.sql("select sum(lines_total) from gold.fct_invoices").fetchone()
    assert _money(row["Spend (EUR)"]) == spend
    brand, brand_spend = gold.sql("""select shop_brand, sum(lines_total) from gold.fct_invoices
        group by 1 order by 2 desc limit 1""").fetchone()
    (row,) = _chart_data(api, assets, "invoices_spend_total", {"shop_brand": [brand]})
    assert _money(row["Spend (EUR)"]) == brand_spend
    rows = _chart_data(api, assets, "invoices_list")
    (count,) = gold.sql("select count(*) from gold.fct_invoices").fetchone()
    assert len(rows) == count


def test_invoice_detail_lines_add_up_to_the_invoice(api, assets, gold):
    invoice_id, items, lines_total = gold.sql("""select invoice_id, item_count, lines_total
        from gold.fct_invoices order by item_count desc, invoice_id limit 1""").fetchone()
    rows = _chart_data(api, assets, "invoice_lines", {"invoice_id": [invoice_id]})
    assert len(rows) == items
    assert {r["invoice_id"] for r in rows} == {invoice_id}
    assert sorted(r["line_no"] for r in rows) == list(range(1, items + 1))
    assert sum(_money(r["line_total"]) for r in rows) == lines_total


def test_product_price_per_week_by_shop(api, assets, gold):
    (product,) = gold.sql("""select product_name from gold.fct_product_prices
        group by 1 order by count(*) desc, 1 limit 1""").fetchone()
    rows = _chart_data(api, assets, "product_price_by_shop", {"product_name": [product]})
    got = {(_day(r["issued_date"]), r["shop_name"]): r["Average unit price (EUR)"] for r in rows}
    expected = {
        (week, shop): float(v)
        for week, shop, v in gold.sql(
            """
        select date_trunc('week', issued_date)::date, shop_name, avg(avg_unit_price)
        from gold.fct_product_prices where product_name = ? group by 1, 2""",
            params=[product],
        ).fetchall()
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-4), key


def test_monthly_spend_by_shop_brand(api, assets, gold):
    rows = _chart_data(api, assets, "spend_monthly_by_shop_brand")
    got = {(_day(r["spend_month"]), r["shop_brand"]): _money(r["Spend (EUR)"]) for r in rows}
    expected = dict(
        ((m, b), s)
        for m, b, s in gold.sql("""
        select spend_month, shop_brand, sum(spend) from gold.fct_spend_monthly
        group by 1, 2""").fetchall()
    )
    assert got == expected
    (row,) = _chart_data(api, assets, "spend_monthly_total")
    assert _money(row["Spend (EUR)"]) == sum(expected.values())
