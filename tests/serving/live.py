"""Run the real ``model-server`` console script (Gunicorn) on a free loopback port.

One helper for every end-to-end test: HTTP or HTTPS, a URL for simple cases
(:func:`running_server`) or the process handle, worker pids and their RSS for fault injection
(:func:`live_server`). Process facts come from ``/proc`` (Linux), so no psutil dependency.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

MODEL_SERVER = Path(sys.executable).with_name("model-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """Direct, living children of ``parent`` (scans /proc)."""
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


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ready(base: str, probe: str = "/readyz", ca_file: Path | None = None) -> bool:
    try:
        return requests.get(base + probe, timeout=2, verify=str(ca_file) if ca_file else True).ok
    except requests.RequestException:
        return False


@contextlib.contextmanager
def live_server(
    env: dict[str, str],
    log_path: Path,
    *,
    ca_file: Path | None = None,
    timeout: float = 90,
    probe: str = "/readyz",
) -> Iterator[LiveServer]:
    """Start ``model-server`` with ``env`` added; yield once ``probe`` answers 200; always stop it.

    With ``ca_file`` the server is expected to speak HTTPS and is probed with that trust root.
    """
    assert MODEL_SERVER.exists(), f"{MODEL_SERVER} missing: run `make install`"
    port = free_port()
    full_env = {**os.environ, **env, "SERVING_BIND": f"127.0.0.1:{port}"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(MODEL_SERVER)], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    scheme = "https" if ca_file else "http"
    server = LiveServer(f"{scheme}://127.0.0.1:{port}", process, log_path)
    try:
        up = wait_until(
            lambda: process.poll() is not None or ready(server.base, probe, ca_file), timeout
        )
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{server.log()}")
        if not up:
            raise RuntimeError(f"server not ready after {timeout}s:\n{server.log()}")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def running_server(env: dict[str, str], log_path: Path, **options) -> Iterator[str]:
    """:func:`live_server` for tests that only need the base URL."""
    with live_server(env, log_path, **options) as server:
        yield server.base


def pids_that_logged(log: str, text: str) -> set[str]:
    """Worker pids (Gunicorn's ``[pid]`` log field) with a log line containing ``text``."""
    return {m.group(1) for m in re.finditer(r"\[(\d+)\] \[\w+\] [^\n]*" + re.escape(text), log)}


def accepted_by(pids: list[int], client_port: int) -> bool:
    """Whether one of ``pids`` holds the server end of the connection from ``client_port``.

    Read from /proc: the kernel's TCP table gives the socket inode whose remote port is the
    client's, and a process's fd links name the inodes it holds. A connection still in the
    listen backlog belongs to no worker yet.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return True
            except OSError:
                continue
    return False
