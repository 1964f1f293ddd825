"""The real server: Gunicorn workers, multiprocess metrics, the seed curl contract, limits."""

from __future__ import annotations

import re
import time

import pytest
import requests

from .conftest import png_bytes
from .live import pids_that_logged, running_server, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(session_store, tmp_path_factory):
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_MAX_BODY_BYTES": "200000",
        "WEB_CONCURRENCY": "2",
        "SERVING_AUTH_ENABLED": "false",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
    }
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with running_server(env, log) as base:
        _wait_for_workers(log, PRELOADED, 2)
        yield base, log


LOADED = "serving.registry: serving mnist/2"
PRELOADED = "serving mnist/2 (preloaded in the master)"


def _wait_for_workers(log, line: str, workers: int, timeout: float = 90) -> None:
    """/readyz answers once one worker is up; the aggregation tests need both."""
    deadline = time.monotonic() + timeout
    while len(pids_that_logged(log.read_text(), line)) < workers:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_seed_contract_over_http(server, digit):
    base, _ = server
    pixels, label = digit
    files = {"file": ("digit.png", png_bytes(pixels), "image/png")}
    response = requests.post(f"{base}/predict", files=files, timeout=10)
    assert response.status_code == 200
    assert response.json()["digit"] == label


def test_body_limit_through_gunicorn(server):
    base, _ = server
    files = {"file": ("big.png", b"\x00" * 300_000, "image/png")}
    response = requests.post(f"{base}/predict", files=files, timeout=10)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_metrics_aggregate_all_workers(server, session_store):
    base, log = server
    with requests.Session() as session:  # several connections spread over both workers
        for _ in range(20):
            session.post(
                f"{base}/predict",
                json={"pixels": session_store.images[0].tolist()},
                headers={"Connection": "close"},
                timeout=10,
            )
    text = requests.get(f"{base}/metrics", timeout=10).text
    match = re.search(
        r'model_server_requests_total\{method="POST",route="/predict",status="200"\} (\S+)', text
    )
    assert match, text[:2000]
    assert float(match.group(1)) >= 20
    assert "model_server_models_loaded 3.0" in text
    assert "prometheus multiprocess directory" in log.read_text()


def test_access_log_lines(server):
    base, log = server
    requests.get(f"{base}/healthz", timeout=10)
    # Gunicorn writes the access line after the response is sent: allow it a moment.
    line = re.compile(r'"GET /healthz HTTP/1.1" 200 \d+ \d+ms')
    assert wait_until(lambda: line.search(log.read_text()), timeout=10), log.read_text()[-2000:]


def test_application_logs_reach_stderr(server):
    _, log = server
    text = log.read_text()
    # preloaded: loaded and verified once, in the master; both workers serve that copy
    assert text.count(LOADED) == 1, text
    assert len(pids_that_logged(text, PRELOADED)) == 2, text
    assert pids_that_logged(text, LOADED).isdisjoint(pids_that_logged(text, PRELOADED))
    assert re.search(r"\[\d+\] \[INFO\] serving.registry: serving mnist/1", log.read_text())
