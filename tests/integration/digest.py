"""Read a relation from Trino or DuckDB as comparable rows (types normalised, order-free)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

CENT = Decimal("0.01")


def norm(value):
    """One cell, comparable across engines: numbers as Decimal to the cent, times in UTC."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, (float, Decimal)):
        return Decimal(str(value)).quantize(CENT)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return tuple(norm(v) for v in value)
    return str(value)


def rows_of(columns: list[str], rows) -> tuple[list[str], list[tuple]]:
    """Columns in sorted order and the rows as sorted tuples of normalised cells."""
    order = sorted(range(len(columns)), key=lambda i: columns[i])
    out = [tuple(norm(r[i]) for i in order) for r in rows]
    return [columns[i] for i in order], sorted(out, key=repr)


def trino_relation(conn, schema: str, table: str):
    cur = conn.cursor()
    cur.execute(f'select * from "{schema}"."{table}"')
    rows = cur.fetchall()
    return rows_of([d[0] for d in cur.description], rows)


def duckdb_relation(con, schema: str, table: str):
    cur = con.execute(f'select * from "{schema}"."{table}"')
    rows = cur.fetchall()
    return rows_of([d[0] for d in cur.description], rows)
