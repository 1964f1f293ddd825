"""A real ``model-server`` (Gunicorn master + workers) on loopback, with its process handle.

``tests.serving.live.running_server`` only yields a URL; fault injection needs the master's
pid (SIGTERM), the workers' pids (SIGKILL) and their RSS, so this wraps the same command and
keeps the ``Popen``. Process facts come from ``/proc`` (Linux), so no psutil dependency.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.serving.live import free_port


@dataclass
class LiveServer:
    base: str
    process: subprocess.Popen
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def worker_rss_kb(self) -> dict[int, int]:
        return {pid: rss_kb(pid) for pid in self.worker_pids()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def children(parent: int) -> list[int]:
    """Direct children of ``parent`` (scans /proc; kernels without task/children exist)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(entry))
    return sorted(found)


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in kB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ready(base: str, probe: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(base + probe, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


@contextlib.contextmanager
def live_server(
    env: dict[str, str], log_path: Path, timeout: float = 60, probe: str = "/readyz"
) -> Iterator[LiveServer]:
    """Start ``model-server`` with ``env``; yield once ``probe`` is 200; always stop it."""
    port = free_port()
    full_env = {**os.environ, **env, "SERVING_BIND": f"127.0.0.1:{port}"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving.cli"],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        if not wait_until(lambda: process.poll() is not None or ready(server.base, probe), timeout):
            raise RuntimeError(f"server not ready after {timeout}s:\n{server.log()}")
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{server.log()}")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
