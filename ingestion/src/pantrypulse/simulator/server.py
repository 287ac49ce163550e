"""The invoice source over HTTP, as the contract describes it, on a loopback port.

`GET /invoices?date=YYYY-MM-DD&page=N` lists what the source holds for a local issue date,
as of the server's `as_of` date (late arrivals and corrections appear once it reaches their
`available_on`). Pages are slices of a fixed seq order, so a page never changes for the
same (date, page, as_of), and whatever arrives later is appended at the end. Faults (429,
500, 502, 503) are injected at `error_rate` by a seeded RNG; `/healthz` never fails.
"""

from __future__ import annotations

import hmac
import json
import random
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pantrypulse.simulator.generate import Dataset, Delivery

_FAULTS = ((429, 4), (500, 2), (502, 1), (503, 2))


def http_item(delivery: Delivery) -> Any:
    """How a delivery appears in a page's `invoices` array: the object, or raw JSON text.

    A record that is not a JSON object (broken JSON, a list, a number) travels as a string
    holding its raw text, so the page itself stays valid JSON.
    """
    if isinstance(delivery.payload, bytes):
        raise ValueError("non-UTF-8 records are JSON Lines only")
    return delivery.payload


def _parse_date(values: list[str] | None) -> date | None:
    if not values or len(values) != 1:
        return None
    text = values[0]
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PantryPulseSimulator/1"
    # Headers and body go out as separate writes; without this, Nagle plus delayed ACK
    # stalls every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True
    timeout = 60

    @property
    def source(self) -> InvoiceSourceServer:
        return self.server.source  # type: ignore[attr-defined]  # set on _QuietServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.source.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        source = self.source
        url = urlsplit(self.path)
        source.count("requests")
        if url.path == "/healthz":
            self._send(200, {"status": "ok"})
            return
        if url.path != "/invoices":
            self._send(404, {"error": "not found", "path": url.path})
            return
        source.count("invoice_requests")
        if source.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {source.token}".encode()):
                source.count("unauthorized")
                self._send(
                    401, {"error": "missing or wrong bearer token"}, {"WWW-Authenticate": "Bearer"}
                )
                return
        fault = source.draw_fault()
        if fault is not None:
            status, headers = fault
            self._send(status, {"error": "injected fault", "status": status}, headers)
            return
        query = parse_qs(url.query, keep_blank_values=True)
        day = _parse_date(query.get("date"))
        if day is None:
            source.count("bad_requests")
            self._send(400, {"error": "query parameter 'date' must be one YYYY-MM-DD date"})
            return
        page_text = (query.get("page") or ["1"])[-1]
        if not page_text.isdigit() or int(page_text) < 1:
            source.count("bad_requests")
            self._send(400, {"error": "query parameter 'page' must be an integer >= 1"})
            return
        as_of = source.as_of
        if "as_of" in query:
            as_of = _parse_date(query["as_of"])
            if as_of is None:
                source.count("bad_requests")
                self._send(400, {"error": "query parameter 'as_of' must be a YYYY-MM-DD date"})
                return
        self._send(200, source.page(day, int(page_text), as_of))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    source: InvoiceSourceServer

    def handle_error(self, request, client_address) -> None:
        # Clients that hang up mid-answer (timeouts, Ctrl-C) are normal here, not news.
        if self.source.verbose:
            super().handle_error(request, client_address)


class InvoiceSourceServer:
    """The simulator's dataset served over the HTTP source contract.

    Use `start()` for a background thread (and as a context manager) or `serve_forever()`
    in the foreground. `as_of` can be changed while running to let time pass.
    """

    def __init__(
        self,
        dataset: Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        error_rate: float = 0.0,
        page_size: int = 50,
        as_of: date | None = None,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        if not 0 <= error_rate < 1:
            raise ValueError("error_rate must be in [0, 1)")
        self.dataset = dataset
        self.token = token
        self.error_rate = error_rate
        self.page_size = page_size
        self.as_of = as_of
        self.verbose = verbose
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not security
        self._lock = threading.Lock()
        self.stats: dict[str, Any] = {
            "requests": 0,
            "invoice_requests": 0,
            "injected_errors": {},
            "unauthorized": 0,
            "bad_requests": 0,
            "invoices_served": 0,
        }
        self._httpd = _QuietServer((host, port), _Handler)
        self._httpd.source = self
        self.host = host
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._closed = False

    def count(self, key: str, n: int = 1) -> None:
        """Add to a request counter (thread-safe)."""
        with self._lock:
            self.stats[key] += n

    def draw_fault(self) -> tuple[int, dict[str, str]] | None:
        """Decide, with the seeded RNG, whether this request fails and how."""
        with self._lock:
            if self.error_rate <= 0 or self._rng.random() >= self.error_rate:
                return None
            status = self._rng.choices([s for s, _ in _FAULTS], [w for _, w in _FAULTS])[0]
            headers = {"Retry-After": str(self._rng.choice((0, 1)))} if status == 429 else {}
            faults = self.stats["injected_errors"]
            faults[status] = faults.get(status, 0) + 1
        return status, headers

    def page(self, day: date, page: int, as_of: date | None) -> dict:
        """The body for one page of one date."""
        listed = self.dataset.for_date(day, as_of)
        first = (page - 1) * self.page_size
        items = [http_item(d) for d in listed[first : first + self.page_size]]
        more = first + self.page_size < len(listed)
        self.count("invoices_served", len(items))
        return {
            "date": day.isoformat(),
            "page": page,
            "next_page": page + 1 if more else None,
            "invoices": items,
        }

    def start(self) -> InvoiceSourceServer:
        """Serve in a background thread; returns self (usable as a context manager)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="invoice-source",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until stopped (Ctrl-C raises KeyboardInterrupt).

        If `start()` already runs the server in the background, this just waits for it.
        """
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.5)
            return
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> InvoiceSourceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
