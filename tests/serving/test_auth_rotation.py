"""Credential rotation without restarts: files re-read on change, K8s ``..data`` swaps, kids."""

from __future__ import annotations

import base64
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from werkzeug.security import generate_password_hash

from serving import create_app
from serving.auth.rotation import EXTENSION_KEY
from serving.auth.tokens import key_id

from . import secret_volume
from .live import pids_that_logged, running_server, wait_until


def _key() -> str:
    return "key-" + secrets.token_urlsafe(24)


class Mounted:
    """A Secret volume with API keys, a user and token secrets, and an app reading it."""

    def __init__(self, root, store, **settings) -> None:
        self.root = root
        self.keys = [_key(), _key()]
        self.password = "correct horse " + secrets.token_hex(4)
        self.secret = secrets.token_urlsafe(40)
        self.files = {
            "api-keys": "\n".join(self.keys) + "\n",
            "users": f"alice:{generate_password_hash(self.password)}\n",
            "token-secret": self.secret,
            "token-previous-secret": "",
        }
        paths = secret_volume.create(root, self.files)
        self.config = store.config(
            default_model="mnist",
            auth_enabled=True,
            rate_limit_enabled=False,
            api_keys_file=paths["api-keys"],
            users_file=paths["users"],
            token_secret_file=paths["token-secret"],
            token_previous_secret_file=paths["token-previous-secret"],
            **settings,
        )

    def app(self):
        return create_app(self.config)

    def update(self, **changes) -> None:
        self.files = self.files | {k.replace("_", "-"): v for k, v in changes.items()}
        secret_volume.update(self.root, self.files)


@pytest.fixture
def mounted(session_store, tmp_path):
    # interval 0: no poller thread; each test polls by hand, so nothing depends on timing
    return Mounted(tmp_path / "secret", session_store, credentials_reload_interval=0)


def _status(client, key: str, digit) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return client.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers).status_code


def _poll(app):
    return app.extensions[EXTENSION_KEY].poll_once()


