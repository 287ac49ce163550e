"""Import every Superset bundle (*.zip) found in BUNDLES_DIR through the REST API.

Runs in the ingestion image (standard library only). The Superset URL comes from the
environment, the admin credentials from files (SUPERSET_CREDENTIALS_DIR/username, /password).
No bundle is fine (exit 0); any failed import exits 1 so the sync shows it.
"""

import json
import os
import pathlib
import sys
import urllib.request
import uuid

BASE = os.environ["SUPERSET_URL"].rstrip("/")
if not BASE.startswith(("http://", "https://")):
    sys.exit(f"SUPERSET_URL must be http(s): {BASE!r}")
BUNDLES = pathlib.Path(os.environ.get("BUNDLES_DIR", "/bundles"))
CREDENTIALS = pathlib.Path(os.environ.get("SUPERSET_CREDENTIALS_DIR", "/var/run/secrets/admin"))


def call(opener, path, data=None, headers=None):
    """One JSON request to Superset (BASE is an http(s) URL from the Job's environment)."""
    req = urllib.request.Request(BASE + path, data=data, headers=headers or {})  # noqa: S310
    with opener.open(req, timeout=60) as resp:
        return json.loads(resp.read() or b"{}")


def main() -> int:
    """Log in, then import each bundle (overwrite: the bundle in git wins)."""
    bundles = sorted(BUNDLES.glob("*.zip"))
    if not bundles:
        print(f"no bundle in {BUNDLES}: nothing to import")
        return 0
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    login = json.dumps(
        {
            "username": (CREDENTIALS / "username").read_text().strip(),
            "password": (CREDENTIALS / "password").read_text().strip(),
            "provider": "db",
            "refresh": False,
        }
    ).encode()
    token = call(opener, "/api/v1/security/login", login, {"Content-Type": "application/json"})
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    csrf = call(opener, "/api/v1/security/csrf_token/", headers=auth)["result"]
    failed = 0
    for bundle in bundles:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="formData"; '
                f'filename="{bundle.name}"\r\nContent-Type: application/zip\r\n\r\n'
            ).encode()
            + bundle.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            **auth,
            "X-CSRFToken": csrf,
            "Referer": BASE,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        try:
            call(opener, "/api/v1/dashboard/import/", body, headers)
            print(f"imported {bundle.name}")
        except urllib.error.HTTPError as exc:
            failed += 1
            print(f"FAILED {bundle.name}: {exc.code} {exc.read()[:500]!r}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
