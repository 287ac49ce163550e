"""Print a JSON digest of every table the pipeline owns (run by the ingestion environment).

Iceberg tables of the catalog (bronze, resolution registry) and the DuckDB tables dbt built
(every schema but `main`): row count and an order-independent hash of the rows. Columns that
record *when* or *by which load* a row was written change on a re-run by design (a re-ingested
date is a new load of the same data), so they are left out: VOLATILE below.
"""

from __future__ import annotations

import hashlib
import json
import sys

VOLATILE = {
    "load_id",
    "ingested_at",
    "ingest_date",
    "committed_at",
    "loaded_at",
    "_loaded_at",
    # dbt's lineage key of a delivery: hash of source, slice, *load id* and position.
    "delivery_key",
}
LOGS = {"iceberg:bronze.load_log"}


def _digest(columns: list[str], rows: list[tuple], log: bool = False) -> dict:
    keep = [i for i, c in enumerate(columns) if c not in VOLATILE]
    lines = sorted(json.dumps([row[i] for i in keep], default=str) for row in rows)
    if log:
        lines = sorted(set(lines))
    return {
        "rows": len(lines),
        "columns": [columns[i] for i in keep],
        "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
    }


def main() -> None:
    """Digest every table into one JSON document on stdout."""
    import duckdb

    from pantrypulse.catalog import open_catalog
    from pantrypulse.settings import load_settings

    settings = load_settings()
    catalog = open_catalog(settings)
    out: dict[str, dict] = {}
    for namespace in catalog.list_namespaces():
        for ident in catalog.list_tables(namespace):
            data = catalog.load_table(ident).scan().to_arrow()
            rows = (
                list(zip(*(data.column(c).to_pylist() for c in data.column_names), strict=True))
                if data.num_rows
                else []
            )
            key = "iceberg:" + ".".join(ident)
            out[key] = _digest(data.column_names, rows, log=key in LOGS)
    if settings.dbt.duckdb_path.exists():
        con = duckdb.connect(str(settings.dbt.duckdb_path), read_only=True)
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema <> 'main' order by 1, 2"
        ).fetchall()
        for schema, name in tables:
            cur = con.execute(f'select * from "{schema}"."{name}"')
            out[f"duckdb:{schema}.{name}"] = _digest(
                [d[0] for d in cur.description], cur.fetchall()
            )
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