def _token(client, password: str) -> str:
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    response = client.post("/auth/token", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def test_revoked_key_is_refused_after_the_next_poll(mounted, digit, caplog):
    app = mounted.app()
    client = app.test_client()
    revoked, kept = mounted.keys
    assert _status(client, revoked, digit) == 200
    assert _poll(app) is None  # nothing changed yet
    caplog.set_level(logging.INFO)
    mounted.update(api_keys=kept + "\n")
    assert _poll(app) is True
    assert _status(client, revoked, digit) == 401
    assert _status(client, kept, digit) == 200
    assert "credentials reloaded: SERVING_API_KEYS_FILE changed" in caplog.text
    assert revoked not in caplog.text
    assert kept not in caplog.text


def test_a_new_key_works_after_the_swap_even_with_the_same_size_and_mtime(mounted, digit):
    """Only the content tells the versions apart: same length, same mtime, symlinks unchanged."""
    app = mounted.app()
    client = app.test_client()
    old, other = mounted.keys
    new = "key-" + secrets.token_urlsafe(24)
    assert len(new) == len(old)
    lstat_before = mounted.root.joinpath("api-keys").lstat()
    mounted.files["api-keys"] = f"{new}\n{other}\n"
    secret_volume.update(mounted.root, mounted.files, keep_stat_of="api-keys")
    lstat_after = mounted.root.joinpath("api-keys").lstat()
    assert (lstat_before.st_ino, lstat_before.st_mtime_ns) == (
        lstat_after.st_ino,
        lstat_after.st_mtime_ns,
    )
    assert _poll(app) is True
    assert _status(client, new, digit) == 200
    assert _status(client, old, digit) == 401


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"api_keys": "bad-k3y\n"}, "SERVING_API_KEYS_FILE"),
        ({"users": "alice-without-a-hash\n"}, "SERVING_USERS_FILE"),
        ({"token_secret": "too-short"}, "SERVING_TOKEN_SECRET_FILE"),
    ],
)
def test_malformed_file_is_refused_once_and_old_credentials_stay(
    mounted, digit, caplog, change, setting
):
    app = mounted.app()
    client = app.test_client()
    token = _token(client, mounted.password)
    caplog.set_level(logging.INFO)
    mounted.update(**change)
    assert _poll(app) is False
    assert _poll(app) is None  # the same bad version is not re-read and re-logged
    refusals = [r for r in caplog.records if "credentials reload refused" in r.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.ERROR
    assert setting in refusals[0].getMessage()
    for secret in [*mounted.keys, mounted.password, mounted.secret, *change.values()]:
        assert secret.strip() not in caplog.text
    for key in mounted.keys:  # the previous credentials are all still in force
        assert _status(client, key, digit) == 200
    assert _status(client, token, digit) == 200
    assert _token(client, mounted.password)
    fixed = _key()
    mounted.update(
        api_keys=fixed + "\n",
        users=f"alice:{generate_password_hash(mounted.password)}\n",
        token_secret=mounted.secret,
    )
    assert _poll(app) is True  # fixed: the new version goes in
    assert _status(client, fixed, digit) == 200
    assert _status(client, mounted.keys[0], digit) == 401


def test_token_secret_rotation_keeps_two_kids_valid_then_retires_one(mounted, digit):
    app = mounted.app()
    client = app.test_client()
    old_token = _token(client, mounted.password)
    assert jwt.get_unverified_header(old_token)["kid"] == key_id(mounted.secret.encode())
    new_secret = secrets.token_urlsafe(40)
    # one swap updates both files: new current, old kept for verification only
    mounted.update(token_secret=new_secret, token_previous_secret=mounted.secret)
    assert _poll(app) is True
    new_token = _token(client, mounted.password)
    assert jwt.get_unverified_header(new_token)["kid"] == key_id(new_secret.encode())
    assert _status(client, old_token, digit) == 200  # two kids valid at once
    assert _status(client, new_token, digit) == 200
    mounted.update(token_previous_secret="")  # after the TTL: empty the previous file
    assert _poll(app) is True
    assert _status(client, new_token, digit) == 200
    refused = client.post(
        "/predict", json={"pixels": [0.0] * 784}, headers={"Authorization": f"Bearer {old_token}"}
    )
    assert refused.status_code == 401
    assert "key this server does not hold" in refused.get_json(force=True)["detail"]


def test_removed_user_can_no_longer_get_tokens(mounted):
    app = mounted.app()
    client = app.test_client()
    assert _token(client, mounted.password)
    mounted.update(users="# nobody\n")
    assert _poll(app) is True
    basic = base64.b64encode(f"alice:{mounted.password}".encode()).decode()
    response = client.post("/auth/token", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401


@pytest.mark.slow
def test_rotation_on_gunicorn_workers(signed_store, tmp_path):
    """Two workers, each with its own poller: revoke converges; a bad file keeps the old set."""
    mounted = Mounted(tmp_path / "secret", signed_store)
    env = {
        "SERVING_MODEL_STORE": str(signed_store.path),
        "SERVING_VERIFY_KEY_FILE": str(signed_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_RELOAD_INTERVAL": "0",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_CREDENTIALS_RELOAD_INTERVAL": "0.5",
        "SERVING_WORKER_CLASS": "sync",  # one connection per worker: requests reach both
        "WEB_CONCURRENCY": "2",
        "SERVING_API_KEYS_FILE": str(mounted.config["api_keys_file"]),
        "SERVING_USERS_FILE": str(mounted.config["users_file"]),
        "SERVING_TOKEN_SECRET_FILE": str(mounted.config["token_secret_file"]),
    }
    log = tmp_path / "server.log"
    revoked, kept = mounted.keys

    def status(key: str) -> int:
        headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
        return requests.get(base + "/v2/models/mnist", headers=headers, timeout=30).status_code

    with running_server(env, log) as base:
        assert status(revoked) == 200
        # a poller starts with its worker's first request: send until both have started
        started = "credentials poller started"
        with ThreadPoolExecutor(8) as pool:
            assert wait_until(
                lambda: (
                    list(pool.map(status, [kept] * 8))
                    and len(pids_that_logged(log.read_text(), started)) == 2
                ),
                60,
            )
        mounted.update(api_keys=kept + "\n")
        reloaded = "credentials reloaded: SERVING_API_KEYS_FILE changed"
        assert wait_until(lambda: len(pids_that_logged(log.read_text(), reloaded)) == 2, 30)
        assert [status(revoked) for _ in range(10)] == [401] * 10
        mounted.update(api_keys="bad-k3y\n")
        refused = "credentials reload refused"
        assert wait_until(lambda: len(pids_that_logged(log.read_text(), refused)) == 2, 30)
        assert [status(kept) for _ in range(10)] == [200] * 10
    text = log.read_text()
    assert text.count(refused) == 2  # once per worker, not once per poll
    for secret in [*mounted.keys, mounted.password, mounted.secret]:
        assert secret not in text
