"""The embedded default end to end: simulator -> HTTP -> bronze -> resolution -> dbt -> gold.

One run of the demo on four weeks of data is shared by these tests; a second run checks that
re-running converges (no duplicates, stable ids). Expected numbers are computed here from the
simulator's own deliveries, independently of the pipeline.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import duckdb
import pytest

from pantrypulse.catalog import open_catalog
from pantrypulse.demo import run_demo
from pantrypulse.pipeline import bronze_status
from pantrypulse.simulator import SimulatorConfig, generate

DAYS = 28
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset():
    return generate(SimulatorConfig(days=DAYS))


@pytest.fixture(scope="module")
def first_run(e2e_settings):
    return run_demo(e2e_settings, days=DAYS, error_rate=0.05, progress=lambda _m: None)


def _query(settings, sql):
    con = duckdb.connect(str(settings.dbt.duckdb_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _expected_spend(dataset) -> Decimal:
    """Sum of line totals over the latest revision of every well-formed invoice."""
    latest: dict[str, tuple[int, dict]] = {}
    for d in dataset.deliveries:
        if d.expected_reason is None and isinstance(d.payload, dict):
            rev = d.payload.get("revision", 1)
            if d.invoice_id not in latest or rev >= latest[d.invoice_id][0]:
                latest[d.invoice_id] = (rev, d.payload)
    return sum(
        (Decimal(str(line["line_total"])) for _, inv in latest.values() for line in inv["lines"]),
        Decimal("0"),
    )


def test_every_delivery_is_accounted_for(first_run, dataset):
    delivered = first_run["bronze"]["delivered"]
    served = [d for d in dataset.deliveries if not isinstance(d.payload, bytes)]
    assert delivered == len(served)
    wanted = Counter(d.expected_reason for d in served if d.expected_reason)
    assert first_run["rejected_by_reason"] == dict(wanted)
    assert first_run["bronze_reconciled"]


def test_gold_spend_matches_the_source_to_the_cent(first_run, dataset, e2e_settings):
    spend = first_run["spend"]
    assert spend["reconciled"]
    assert Decimal(str(spend["gold_monthly"])) == _expected_spend(dataset)
    invoices = {d.invoice_id for d in dataset.deliveries if d.expected_reason is None}
    [(count,)] = _query(e2e_settings, "select count(*) from silver.invoices")
    assert count == len(invoices)  # one row per invoice: re-deliveries and revisions collapsed


def test_latest_revision_wins(dataset, first_run, e2e_settings):
    corrected = {
        d.invoice_id: d.payload
        for d in dataset.deliveries
        if d.kind == "correction" and d.expected_reason is None
    }
    assert corrected, "the simulator should produce corrections in four weeks"
    rows = dict(_query(e2e_settings, "select invoice_id, revision from silver.invoices"))
    for invoice_id, payload in corrected.items():
        assert rows[invoice_id] == payload["revision"]


def test_every_layer_has_rows(first_run):
    assert all(v and v > 0 for v in first_run["silver"].values()), first_run["silver"]
    assert all(v and v > 0 for v in first_run["gold"].values()), first_run["gold"]


def test_rerun_adds_nothing_and_keeps_ids(first_run, e2e_settings):
    ids_before = _query(e2e_settings, "select * from silver.product_aliases order by all")
    shops_before = _query(e2e_settings, "select * from silver.shop_aliases order by all")
    second = run_demo(e2e_settings, days=DAYS, error_rate=0.05, progress=lambda _m: None)
    assert second["bronze"] == first_run["bronze"]
    assert second["silver"] == first_run["silver"]
    assert second["gold"] == first_run["gold"]
    assert second["spend"] == first_run["spend"]
    assert _query(e2e_settings, "select * from silver.product_aliases order by all") == ids_before
    assert _query(e2e_settings, "select * from silver.shop_aliases order by all") == shops_before
    status = bronze_status(open_catalog(e2e_settings))
    assert status.reconciled
    assert not status.unsealed_slices
