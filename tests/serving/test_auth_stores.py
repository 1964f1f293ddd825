"""The credential stores on their own: hashed API keys, password users, config errors, the CLI."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import pickle
import stat

import pytest

from serving import create_app
from serving.auth import keys as keys_module
from serving.auth.cli import main as auth_cli
from serving.auth.errors import AuthConfigError
from serving.auth.keys import ApiKeys
from serving.auth.principal import ROLE_PREDICT
from serving.auth.users import Users, add_user

from .auth_files import write_credentials

KEY_A = "key-a-" + "x" * 30
KEY_B = "key-b-" + "y" * 30
ROLES = frozenset({ROLE_PREDICT})


def test_api_keys_keep_only_sha256_digests():
    store = ApiKeys([KEY_A, KEY_B], ROLES)
    dumped = pickle.dumps(store)
    for key in (KEY_A, KEY_B):
        assert key.encode() not in dumped
        assert hashlib.sha256(key.encode()).digest() in dumped
    assert store.match(KEY_A) is not None


def test_api_keys_compare_every_digest_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    store = ApiKeys([KEY_A, KEY_B], ROLES)
    for candidate, expected in ((KEY_A, True), (KEY_B, True), ("nope-" + "z" * 30, False)):
        calls.clear()
        assert (store.match(candidate) is not None) is expected
        assert len(calls) == 2  # no early exit on a match or on a miss
        assert all(len(a) == len(b) == 32 for a, b in calls)  # digests, never raw keys


def test_api_key_principal_is_named_without_the_key():
    principal = ApiKeys([KEY_A], ROLES).match(KEY_A)
    assert KEY_A not in principal.name
    assert principal.name == "api-key:" + hashlib.sha256(KEY_A.encode()).hexdigest()[:8]


@pytest.mark.parametrize("bad", ["short", "has space in the middle of it"])
def test_weak_or_malformed_keys_are_config_errors(bad):
    with pytest.raises(AuthConfigError, match="entry 2"):
        ApiKeys([KEY_A, bad], ROLES, source="SERVING_API_KEYS_FILE")


def test_users_check_passwords(tmp_path):
    path = tmp_path / "users"
    add_user(path, "alice", "a long password 1")
    add_user(path, "bob", "a long password 2")
    add_user(path, "alice", "a new password 3")  # replaces
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = Users.from_file(path, "SERVING_USERS_FILE")
    assert len(users) == 2
    assert users.check("alice", "a new password 3").name == "user:alice"
    assert users.check("alice", "a long password 1") is None
    assert users.check("carol", "a long password 2") is None
    assert "a new password 3" not in path.read_text()


@pytest.mark.parametrize("line", ["alice", "alice:plaintext", "bad name:scrypt$x$y"])
def test_malformed_users_file(tmp_path, line):
    path = tmp_path / "users"
    path.write_text(line + "\n")
    with pytest.raises(AuthConfigError, match="entry 1 is not `name:password-hash`"):
        Users.from_file(path, "SERVING_USERS_FILE")


@pytest.mark.parametrize(
    ("setting", "content", "message"),
    [
        ("api_keys_file", None, "SERVING_API_KEYS_FILE: cannot read"),
        ("api_keys_file", "short\n", "shorter than 16"),
        ("token_secret_file", "too-short-secret\n", "shorter than 32 bytes"),
        ("users_file", "nocolon\n", "SERVING_USERS_FILE"),
    ],
)
def test_bad_credential_files_stop_the_app(signed_store, tmp_path, setting, content, message):
    path = tmp_path / "credential"
    if content is not None:
        path.write_text(content)
    with pytest.raises(AuthConfigError, match=message):
        create_app(signed_store.config(auth_enabled=True, **{setting: path}))


def test_auth_disabled_only_explicitly_and_loudly(signed_store, digit, caplog):
    caplog.set_level(logging.WARNING)
    client = create_app(
        signed_store.config(default_model="mnist", auth_enabled=False)
    ).test_client()
    assert "AUTHENTICATION IS DISABLED" in caplog.text
    response = client.post("/predict", json={"pixels": digit[0].tolist()})
    assert response.status_code == 200


def test_auth_on_without_credentials_refuses_everyone(signed_store, digit, caplog):
    caplog.set_level(logging.WARNING)
    client = create_app(signed_store.config(auth_enabled=True)).test_client()
    assert "no API keys or token secret are configured" in caplog.text
    response = client.post("/predict", json={"pixels": digit[0].tolist()})
    assert response.status_code == 401


def test_auth_is_on_by_default(signed_store, tmp_path):
    from serving.settings import Settings

    assert Settings().auth_enabled is True
    creds = write_credentials(tmp_path / "creds")
    config = signed_store.config(api_keys_file=creds.dir / "api-keys")
    del config["auth_enabled"]
    client = create_app(config).test_client()
    assert client.post("/predict").status_code == 401


def test_cli_creates_working_credentials(tmp_path, monkeypatch, capsys, signed_store, digit):
    users, keys, secret = tmp_path / "users", tmp_path / "keys", tmp_path / "secret"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert auth_cli(["add-user", str(users), "carol", "--password-stdin"]) == 0
    assert auth_cli(["new-api-key", str(keys), "--prefix", "ci-"]) == 0
    assert auth_cli(["new-secret", str(secret)]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("ci-")
    assert len(key) > 40
    for path in (users, keys, secret):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = signed_store.config(
        default_model="mnist",
        auth_enabled=True,
        api_keys_file=keys,
        users_file=users,
        token_secret_file=secret,
    )
    client = create_app(config).test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert (
        client.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add-user", "{dir}/u", "carol", "--password-stdin"], "short\n", "too short"),
        (
            ["add-user", "{dir}/u", "no:colons", "--password-stdin"],
            "long password 12\n",
            "invalid user",
        ),
        (["new-secret", "{dir}/existing"], "", "exists; pass --force"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, stdin, message):
    (tmp_path / "existing").write_text("x")
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert auth_cli([arg.format(dir=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1
