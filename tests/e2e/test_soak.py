"""Soak: many mixed, authenticated requests against real Gunicorn — zero errors, flat memory.

CI runs ~10k requests; ``make soak`` runs the documented full size (E2E_SOAK_REQUESTS).
Worker RSS is sampled after a warm-up (imports, first predictions, metric files touched)
and at the end; growth beyond the bound means something accumulates per request.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.e2e.conftest import server_env, size
from tests.e2e.traffic import Client, mixed_calls
from tests.serving.live import live_server

CLIENTS = 4
RSS_GROWTH_BOUND_KB = 24 * 1024  # per worker, after warm-up


def drive(base: str, api_key: str, calls, count: int) -> tuple[list[str], int]:
    """Send ``count`` requests round-robin over ``calls`` from CLIENTS threads."""
    failures: list[str] = []
    sent = [0]
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = Client(base, api_key)
        for i in range(offset, count, CLIENTS):
            client.send(calls[i % len(calls)])
        client.close()
        with lock:
            failures.extend(client.failures)
            sent[0] += sum(client.statuses.values()) + len(client.failures)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures, sent[0]


@pytest.mark.slow
@pytest.mark.serial  # a time budget and an RSS bound: not beside another test's load
def test_soak_mixed_endpoints_zero_errors_bounded_memory(
    tmp_path, session_store, credentials
) -> None:
    total = size("soak_requests", 10_000)
    budget = size("soak_max_seconds", 240)
    calls = mixed_calls(session_store.images)
    env = server_env(session_store.path, session_store.key_file, credentials)
    with live_server(env, tmp_path / "server.log") as server:
        warm_failures, _ = drive(server.base, credentials.api_key, calls, max(500, total // 10))
        assert warm_failures == []
        warm = server.worker_rss_kb()
        started = time.monotonic()
        failures, sent = drive(server.base, credentials.api_key, calls, total)
        elapsed = time.monotonic() - started
        after = server.worker_rss_kb()
        log = server.log()
    assert failures == [], failures[:10]
    assert sent == total
    assert elapsed < budget, f"{total} requests took {elapsed:.0f}s (budget {budget}s)"
    assert set(after) == set(warm), f"workers restarted during the soak:\n{log[-2000:]}"
    growth = {pid: after[pid] - warm[pid] for pid in warm}
    assert max(growth.values()) < RSS_GROWTH_BOUND_KB, f"RSS growth kB per worker: {growth}"
    assert "Traceback" not in log, log[-3000:]
