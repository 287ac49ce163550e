"""Fixtures of the integration tier: the real services as local processes, shared by all tests.

If `make services-up` already started them (all healthy), the tests use them and leave them
running; otherwise the session starts them and stops them at the end (PP_SERVICES_KEEP=1 keeps
them). A failing test gets the tail of every service's log (and dbt's) in its report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from services import Stack  # noqa: E402
from services.process import log_tail  # noqa: E402

_STACK: Stack | None = None
_DBT_LOGS: list[Path] = []


@pytest.fixture(scope="session")
def stack():
    global _STACK
    st = Stack(say=lambda m: print(m, file=sys.stderr))
    _STACK = st
    already = all(st.status().values())
    if not already:
        st.up()
    yield st
    if not already and os.environ.get("PP_SERVICES_KEEP") != "1":
        st.down()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _STACK is not None:
        report.sections.append(("service logs", _STACK.logs(lines=40)))
        for log in _DBT_LOGS:
            report.sections.append((f"dbt log {log.name}", log_tail(log, 60)))


def track_dbt_log(path: Path) -> None:
    _DBT_LOGS.append(path)


@pytest.fixture(scope="session")
def services_env(stack, tmp_path_factory):
    """Environment for the pantrypulse CLI on the services (no HTTP source)."""
    return stack.pantrypulse_env(tmp_path_factory.mktemp("services-cli-home"))


def ok(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def status(env: dict[str, str]) -> dict:
    """`pantrypulse status --json` on the services."""
    return json.loads(ok(cli(env, "status", "--json"), "status").stdout)


def cli(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the `pantrypulse` CLI of this environment with `env` on top of ours."""
    exe = Path(sys.executable).parent / "pantrypulse"
    return subprocess.run(
        [str(exe), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
