"""The n8n-style invoice API, read by date with dlt's REST client.

dlt does the HTTP work: cursor pagination on the body's `next_page`, retries with
exponential back-off on 429/5xx and connection errors (honouring Retry-After), and bearer
authentication. Each invoice is yielded untouched with its position, so validation (and the
quarantine) sees exactly what the source sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dlt
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator


@dataclass(frozen=True)
class Delivery:
    """One delivered record and where it came from."""

    slice_key: str
    position: str
    record: Any


@dataclass(frozen=True)
class HttpOptions:
    """Connection and retry behaviour for the invoice API."""

    base_url: str
    token: str | None = None
    max_attempts: int = 6
    backoff_factor: float = 0.5
    max_retry_delay_s: float = 30
    timeout_s: float = 30


def date_slice(day: date) -> str:
    """The bronze slice that holds everything the API lists under `day`."""
    return f"http:{day.isoformat()}"


def _client(options: HttpOptions) -> RESTClient:
    session = Client(
        request_timeout=options.timeout_s,
        request_max_attempts=options.max_attempts,
        request_backoff_factor=options.backoff_factor,
        request_max_retry_delay=options.max_retry_delay_s,
        raise_for_status=False,  # RESTClient checks statuses itself, after retries
    ).session
    return RESTClient(
        base_url=options.base_url.rstrip("/"),
        auth=BearerTokenAuth(options.token) if options.token else None,
        paginator=JSONResponseCursorPaginator(cursor_path="next_page", cursor_param="page"),
        data_selector="invoices",
        session=session,
    )


def fetch_date(client: RESTClient, day: date) -> Iterator[Delivery]:
    """Every invoice the API lists for `day`, page by page, in the API's order."""
    page_no = 1
    for page in client.paginate("/invoices", params={"date": day.isoformat(), "page": 1}):
        for index, item in enumerate(page):
            yield Delivery(date_slice(day), f"date={day}/page={page_no}/item={index}", item)
        page_no += 1


@dlt.source(name="invoice_api", max_table_nesting=0)
def invoice_api(options: HttpOptions, days: Iterable[date]) -> Any:
    """Dlt source: the invoice API for the given local issue dates."""
    days = sorted(set(days))

    @dlt.resource(name="deliveries", max_table_nesting=0)
    def deliveries() -> Iterator[Delivery]:
        client = _client(options)
        for day in days:
            yield from fetch_date(client, day)

    return deliveries
