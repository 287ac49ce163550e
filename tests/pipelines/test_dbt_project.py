"""The dbt project on DuckDB over a hand-written Iceberg fixture, and its Trino target offline.

One `dbt build` over fixtures/dbt_bronze.json (two revisions of one invoice with the older one
re-delivered last, a plain re-delivery, units spelled 'KG', 'Kg.', 'kilos', 'ud', none, an
evening invoice west of UTC, a rejected record) is shared by the assertions; expected values
are worked out by hand from the fixture. `dbt source freshness` and a Trino compile run
alongside the build; the reconciliation test's compiled SQL is replayed on broken copies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt"
DBT = DBT_PROJECT / ".venv" / "bin" / "dbt"
DUCKDB_NAME = "pantrypulse.duckdb"  # the file name is the DuckDB catalog name views refer to

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from dbt_fixture import build_catalog  # noqa: E402

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="dbt/.venv is not set up")


def _clean_env() -> dict[str, str]:
    """The caller's environment without any catalog, dbt, Trino or PantryPulse settings."""
    prefixes = ("PYICEBERG_", "DBT_", "TRINO_", "PANTRYPULSE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


class _DbtRun:
    """One dbt command against the repository's project, started in the background."""

    def __init__(self, args: list[str], env: dict[str, str], work: Path, target: str = "local"):
        work.mkdir(parents=True, exist_ok=True)
        self.target_path = work / "target"
        cmd = [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target",
            target,
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(work / "logs"),
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def wait(self) -> tuple[int, list[dict], str]:
        """Return code, run_results.json's results (hooks left out) and the console log."""
        log, _ = self.proc.communicate(timeout=300)
        results_file = self.target_path / "run_results.json"
        results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
        return self.proc.returncode, [r for r in results if _kind(r) != "operation"], log


def _kind(result: dict) -> str:
    return result["unique_id"].split(".")[0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Iceberg fixture + one `dbt build`: the DuckDB path, the dbt env and the run results.

    `dbt source freshness` (into a DuckDB file of its own) and the Trino compile run alongside
    the build to save wall time; their outcomes are kept for their own tests.
    """
    root = tmp_path_factory.mktemp("dbt-fixture")
    env = _clean_env() | build_catalog(root / "lake", now=datetime.now(UTC))
    trino_env = _clean_env() | {"TRINO_HOST": "127.0.0.1", "TRINO_PORT": "9"}
    runs = {
        "freshness": _DbtRun(
            ["source", "freshness"],
            env | {"PANTRYPULSE_DUCKDB_PATH": str(root / "freshness" / DUCKDB_NAME)},
            root / "freshness",
        ),
        "trino": _DbtRun(
            ["compile", "--no-introspect", "--no-populate-cache"],
            trino_env,
            root / "trino",
            target="trino",
        ),
    }
    env["PANTRYPULSE_DUCKDB_PATH"] = str(root / "build" / DUCKDB_NAME)
    runs["build"] = _DbtRun(["build"], env, root / "build")
    outcomes = {name: run.wait() for name, run in runs.items()}
    code, results, log = outcomes["build"]
    assert code == 0, log[-4000:]
    return {
        "db": root / "build" / DUCKDB_NAME,
        "env": env,
        "root": root,
        "results": results,
        "outcomes": outcomes,
    }


def _rows(warehouse, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_passes_every_model_and_test(warehouse):
    statuses = {(_kind(r), r["status"]) for r in warehouse["results"]}
    assert statuses <= {("model", "success"), ("test", "pass"), ("unit_test", "pass")}, statuses
    kinds = [_kind(r) for r in warehouse["results"]]
    assert kinds.count("unit_test") >= 5
    assert kinds.count("test") >= 100
    names = {r["unique_id"].split(".")[2] for r in warehouse["results"]}
    assert "assert_gold_spend_reconciles_with_bronze" in names


def test_models_land_in_staging_silver_gold(warehouse):
    tables = set(_rows(warehouse, "select table_schema, table_name from information_schema.tables"))
    for name in (
        "invoices",
        "invoice_lines",
        "products",
        "shops",
        "product_aliases",
        "shop_aliases",
    ):
        assert ("silver", name) in tables
    for name in (
        "dim_products",
        "dim_shops",
        "fct_invoices",
        "fct_invoice_lines",
        "fct_product_prices",
        "fct_spend_monthly",
        "fct_spend_yearly",
    ):
        assert ("gold", name) in tables
    assert ("staging", "stg_bronze__invoices") in tables


def test_latest_revision_wins_and_redeliveries_collapse(warehouse):
    rows = _rows(
        warehouse,
        """
        select invoice_id, revision, source, total, lines_total, line_count, delivery_count
        from silver.invoices order by invoice_id""",
    )
    assert rows == [
        # same revision delivered twice: the later ingestion (the file backfill) wins
        ("INV-1", 1, "file", Decimal("8.81"), Decimal("8.81"), 2, 2),
        # revision 2 (kafka) wins over revision 1, although revision 1 was re-delivered later
        ("INV-2", 2, "kafka", Decimal("3.48"), Decimal("3.48"), 2, 3),
        ("INV-3", 1, "file", Decimal("1.90"), Decimal("1.90"), 1, 1),
        ("INV-4", 1, "http", Decimal("1.99"), Decimal("1.99"), 1, 1),
    ]
    lines = _rows(
        warehouse,
        """
        select line_no, quantity, discount, line_total from silver.invoice_lines
        where invoice_id = 'INV-2' order by line_no""",
    )
    assert lines == [
        (1, Decimal("1.0000"), Decimal("0.00"), Decimal("1.89")),
        (2, Decimal("0.8000"), Decimal("0.00"), Decimal("1.59")),
    ]


def test_issue_date_is_local_and_instant_is_utc(warehouse):
    [(issued_date, issued_at)] = _rows(
        warehouse, "select issued_date, issued_at from silver.invoices where invoice_id = 'INV-2'"
    )
    assert issued_date == date(2026, 1, 31)  # 23:30 at -05:00 ...
    assert issued_at == datetime(2026, 2, 1, 4, 30, tzinfo=UTC)  # ... is February in UTC


def test_units_normalised_and_aliases_resolved(warehouse):
    rows = _rows(
        warehouse,
        """
        select l.invoice_id, l.line_no, l.unit, l.product_id, i.shop_id
        from silver.invoice_lines as l
        inner join silver.invoices as i on l.invoice_id = i.invoice_id
        order by 1, 2""",
    )
    assert rows == [
        ("INV-1", 1, "unit", "prod-leche-hacendado-1l", "shop-mercadona-diagonal"),  # 'ud'
        ("INV-1", 2, "kg", "prod-platano-canarias", "shop-mercadona-diagonal"),  # 'KG'
        ("INV-2", 1, "unit", "prod-yogur-natural-4x125", "shop-lidl-gracia"),
        ("INV-2", 2, "kg", "prod-platano-canarias", "shop-lidl-gracia"),  # 'Kg.'
        # no brand, no unit, another spelling of the same shop and product
        ("INV-3", 1, "unit", "prod-leche-hacendado-1l", "shop-mercadona-diagonal"),
        ("INV-4", 1, "kg", "prod-platano-canarias", "shop-lidl-gracia"),  # 'kilos'
    ]


def test_gold_invoice_list(warehouse):
    rows = _rows(
        warehouse,
        """
        select invoice_id, issued_date, issued_month, shop_brand, city, item_count, total
        from gold.fct_invoices order by invoice_id""",
    )
    assert rows == [
        (
            "INV-1",
            date(2026, 1, 15),
            date(2026, 1, 1),
            "Mercadona",
            "Barcelona",
            2,
            Decimal("8.81"),
        ),
        ("INV-2", date(2026, 1, 31), date(2026, 1, 1), "Lidl", "Barcelona", 2, Decimal("3.48")),
        ("INV-3", date(2026, 2, 3), date(2026, 2, 1), "Mercadona", "Barcelona", 1, Decimal("1.90")),
        ("INV-4", date(2025, 12, 28), date(2025, 12, 1), "Lidl", "Barcelona", 1, Decimal("1.99")),
    ]
    assert _rows(warehouse, "select count(*) from gold.fct_invoice_lines") == [(6,)]


def test_gold_spend_monthly_and_yearly(warehouse):
    monthly = _rows(
        warehouse,
        """
        select spend_month, shop_brand, product_id, product_type, product_brand, spend, line_count
        from gold.fct_spend_monthly order by 1, 2, 3""",
    )
    assert monthly == [
        (
            date(2025, 12, 1),
            "Lidl",
            "prod-platano-canarias",
            "fruit",
            "unbranded",
            Decimal("1.99"),
            1,
        ),
        (
            date(2026, 1, 1),
            "Lidl",
            "prod-platano-canarias",
            "fruit",
            "unbranded",
            Decimal("1.59"),
            1,
        ),
        (
            date(2026, 1, 1),
            "Lidl",
            "prod-yogur-natural-4x125",
            "uncategorized",
            "Danone",
            Decimal("1.89"),
            1,
        ),
        (
            date(2026, 1, 1),
            "Mercadona",
            "prod-leche-hacendado-1l",
            "dairy",
            "Hacendado",
            Decimal("5.70"),
            1,
        ),
        (
            date(2026, 1, 1),
            "Mercadona",
            "prod-platano-canarias",
            "fruit",
            "unbranded",
            Decimal("3.11"),
            1,
        ),
        (
            date(2026, 2, 1),
            "Mercadona",
            "prod-leche-hacendado-1l",
            "dairy",
            "Hacendado",
            Decimal("1.90"),
            1,
        ),
    ]
    yearly = dict(
        _rows(
            warehouse,
            """
        select spend_year, sum(spend) from gold.fct_spend_yearly group by 1""",
        )
    )
    assert yearly == {2025: Decimal("1.99"), 2026: Decimal("14.19")}
    [(total,)] = _rows(warehouse, "select sum(spend) from gold.fct_spend_monthly")
    assert total == Decimal("16.18")  # 8.81 + 3.48 + 1.90 + 1.99


def test_price_history_with_price_per_kg_and_litre(warehouse):
    rows = _rows(
        warehouse,
        """
        select product_id, shop_id, issued_date, unit, min_unit_price, max_unit_price,
               quantity_bought, avg_price_per_kg, avg_price_per_l
        from gold.fct_product_prices order by 1, 2, 3""",
    )
    d = Decimal
    assert rows == [
        # counted unit of a 1000 ml product: price per litre from the product size
        (
            "prod-leche-hacendado-1l",
            "shop-mercadona-diagonal",
            date(2026, 1, 15),
            "unit",
            d("0.9500"),
            d("0.9500"),
            d("6.0000"),
            None,
            d("0.9500"),
        ),
        (
            "prod-leche-hacendado-1l",
            "shop-mercadona-diagonal",
            date(2026, 2, 3),
            "unit",
            d("0.9500"),
            d("0.9500"),
            d("2.0000"),
            None,
            d("0.9500"),
        ),
        (
            "prod-platano-canarias",
            "shop-lidl-gracia",
            date(2025, 12, 28),
            "kg",
            d("1.9900"),
            d("1.9900"),
            d("1.0000"),
            d("1.9900"),
            None,
        ),
        (
            "prod-platano-canarias",
            "shop-lidl-gracia",
            date(2026, 1, 31),
            "kg",
            d("1.9900"),
            d("1.9900"),
            d("0.8000"),
            d("1.9900"),
            None,
        ),
        (
            "prod-platano-canarias",
            "shop-mercadona-diagonal",
            date(2026, 1, 15),
            "kg",
            d("2.4900"),
            d("2.4900"),
            d("1.2500"),
            d("2.4900"),
            None,
        ),
        # 4 x 125 g for 1.89: 3.78 per kg
        (
            "prod-yogur-natural-4x125",
            "shop-lidl-gracia",
            date(2026, 1, 31),
            "unit",
            d("1.8900"),
            d("1.8900"),
            d("1.0000"),
            d("3.7800"),
            None,
        ),
    ]


def test_rejects_are_staged(warehouse):
    rows = _rows(
        warehouse, "select reason_code, invoice_id from staging.stg_bronze__invoices_rejected"
    )
    assert rows == [("negative_quantity", "INV-9")]


def test_source_freshness_on_bronze(warehouse):
    code, _, log = warehouse["outcomes"]["freshness"]
    assert code == 0, log[-3000:]
    sources = (warehouse["root"] / "freshness" / "target" / "sources.json").read_text()
    assert {(r["unique_id"], r["status"]) for r in json.loads(sources)["results"]} == {
        ("source.pantrypulse.bronze.invoices_raw", "pass")
    }


@pytest.mark.parametrize("mart", ["fct_spend_monthly", "fct_spend_yearly"])
def test_planted_break_fails_the_reconciliation(warehouse, mart):
    """A cent added to one gold row makes the reconciliation test return a failing row.

    The test's SQL as dbt compiled it for the build is run on a copy of the warehouse (the
    same file name, so the catalog name the views use still resolves): what `dbt test` runs,
    without another dbt start-up.
    """
    compiled = warehouse["root"] / "build" / "target" / "compiled" / "pantrypulse" / "tests"
    sql = (compiled / "reconciliation" / "assert_gold_spend_reconciles_with_bronze.sql").read_text()
    broken = warehouse["root"] / f"broken-{mart}" / DUCKDB_NAME
    broken.parent.mkdir()
    shutil.copy(warehouse["db"], broken)
    con = duckdb.connect(str(broken))
    try:
        assert con.execute(sql).fetchall() == []
        con.execute(
            f"update gold.{mart} set spend = spend + 0.01 where product_id = ?",
            ["prod-yogur-natural-4x125"],
        )
        [(expected, monthly, yearly)] = con.execute(sql).fetchall()
    finally:
        con.close()
    assert expected == Decimal("16.18")
    assert (monthly, yearly) == (
        (Decimal("16.19"), Decimal("16.18"))
        if mart == "fct_spend_monthly"
        else (Decimal("16.18"), Decimal("16.19"))
    )


def test_trino_target_parses_and_compiles_offline(warehouse):
    """Parse and `dbt compile --no-introspect --no-populate-cache` need no Trino server."""
    code, _, log = warehouse["outcomes"]["trino"]
    assert code == 0, log[-3000:]
    target = warehouse["root"] / "trino" / "target"
    compiled = target / "compiled" / "pantrypulse" / "models"
    lines_sql = (compiled / "bronze" / "stg_bronze__invoice_lines.sql").read_text()
    assert "json_extract_scalar" in lines_sql
    assert "as array(json)" in lines_sql
    header_sql = (compiled / "bronze" / "stg_bronze__invoices.sql").read_text()
    assert "from_iso8601_timestamp" in header_sql
    assert '"lakehouse"."staging"."base_bronze__invoices_raw"' in header_sql
    manifest = json.loads((target / "manifest.json").read_text())
    schemas = {
        n["name"]: n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
    }
    assert schemas["invoices"] == "silver"
    assert schemas["fct_spend_monthly"] == "gold"
