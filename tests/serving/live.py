"""Run the real ``model-server`` console script (Gunicorn) on a free loopback port.

One helper for every end-to-end test: HTTP or HTTPS, a URL for simple cases
(:func:`running_server`) or the process handle, worker pids and their RSS for fault injection
(:func:`live_server`). Starting, waiting and stopping, and the ``/proc`` process facts, are
``tests.support.processes``, which the benchmarks use too.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.processes import children, free_port, rss_kb, running
from tests.support.processes import wait_until as wait_until  # re-exported: the tests' one wait

MODEL_SERVER = Path(sys.executable).with_name("model-server")


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
    """Start ``model-server`` with ``env`` added; yield once ``probe`` answers 200 and every
    worker ``SERVING_WORKERS`` (or ``WEB_CONCURRENCY``) asks for has been forked; always stop it.

    With preload the first worker answers ``probe`` before the master has forked the others.
    With ``ca_file`` the server is expected to speak HTTPS and is probed with that trust root.
    """
    assert MODEL_SERVER.exists(), f"{MODEL_SERVER} missing: run `make install`"
    port = free_port()
    scheme = "https" if ca_file else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    with running(
        [str(MODEL_SERVER)],
        {**env, "SERVING_BIND": f"127.0.0.1:{port}"},
        log_path,
        lambda: ready(base, probe, ca_file),
        timeout=timeout,
    ) as process:
        workers = int(env.get("SERVING_WORKERS") or env.get("WEB_CONCURRENCY") or 1)
        forked = wait_until(lambda: len(children(process.pid)) >= workers, timeout)
        assert forked, f"{workers} workers not forked within {timeout}s"
        yield LiveServer(base, process, log_path)


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
