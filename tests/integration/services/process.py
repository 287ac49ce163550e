"""A local service as a process: started detached, logged to a file, health-checked, stopped.

The pid is kept in `<state>/<name>.pid`, so `python -m services down` (or a test fixture) can stop
what `python -m services up` started in another process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServiceError(RuntimeError):
    """A service failed to start, to become healthy or to stop; the message ends with its log."""


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    return f"--- last {min(lines, len(text))} lines of {path} ---\n" + "\n".join(text[-lines:])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Process:
    """One long-running process of a service."""

    def __init__(
        self,
        name: str,
        state: Path,
        log: Path,
        port: int,
        stop_signal: int = signal.SIGTERM,
        log_fn: Callable[[str], None] = print,
    ):
        self.name = name
        self.pidfile = state / f"{name}.pid"
        self.log = log
        self.port = port
        self.stop_signal = stop_signal
        self.say = log_fn
        self._popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        if not self.pidfile.exists():
            return None
        try:
            pid = int(self.pidfile.read_text().strip())
        except ValueError:
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid is not None

    def start(self, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        if self.running():
            return
        if port_open(self.port):
            raise ServiceError(
                f"{self.name}: port {self.port} is already in use by another process; "
                f"set PP_SERVICES_{self.name.upper()}_PORT to a free port"
            )
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(cmd)}\n".encode())
            out.flush()
            self._popen = subprocess.Popen(
                cmd,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives `python -m services up`; own process group
            )
        self.pidfile.write_text(str(self._popen.pid))

    def wait_healthy(self, check: Callable[[], bool], timeout: float) -> float:
        """Poll `check` until it is true; fail early if the process died. Returns seconds taken."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise ServiceError(f"{self.name} exited during start-up\n{log_tail(self.log)}")
            try:
                if check():
                    return time.monotonic() - started
            except Exception:
                pass
            time.sleep(0.5)
        raise ServiceError(
            f"{self.name} not healthy after {timeout:.0f}s (port {self.port})\n{log_tail(self.log)}"
        )

    def stop(self, timeout: float = 30) -> None:
        pid = self.pid
        if pid is not None:
            self._signal(pid, self.stop_signal)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and pid_alive(pid):
                self._reap()
                time.sleep(0.2)
            if pid_alive(pid):
                self.say(f"{self.name}: still running after {timeout:.0f}s, killing")
                self._signal(pid, signal.SIGKILL)
                for _ in range(50):
                    self._reap()
                    if not pid_alive(pid):
                        break
                    time.sleep(0.1)
        self._reap()
        self.pidfile.unlink(missing_ok=True)

    def _reap(self) -> None:
        if self._popen is not None:
            self._popen.poll()

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)  # the process group it leads (start_new_session)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
