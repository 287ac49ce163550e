"""The local S3 server: moto's S3 backend behind a small fault switch.

`python -m services.s3_server --port N` serves S3 on 127.0.0.1:N (path-style, any signature).
The fault switch makes the "S3 refuses requests for a while" test possible without touching
the clients: `POST /_faults` with JSON `{"status": 503, "seconds": 5}` answers every S3 request
with that status (an S3 XML error) until the time is up, `{"status": 503, "count": 2}` refuses
the next two requests only (a blip the clients' own retries should ride out); `{"status": 0}`
turns it off;
`GET /_faults` shows the state and how many requests were refused.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

CODES = {503: "ServiceUnavailable", 500: "InternalError", 403: "AccessDenied"}


class FaultSwitch:
    """WSGI middleware: refuse S3 requests while a fault window is open."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.status = 0
        self.until = 0.0
        self.left = -1  # requests still to refuse; -1: no count limit
        self.refused = 0

    def _active(self) -> int:
        with self.lock:
            if self.status and time.monotonic() < self.until and self.left != 0:
                self.refused += 1
                self.left -= 1 if self.left > 0 else 0
                return self.status
            return 0

    def _control(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                self.status = int(body.get("status", 0))
                self.until = time.monotonic() + float(body.get("seconds", 3600))
                self.left = int(body.get("count", -1))
                self.refused = 0
        with self.lock:
            left = max(0.0, self.until - time.monotonic()) if self.status else 0.0
            on = bool(left) and self.left != 0
            state = {"status": self.status if on else 0, "seconds_left": left, "left": self.left}
            state["refused"] = self.refused
        payload = json.dumps(state).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [payload]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_faults":
            return self._control(environ, start_response)
        status = self._active()
        if status:
            code = CODES.get(status, "ServiceUnavailable")
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>fault injected by the integration tier</Message></Error>"
            ).encode()
            start_response(
                f"{status} {code}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = FaultSwitch(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    print(f"s3 (moto) serving on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
