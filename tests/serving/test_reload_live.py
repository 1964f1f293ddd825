"""Hot reload under Gunicorn and steady load: zero failed requests while versions change."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import pytest
import requests

from .auth_files import write_credentials
from .live import pids_that_logged, running_server, wait_until
from .versions import save_version, tamper

pytestmark = pytest.mark.slow

CLIENT_THREADS = 4


class Load:
    """Client threads posting one digit in a loop; records every request's send time, status
    and served version (the send time: a request sent after every worker swapped must be
    answered by the new version, one sent before may still meet the old one)."""

    def __init__(self, url: str, pixels: list[float], api_key: str) -> None:
        self.url, self.pixels, self.api_key = url, pixels, api_key
        self.results: list[tuple[float, int, str]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(CLIENT_THREADS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.api_key}"
        session.headers["Connection"] = "close"  # new connections spread over all workers
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                response = session.post(self.url, json={"pixels": self.pixels}, timeout=30)
                version = response.json().get("version", "") if response.ok else response.text
                record = (sent, response.status_code, version)
            except requests.RequestException as exc:
                with self._lock:
                    self.errors.append(repr(exc))
                continue
            with self._lock:
                self.results.append(record)

    def since(self, moment: float) -> list[tuple[float, int, str]]:
        with self._lock:
            return [r for r in self.results if r[0] >= moment]

    def wait_for(self, version: str, streak: int, timeout: float) -> None:
        """Until the last ``streak`` responses all came from ``version`` (every worker swapped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                tail = self.results[-streak:]
            if len(tail) == streak and all(r[2] == version for r in tail):
                return
            time.sleep(0.1)
        pytest.fail(f"workers did not converge on version {version} in {timeout}s")


@pytest.fixture
def live_server(signed_store, tmp_path):
    creds = write_credentials(tmp_path / "creds")
    env = {
        "SERVING_MODEL_STORE": str(signed_store.path),
        "SERVING_VERIFY_KEY_FILE": str(signed_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_RELOAD_INTERVAL": "0.5",
        "SERVING_ACCESS_LOG": "false",
        "WEB_CONCURRENCY": "2",
        **creds.env(),
    }
    log = tmp_path / "server.log"
    with running_server(env, log) as base:
        yield base, signed_store, creds, log


def test_swap_and_refusal_under_load(live_server, digit, tmp_path):
    base, store, creds, log = live_server
    with Load(base + "/predict", digit[0].tolist(), creds.api_key) as load:
        assert wait_until(lambda: len(load.since(0)) > 50, 30)  # steady state on version 2
        save_version(store, "3")
        load.wait_for("3", streak=40, timeout=30)
        # a worker that served none of that streak may swap a poll later: wait for its log line
        assert wait_until(lambda: len(pids_that_logged(log.read_text(), "'mnist/3'")) == 2, 30)
        swapped_at = time.monotonic()  # requests sent from here on must all get v3
        # a bad artifact, tampered before it appears (one rename), so no poll can see it intact
        staged = save_version(store, "4", into=tmp_path / "staging")
        tamper(staged)
        staged.rename(store.path / "mnist" / "4")
        refused = "reload refused mnist/4 (DigestMismatch)"
        assert wait_until(lambda: len(pids_that_logged(log.read_text(), refused)) == 2, 30)
        refused_at = time.monotonic()
        assert wait_until(lambda: len(load.since(refused_at)) > 20, 30)  # and served on
    results = load.results
    statuses = Counter(status for _, status, _ in results)
    versions = Counter(version for _, _, version in results)
    logging.getLogger(__name__).info(
        "%d requests in %.1f s: statuses %s, versions %s",
        len(results),
        results[-1][0] - results[0][0],
        dict(statuses),
        dict(versions),
    )
    assert load.errors == []
    assert statuses == {200: len(results)}, statuses  # zero failed requests
    assert len(results) > 100
    assert set(versions) == {"2", "3"}, versions
    assert {v for _, _, v in load.since(swapped_at)} == {"3"}  # v4 refused, v3 kept serving
    auth = {"Authorization": f"Bearer {creds.api_key}"}  # the details need credentials
    ready = requests.get(base + "/status", headers=auth, timeout=10).json()
    assert ready["ready"] is True
    assert {
        "name": "mnist",
        "version": "4",
        "status": "failed",
        "reason": "DigestMismatch",
    } in ready["failures"]
    # each of the two workers verified and refused v4 on its own (they converge independently)
    assert log.read_text().count("reload refused mnist/4 (DigestMismatch)") == 2
