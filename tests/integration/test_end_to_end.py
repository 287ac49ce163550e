"""The cluster's data path on real services, against the embedded run on the same input.

simulator (HTTP by date) -> `pantrypulse ingest` (Iceberg REST on Nessie, files on S3)
-> [Nessie restarted] -> `pantrypulse resolve` -> [Trino restarted] -> `pantrypulse transform`
(dbt's `trino` target) -> gold in Trino; the same dataset goes through the embedded default
(pyiceberg SQL catalog, dbt on DuckDB), and every gold mart must be equal row by row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import cli, ok, status, track_dbt_log
from digest import duckdb_relation, trino_relation

from pantrypulse.demo import run_demo
from pantrypulse.settings import load_settings
from pantrypulse.simulator import InvoiceSourceServer, SimulatorConfig, generate, write_jsonl

DAYS = 14
CONFIG = SimulatorConfig(days=DAYS)
FIRST, LAST = CONFIG.start, CONFIG.start + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def dataset():
    return generate(CONFIG)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The embedded default on the same input: its DuckDB file holds the gold to compare with."""
    home = tmp_path_factory.mktemp("embedded")
    settings = load_settings({"PANTRYPULSE_HOME": str(home)})
    run_demo(settings, days=DAYS, error_rate=0.0, progress=lambda _m: None)
    return settings


@pytest.fixture(scope="module")
def env(stack, dataset, tmp_path_factory):
    """The pantrypulse environment on the services, with the simulator serving the dataset."""
    token = secrets.token_urlsafe(16)
    server = InvoiceSourceServer(dataset, token=token, error_rate=0.02, seed=CONFIG.seed)
    with server.start():
        env = stack.pantrypulse_env(tmp_path_factory.mktemp("services-home"))
        env["PANTRYPULSE_SOURCE__BASE_URL"] = server.base_url
        env["PANTRYPULSE_SOURCE__TOKEN"] = token
        yield env


@pytest.fixture(scope="module")
def flow(stack, env):
    """Run the pipeline on the services, restarting Nessie and Trino between steps."""
    stack.reset_catalog()  # same starting point as the embedded run: an empty lakehouse
    out = {}
    out["ingest"] = ok(cli(env, "ingest", "--from", str(FIRST), "--to", str(LAST)), "ingest")
    out["status"] = status(env)
    out["nessie_restart_s"] = stack.nessie.restart()  # catalog restarts between two steps
    out["resolve"] = ok(cli(env, "resolve"), "resolve")
    out["trino_restart_s"] = stack.trino.restart()  # query engine restarts before dbt
    track_dbt_log(Path(env["PANTRYPULSE_HOME"]) / "logs" / "dbt-build.log")
    out["transform"] = ok(cli(env, "transform"), "transform (dbt build on trino)")
    return out


def gold_tables_duckdb(settings) -> list[str]:
    con = duckdb.connect(str(settings.dbt.duckdb_path), read_only=True)
    try:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'gold'"
        ).fetchall()
    finally:
        con.close()
    return sorted(r[0] for r in rows)


def test_ingestion_commits_bronze_through_nessie(flow, dataset):
    st = flow["status"]
    served = [d for d in dataset.deliveries if not isinstance(d.payload, bytes)]
    assert st["delivered"] == len(served)
    assert st["accepted"] > 0
    assert st["reconciled"] is True
    assert st["catalog"].endswith("/iceberg")


def test_every_gold_mart_equals_the_embedded_run(flow, embedded, stack):
    marts = gold_tables_duckdb(embedded)
    assert len(marts) >= 5, marts
    in_trino = sorted(r[0] for r in stack.trino.query("show tables from gold"))
    assert set(marts) <= set(in_trino), (marts, in_trino)
    con = duckdb.connect(str(embedded.dbt.duckdb_path), read_only=True)
    conn = stack.trino.connect()
    try:
        for mart in marts:
            cols_e, rows_e = duckdb_relation(con, "gold", mart)
            cols_t, rows_t = trino_relation(conn, "gold", mart)
            assert cols_t == cols_e, mart
            assert len(rows_t) == len(rows_e) > 0, mart
            diff = [r for r in rows_t if r not in set(rows_e)][:3]
            assert rows_t == rows_e, f"{mart}: first rows only in trino: {diff}"
    finally:
        con.close()
        conn.close()


def test_tables_are_in_nessie_and_files_in_the_bucket(flow, stack):
    bronze = stack.nessie.tables("bronze")
    assert {"invoices_raw", "invoices_rejected"} <= set(bronze)
    entries = stack.nessie.entries()  # Nessie's own API: every table and view on `main`
    assert "bronze.invoices_raw" in entries
    assert any(e.startswith("gold.") for e in entries), entries
    keys = stack.s3.keys()
    assert any(k.endswith(".parquet") and "invoices_raw" in k for k in keys)
    assert any(k.endswith(".metadata.json") and "invoices_raw" in k for k in keys)
    assert any(k.endswith(".parquet") and "fct_" in k for k in keys), "dbt's gold files on S3"


def test_second_ingestion_of_the_same_dates_adds_nothing(flow, stack, env):
    before = status(env)
    rows_before = stack.trino.query("select count(*) from bronze.invoices_raw")[0][0]
    ok(cli(env, "ingest", "--from", str(FIRST), "--to", str(FIRST + timedelta(days=2))), "ingest")
    after = status(env)
    for key in ("accepted", "rejected", "delivered", "distinct_invoices"):
        assert after[key] == before[key], key
    assert stack.trino.query("select count(*) from bronze.invoices_raw")[0][0] == rows_before


def test_jsonl_import_commits_through_nessie_and_reimport_adds_nothing(flow, stack, env, tmp_path):
    extra = generate(SimulatorConfig(days=2, start=LAST + timedelta(days=30), seed=7))
    path = write_jsonl(extra, tmp_path / "jsonl")
    before = status(env)
    ok(cli(env, "import", str(path)), "import")
    once = status(env)
    assert once["delivered"] > before["delivered"]
    assert once["accepted_by_source"].get("file", 0) > 0
    ok(cli(env, "import", str(path)), "re-import")
    assert status(env)["delivered"] == once["delivered"]
