"""Rate limits on a real redis-server: one budget across apps and Gunicorn workers; Redis down
→ per-worker in-memory limits (fail open to the ``memory://`` guarantee), never a 5xx."""

from __future__ import annotations

import logging
import re
import socket
from collections import Counter

import pytest
import requests

from serving import create_app
from serving.auth.errors import AuthConfigError
from serving.settings import Settings, SettingsError

from .auth_files import write_credentials
from .live import accepted_by, live_server, wait_until
from .redis_server import redis_server


@pytest.fixture
def redis(tmp_path):
    with redis_server(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def uri_file(tmp_path, redis):
    path = tmp_path / "rate-limit-storage"
    path.write_text(redis.url + "\n")
    return path


def _app(store, creds, uri_file, limit="3/minute"):
    config = creds.config(
        rate_limit_enabled=True, rate_limit=limit, rate_limit_storage_file=uri_file
    )
    return create_app(store.config(default_model="mnist", **config))


def _guesses(app, count: int) -> list[int]:
    client = app.test_client()
    headers = {"Authorization": "Bearer guess-guess-guess-guess"}
    return [client.post("/predict", headers=headers).status_code for _ in range(count)]


def test_two_apps_share_one_budget(session_store, tmp_path, redis, uri_file):
    """Two processes' worth of limiters (two apps) draw on the same Redis counter."""
    creds = write_credentials(tmp_path / "creds")
    first, second = (_app(session_store, creds, uri_file) for _ in range(2))
    assert _guesses(first, 2) == [401, 401]
    assert _guesses(second, 2) == [401, 429]
    assert redis.client().keys("*model-server*")  # the counts live in Redis


def test_redis_down_falls_back_to_per_worker_limits(session_store, tmp_path, redis, caplog):
    creds = write_credentials(tmp_path / "creds")
    uri_file = tmp_path / "uri"
    uri_file.write_text(redis.url)
    app = _app(session_store, creds, uri_file)
    redis.stop()
    caplog.set_level(logging.INFO)
    assert _guesses(app, 5) == [401, 401, 401, 429, 429]  # still limited, in this worker
    client = app.test_client()
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}  # probes never
    assert "falling back to in-memory storage" in caplog.text
    assert redis.password not in caplog.text
    # Redis back: the limiter re-checks it with back-off and counts there again
    redis.start()
    assert wait_until(lambda: _guesses(app, 1) and bool(redis.client().keys("*model-server*")), 30)


def test_redis_unreachable_at_start_still_serves(session_store, tmp_path, redis, digit):
    creds = write_credentials(tmp_path / "creds")
    uri_file = tmp_path / "uri"
    uri_file.write_text(redis.url)
    redis.stop()
    app = _app(session_store, creds, uri_file, limit="2/minute")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {creds.api_key}"}
    body = {"pixels": digit[0].tolist()}
    statuses = [client.post("/predict", json=body, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_password_in_the_plain_setting_is_refused_without_echoing_it():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SERVING_RATE_LIMIT_STORAGE": "redis://:hunter2-secret@redis:6379"})
    assert "SERVING_RATE_LIMIT_STORAGE_FILE" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    Settings.from_env({"SERVING_RATE_LIMIT_STORAGE": "redis://redis:6379/0"})  # no password: ok


def test_file_and_plain_setting_together_are_refused(tmp_path):
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env(
            {
                "SERVING_RATE_LIMIT_STORAGE": "redis://redis:6379",
                "SERVING_RATE_LIMIT_STORAGE_FILE": str(tmp_path / "uri"),
            }
        )


@pytest.mark.parametrize("content", ["", "redis://a:1\nredis://b:2\n", "not a uri s3cr3t-value"])
def test_a_bad_storage_file_stops_the_start(session_store, tmp_path, content):
    creds = write_credentials(tmp_path / "creds")
    uri_file = tmp_path / "uri"
    uri_file.write_text(content)
    with pytest.raises(AuthConfigError, match="SERVING_RATE_LIMIT_STORAGE_FILE") as caught:
        _app(session_store, creds, uri_file)
    assert "s3cr3t" not in str(caught.value)


def _hold_a_worker(server) -> socket.socket:
    """Occupy one sync worker with a request whose headers never end (it reaches no app code)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    port = sock.getsockname()[1]
    assert wait_until(lambda: accepted_by(server.worker_pids(), port), 60)  # a worker may boot
    return sock


@pytest.mark.slow
def test_two_gunicorn_workers_share_one_budget_and_survive_redis_stopping(
    signed_store, tmp_path, redis, uri_file
):
    """Each worker in turn answers alone (the other held by a stalled request): one budget."""
    limit, first_part, extra = 30, 15, 6
    creds = write_credentials(tmp_path / "creds")
    env = {
        "SERVING_MODEL_STORE": str(signed_store.path),
        "SERVING_VERIFY_KEY_FILE": str(signed_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_RELOAD_INTERVAL": "0",
        "WEB_CONCURRENCY": "2",
        # a sync worker holds one connection at a time, so a stalled one pins it
        "SERVING_WORKER_CLASS": "sync",
        **creds.env(),
        "SERVING_RATE_LIMIT_ENABLED": "true",
        "SERVING_RATE_LIMIT": f"{limit}/minute",
        "SERVING_RATE_LIMIT_STORAGE_FILE": str(uri_file),
    }
    log = tmp_path / "server.log"

    def guesses(count: int) -> list[int]:
        headers = {"Authorization": "Bearer guess-guess-guess-guess", "Connection": "close"}
        return [
            requests.post(server.base + "/predict", headers=headers, timeout=30).status_code
            for _ in range(count)
        ]

    def refusals() -> dict[str, int]:
        lines = re.findall(r"\[(\d+)\] \[INFO\] [^\n]*auth refused: POST /predict", log.read_text())
        return dict(Counter(lines))

    with live_server(env, log) as server:
        assert wait_until(lambda: len(server.worker_pids()) == 2, 60)
        held = _hold_a_worker(server)
        assert guesses(first_part) == [401] * first_part  # all answered by the other worker
        also_held = _hold_a_worker(server)  # now the other one is pinned too
        held.close()  # the first is free again, and the only one free
        rest = guesses(limit - first_part + extra)
        also_held.close()
        assert rest == [401] * (limit - first_part) + [429] * extra
        counts = refusals()
        assert sorted(counts.values()) == [first_part, limit - first_part], counts
        redis.stop()
        auth = {"Authorization": f"Bearer {creds.api_key}", "Connection": "close"}
        body = {"pixels": [0.0] * 784}
        answers = [
            requests.post(server.base + "/predict", json=body, headers=auth, timeout=30).status_code
            for _ in range(6)
        ]
        assert answers == [200] * 6  # fail open to per-worker limits: a fresh budget, no 5xx
        assert wait_until(lambda: "falling back to in-memory" in log.read_text(), 10)
    assert redis.password not in log.read_text()


def test_refusals_add_no_limiter_log_line_but_storage_trouble_does(
    session_store, tmp_path, redis, uri_file, caplog
):
    creds = write_credentials(tmp_path / "creds")
    app = _app(session_store, creds, uri_file, limit="1/minute")
    caplog.set_level(logging.INFO)
    assert _guesses(app, 3) == [401, 429, 429]
    assert not [r for r in caplog.records if r.name == "flask-limiter"]  # one per 429: dropped
    redis.stop()
    assert _guesses(app, 1) == [401]  # a fresh per-worker budget
    assert [r.getMessage() for r in caplog.records if r.name == "flask-limiter"] == [
        "Rate limit storage unreachable - falling back to in-memory storage"
    ]
