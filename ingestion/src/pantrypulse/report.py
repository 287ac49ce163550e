"""The pipeline report: rows per layer, rejects, reconciliation, resolution quality, top spend.

It reads bronze through the catalog and silver/gold from the DuckDB file dbt built, so it
describes what is really stored, and tells anyone where to query it themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pantrypulse.pipeline import bronze_status
from pantrypulse.settings import Settings

SILVER = ("invoices", "invoice_lines", "products", "shops", "product_aliases", "shop_aliases")
GOLD = (
    "fct_invoices",
    "fct_invoice_lines",
    "fct_product_prices",
    "fct_spend_monthly",
    "fct_spend_yearly",
    "dim_products",
    "dim_shops",
)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
    except duckdb.Error:
        return None


def build_report(settings: Settings, catalog, truth_dir: Path | None = None) -> dict[str, Any]:
    """Collect the report's numbers from bronze, the DuckDB file and, if given, the truth."""
    st = bronze_status(catalog)
    report: dict[str, Any] = {
        "bronze": {
            "invoices_raw": st.accepted,
            "invoices_rejected": st.rejected,
            "delivered": st.accepted + st.rejected,
            "distinct_invoices": st.distinct_invoices,
        },
        "rejected_by_reason": st.rejected_by_reason,
        "bronze_reconciled": st.reconciled,
        "unsealed_slices": st.unsealed_slices + st.mismatched_slices,
        "duckdb_path": str(settings.dbt.duckdb_path),
        "catalog": settings.catalog.uri,
    }
    if not settings.dbt.duckdb_path.exists():
        return report
    con = duckdb.connect(str(settings.dbt.duckdb_path), read_only=True)
    try:
        report["silver"] = {t: _count(con, f"silver.{t}") for t in SILVER}
        report["gold"] = {t: _count(con, f"gold.{t}") for t in GOLD}
        lines_total, monthly, yearly = con.execute("""
            select (select sum(line_total) from silver.invoice_lines),
                   (select sum(spend) from gold.fct_spend_monthly),
                   (select sum(spend) from gold.fct_spend_yearly)
        """).fetchone()
        report["spend"] = {
            "silver_lines": lines_total,
            "gold_monthly": monthly,
            "gold_yearly": yearly,
            "reconciled": lines_total == monthly == yearly,
        }
        report["top_shop_brands"] = con.execute("""
            select shop_brand, sum(spend) as spend, sum(line_count) as lines
            from gold.fct_spend_yearly group by 1 order by 2 desc limit 8
        """).fetchall()
    finally:
        con.close()
    if truth_dir is not None and (truth_dir / "truth").exists():
        report["quality"] = resolution_quality(catalog, truth_dir)
    return report


def resolution_quality(catalog, sim_dir: Path) -> dict[str, dict[str, Any]]:
    """Pairwise P/R/F1 of the stored registry against the simulator's truth in `sim_dir`."""
    from pantrypulse.resolve.quality import evaluate_aliases
    from pantrypulse.resolve.registry import iter_bronze_invoices, load_registry
    from pantrypulse.simulator import load_truth

    truth = load_truth(sim_dir)
    quality = evaluate_aliases(
        load_registry(catalog), iter_bronze_invoices(catalog), truth["lines"], truth["invoices"]
    )
    return {entity: q.as_dict() for entity, q in quality.items()}


def format_report(report: dict[str, Any]) -> str:
    """Render the report for a terminal."""
    out = ["", "PantryPulse report", "=" * 60]
    b = report["bronze"]
    out.append(
        f"bronze   invoices_raw {b['invoices_raw']:>8}   invoices_rejected "
        f"{b['invoices_rejected']:>6}   delivered {b['delivered']}"
    )
    if "silver" in report:
        out.append("silver   " + "   ".join(f"{k} {v}" for k, v in report["silver"].items()))
        out.append("gold     " + "   ".join(f"{k} {v}" for k, v in report["gold"].items()))
    out.append("")
    out.append(
        "rejects by reason: "
        + (", ".join(f"{k} {v}" for k, v in report["rejected_by_reason"].items()) or "none")
    )
    ok = "yes" if report["bronze_reconciled"] else f"NO {report['unsealed_slices'][:5]}"
    out.append(f"reconciled: delivered = accepted + rejected on every slice: {ok}")
    if "spend" in report:
        s = report["spend"]
        out.append(
            f"reconciled: gold spend = silver lines to the cent: "
            f"{'yes' if s['reconciled'] else 'NO'} ({s['silver_lines']} EUR)"
        )
    if "quality" in report:
        out.append("")
        out.append("canonicalization vs ground truth (pairwise over spellings):")
        for entity, q in report["quality"].items():
            out.append(
                f"  {entity:<9} precision {q['precision']:.4f}  recall {q['recall']:.4f}"
                f"  F1 {q['f1']:.4f}  ({q['predicted_entities']} canonical for "
                f"{q['true_entities']} real, {q['aliases']} spellings)"
            )
    if report.get("top_shop_brands"):
        out.append("")
        out.append("top spend by shop brand:")
        for brand, spend, lines in report["top_shop_brands"]:
            out.append(f"  {brand:<24} {spend:>12,.2f} EUR  ({lines} lines)")
    out.append("")
    out.append(f"DuckDB (silver, gold): {report['duckdb_path']}")
    out.append(f"Iceberg catalog (bronze, resolution): {report['catalog']}")
    out.append("  silver: " + ", ".join(f"silver.{t}" for t in SILVER))
    out.append("  gold:   " + ", ".join(f"gold.{t}" for t in GOLD))
    example = "select * from gold.fct_invoices limit 5"  # a shell hint, not a query we run
    out.append(f"  try: duckdb {report['duckdb_path']} -c '{example}'")
    if "elapsed_s" in report:
        out.append(f"finished in {report['elapsed_s']}s")
    return "\n".join(out)
