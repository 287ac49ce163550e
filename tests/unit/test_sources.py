"""The HTTP and JSON Lines sources against the simulator's real HTTP server and files."""

from collections import Counter
from datetime import date, timedelta

import pytest

from pantrypulse.pipeline import IngestError, bronze_status, http_window, import_file, ingest_http
from pantrypulse.simulator import InvoiceSourceServer, SimulatorConfig, generate, write_jsonl
from pantrypulse.sources.http import HttpOptions, _client, fetch_date

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def dataset():
    return generate(SimulatorConfig(start=START, days=10, households=12, seed=7))


def _expected_for(dataset, days):
    return [d for d in dataset.deliveries if d.issue_date in days]


def test_fetch_date_pages_through_everything_in_order(dataset):
    with InvoiceSourceServer(dataset, page_size=2).start() as srv:
        client = _client(HttpOptions(base_url=srv.base_url))
        got = list(fetch_date(client, START))
    expected = dataset.for_date(START)
    assert len(expected) > 2  # more than one page, or this proves nothing about paging
    assert [g.record for g in got] == [e.payload for e in expected]
    assert got[2].position == f"date={START}/page=2/item=0"


def test_token_is_required_and_sent(dataset, settings, catalog):
    with InvoiceSourceServer(dataset, token="t0k").start() as srv:
        settings.source.base_url = srv.base_url
        with pytest.raises(IngestError, match="401"):
            ingest_http(settings, catalog, START, START)
        settings.source.token = "t0k"
        [result] = ingest_http(settings, catalog, START, START)
    assert result.delivered == len(dataset.for_date(START))


def test_retries_ride_through_injected_faults(dataset, settings, catalog):
    settings.source.backoff_factor = 0.01
    days = [START + timedelta(days=i) for i in range(4)]
    with InvoiceSourceServer(dataset, error_rate=0.3, seed=3).start() as srv:
        settings.source.base_url = srv.base_url
        results = ingest_http(settings, catalog, days[0], days[-1])
        faults = sum(srv.stats["injected_errors"].values())
    assert faults > 0  # faults really happened, and were ridden through
    assert sum(r.delivered for r in results) == len(_expected_for(dataset, days))


def test_source_that_keeps_failing_gives_a_clear_error(dataset, settings, catalog):
    settings.source.max_attempts = 2
    settings.source.backoff_factor = 0.01
    with InvoiceSourceServer(dataset, error_rate=0.9, seed=1).start() as srv:
        settings.source.base_url = srv.base_url
        with pytest.raises(IngestError, match=f"fetching {START}"):
            ingest_http(settings, catalog, START, START + timedelta(days=3))
    assert bronze_status(catalog).reconciled  # nothing half-written


def test_rerun_of_a_date_adds_nothing_and_counts_reconcile(dataset, settings, catalog):
    days = [START + timedelta(days=i) for i in range(3)]
    with InvoiceSourceServer(dataset).start() as srv:
        settings.source.base_url = srv.base_url
        ingest_http(settings, catalog, days[0], days[-1], chunk_days=2)
        first = bronze_status(catalog)
        ingest_http(settings, catalog, days[1], days[1])
        second = bronze_status(catalog)
    expected = _expected_for(dataset, days)
    assert first.accepted + first.rejected == len(expected)
    assert (second.accepted, second.rejected) == (first.accepted, first.rejected)
    assert second.reconciled
    wanted = Counter(d.expected_reason for d in expected if d.expected_reason)
    assert Counter(first.rejected_by_reason) == wanted


def test_incremental_window_continues_from_bronze(dataset, settings, catalog):
    today = START + timedelta(days=9)
    with pytest.raises(IngestError, match="--from"):
        http_window(catalog, settings, None, None, today)
    with InvoiceSourceServer(dataset).start() as srv:
        settings.source.base_url = srv.base_url
        ingest_http(settings, catalog, START, START + timedelta(days=4))
    settings.source.lookback_days = 2
    start, end = http_window(catalog, settings, None, None, today)
    assert (start, end) == (START + timedelta(days=2), today - timedelta(days=1))


def test_jsonl_import_quarantines_every_kind_and_reimport_adds_nothing(
    dataset, settings, catalog, tmp_path
):
    path = write_jsonl(dataset, tmp_path / "sim")
    first = import_file(settings, catalog, path)
    assert first.delivered == len(dataset.deliveries)
    wanted = Counter(d.expected_reason for d in dataset.deliveries if d.expected_reason)
    assert first.rejected_by_reason == dict(wanted)
    import_file(settings, catalog, path)
    status = bronze_status(catalog)
    assert (status.accepted, status.rejected) == (first.accepted, first.rejected)
    assert status.reconciled


def test_missing_file_is_a_clear_error(settings, catalog, tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        import_file(settings, catalog, tmp_path / "nope.jsonl")
