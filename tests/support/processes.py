"""Server processes for benchmarks and live tests: start, wait until ready, stop, inspect.

One implementation for every harness that runs a real server on loopback (``serving_bench``,
the MLServer and MLflow comparisons, ``tests/serving/live.py``): the readiness condition is the
caller's (an HTTP status, a TLS probe), the rest is the same. Process facts (children, memory,
CPU time) come from ``/proc`` (Linux), so neither side needs psutil. Standard library only, so
bench/mlflow/spark_udf.py can import it from MLflow's venv; both sides import
``tests.support.processes``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path


class ServerFailed(RuntimeError):
    """The server exited or did not become ready in time; the message ends with its log."""


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def status_of(url: str) -> int | None:
    """The HTTP status a GET of ``url`` answers, ``None`` while nothing accepts connections."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@contextlib.contextmanager
def running(
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    ready: Callable[[], bool],
    *,
    timeout: float = 120,
    interval: float = 0.1,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Start ``command`` with ``env`` added to ours; yield once ``ready()``; always stop it.

    Output goes to ``log_path`` (overwritten). ``ServerFailed`` if the process exits first or
    ``timeout`` seconds pass.
    """
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        up = wait_until(lambda: process.poll() is not None or ready(), timeout, interval)
        if process.poll() is not None:
            raise ServerFailed(f"{command[0]} exited {process.returncode}:\n{tail(log_path)}")
        if not up:
            raise ServerFailed(f"{command[0]} not ready after {timeout:g}s:\n{tail(log_path)}")
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful shutdown), SIGKILL after 30 s; nothing if it has already exited."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(log_path: Path, size: int = 3000) -> str:
    """The end of a server log, for an error message."""
    return log_path.read_text(errors="replace")[-size:] if log_path.exists() else ""


def _stats() -> dict[int, list[str]]:
    """``/proc/<pid>/stat`` of every process, split after the command name (state first)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            stats[int(entry)] = stat.rsplit(")", 1)[1].split()
    return stats


def _tree(pid: int, stats: dict[int, list[str]]) -> list[int]:
    """``pid`` and every process below it in ``stats``."""
    tree, queue = [], [pid]
    while queue:
        parent = queue.pop()
        tree.append(parent)
        queue += [child for child, fields in stats.items() if int(fields[1]) == parent]
    return tree


def children(parent: int) -> list[int]:
    """Direct, living (not zombie) children of ``parent``, sorted."""
    return sorted(
        pid for pid, fields in _stats().items() if int(fields[1]) == parent and fields[0] != "Z"
    )


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid``."""
    living = {p: fields for p, fields in _stats().items() if fields[0] != "Z"}
    return _tree(pid, living)[1:]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, reaped children included) of ``pid`` and all its descendants."""
    stats = _stats()
    ticks = sum(sum(int(v) for v in stats[p][11:15]) for p in _tree(pid, stats) if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def cores_busy(cpu_seconds: list[float], seconds: list[float]) -> float:
    """Cores a process tree kept busy over some timed spans: its CPU seconds in them over their
    wall clock (on a 2-core machine, 2.0 is all of it)."""
    return round(sum(cpu_seconds) / sum(seconds), 2)


def tree_cpu(pid: int) -> dict[int, float]:
    """Own CPU seconds (user + system) of ``pid`` and of each process below it, by pid: a
    sampler keeps each process's last figure, so processes that end before the tree does still
    count."""
    stats = _stats()
    tick = os.sysconf("SC_CLK_TCK")
    return {
        p: (int(stats[p][11]) + int(stats[p][12])) / tick for p in _tree(pid, stats) if p in stats
    }


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in kB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` in kB (shared pages divided among their sharers), 0 if
    it is gone. RSS counts a page shared copy-on-write with the master in full in every worker;
    PSS shows what the sharing saves."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def memory(pid: int, workers: Callable[[int], list[int]]) -> dict:
    """RSS of the whole process tree, and mean RSS and PSS of its worker processes (MB)."""
    tree = [pid, *descendants(pid)]
    worker_pids = workers(pid)

    def per_worker(size_kb: Callable[[int], int]) -> float | None:
        if not worker_pids:
            return None
        return round(sum(size_kb(p) for p in worker_pids) / len(worker_pids) / 1024, 1)

    return {
        "rss_total_mb": round(sum(rss_kb(p) for p in tree) / 1024, 1),
        "pss_total_mb": round(sum(pss_kb(p) for p in tree) / 1024, 1),
        "rss_per_worker_mb": per_worker(rss_kb),
        "pss_per_worker_mb": per_worker(pss_kb),
        "processes": len(tree),
        "worker_processes": len(worker_pids),
    }


def gunicorn_workers(master: int) -> list[int]:
    """A Gunicorn master's worker processes (children with the master's command line)."""
    prefix = cmdline(master)[:20]
    return [p for p in descendants(master) if cmdline(p).startswith(prefix)]


def cmdline(pid: int) -> str:
    """The command line of ``pid`` (arguments joined by spaces), empty if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
