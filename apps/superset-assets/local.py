"""Run Superset locally on the embedded gold (DuckDB) with the PantryPulse assets imported.

    python local.py up      # metadata DB, admin user, import, start gunicorn; prints URL + login
    python local.py import  # re-import the assets into the running instance
    python local.py down    # stop the server this home started
    python local.py status

State lives in $PANTRYPULSE_HOME/superset (override with --home): the metadata database, a
generated secret key and admin password (mode 600, never in the repository), the server's pid
file and log. The gold file is $PANTRYPULSE_DUCKDB_PATH or $PANTRYPULSE_HOME/pantrypulse.duckdb.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

import bundle

HERE = pathlib.Path(__file__).resolve().parent
BIN = pathlib.Path(sys.executable).parent
ADMIN = "admin"


def _home(args) -> pathlib.Path:
    base = os.environ.get("PANTRYPULSE_HOME") or str(HERE.parents[1] / ".local")
    return pathlib.Path(args.home or pathlib.Path(base) / "superset").resolve()


def _duckdb(args) -> pathlib.Path:
    if args.duckdb:
        return pathlib.Path(args.duckdb).resolve()
    if os.environ.get("PANTRYPULSE_DUCKDB_PATH"):
        return pathlib.Path(os.environ["PANTRYPULSE_DUCKDB_PATH"]).resolve()
    base = os.environ.get("PANTRYPULSE_HOME") or str(HERE.parents[1] / ".local")
    return (pathlib.Path(base) / "pantrypulse.duckdb").resolve()


def _secret(home: pathlib.Path, name: str) -> str:
    path = home / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _env(home: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SUPERSET_HOME=str(home),
        SUPERSET_CONFIG_PATH=str(HERE / "superset_config.py"),
        SUPERSET_SECRET_KEY=_secret(home, "secret_key"),
        FLASK_APP="superset",
        PYTHONPATH=str(HERE),
    )
    return env


def _superset(env, *argv: str, quiet: bool = True) -> None:
    log = pathlib.Path(env["SUPERSET_HOME"]) / "cli.log"
    with log.open("a") as out:
        out.write(f"\n$ superset {' '.join(argv)}\n")
        out.flush()
        rc = subprocess.run(
            [str(BIN / "superset"), *argv], env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if rc != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise SystemExit(f"superset {' '.join(argv)} failed (rc {rc}); end of {log}:\n{tail}")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _pid(home: pathlib.Path) -> int | None:
    try:
        pid = int((home / "server.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def do_import(args) -> float:
    """Build the bundle for the gold file and import it; return the seconds taken."""
    home, gold = _home(args), _duckdb(args)
    if not gold.exists():
        raise SystemExit(f"no gold database at {gold}: run `make demo` first")
    env = _env(home)
    t = time.monotonic()
    zpath = home / "pantrypulse_assets.zip"
    zpath.write_bytes(bundle.build(args.database_uri or bundle.duckdb_uri(gold)))
    log = home / "cli.log"
    with log.open("a") as out:
        rc = subprocess.run(
            [sys.executable, str(HERE / "importer.py"), str(zpath), "--user", ADMIN],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode
    if rc != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise SystemExit(f"import failed (rc {rc}); end of {log}:\n{tail}")
    return time.monotonic() - t


def up(args) -> None:
    """Initialise the home once, import, start gunicorn unless running, print the login."""
    home = _home(args)
    home.mkdir(parents=True, exist_ok=True)
    env = _env(home)
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD") or _secret(home, "admin_password")
    t0 = time.monotonic()
    if not (home / ".initialised").exists():
        _superset(env, "db", "upgrade")
        _superset(
            env,
            "fab",
            "create-admin",
            "--username",
            ADMIN,
            "--firstname",
            "Pantry",
            "--lastname",
            "Admin",
            "--email",
            "admin@pantrypulse.local",
            "--password",
            password,
        )
        _superset(env, "init")
        (home / ".initialised").touch()
    t_init = time.monotonic() - t0
    t_import = do_import(args)
    t1 = time.monotonic()
    if _pid(home) and _healthy(args.port):
        started = "already running"
    else:
        log = (home / "server.log").open("a")
        proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
                "superset.app:create_app()",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (home / "server.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 120
        while not _healthy(args.port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Superset did not become healthy; see {home / 'server.log'}")
            time.sleep(0.5)
        started = f"started (pid {proc.pid})"
    t_start = time.monotonic() - t1
    print(f"Superset {started}: init {t_init:.1f}s, import {t_import:.1f}s, start {t_start:.1f}s")
    print(f"  URL:      http://127.0.0.1:{args.port}/dashboard/list/")
    print(f"  login:    {ADMIN} / {password}")
    print(f"  gold:     {_duckdb(args)}")
    print(f"  stop:     make dashboards-down   (or: python {pathlib.Path(__file__).name} down)")


def down(args) -> None:
    """Stop the server this home started."""
    home = _home(args)
    pid = _pid(home)
    if pid is None:
        print("Superset is not running")
        return
    os.killpg(pid, signal.SIGTERM)
    for _ in range(40):
        if _pid(home) is None:
            break
        time.sleep(0.25)
    (home / "server.pid").unlink(missing_ok=True)
    print(f"stopped Superset (pid {pid})")


def status(args) -> None:
    """Print whether the server of this home runs and answers."""
    home = _home(args)
    pid = _pid(home)
    print(f"pid {pid}, healthy {_healthy(args.port)}, home {home}")


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["up", "import", "down", "status"])
    ap.add_argument("--home", help="Superset state directory (default $PANTRYPULSE_HOME/superset)")
    ap.add_argument(
        "--duckdb", help="gold DuckDB file (default $PANTRYPULSE_HOME/pantrypulse.duckdb)"
    )
    ap.add_argument("--database-uri", help="import against this URI instead of the DuckDB file")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SUPERSET_PORT", "8088")))
    args = ap.parse_args()
    {
        "up": up,
        "import": lambda a: print(f"imported in {do_import(a):.1f}s"),
        "down": down,
        "status": status,
    }[args.command](args)


if __name__ == "__main__":
    main()
