"""model-server CLI: configuration problems are one line and exit 2, before Gunicorn starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from serving import cli


def run_cli(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    return subprocess.run(
        [sys.executable, "-m", "serving.cli"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no verification key"),
        ({"SERVING_VERIFY_KEY_FILE": "/nonexistent/key"}, "is not a readable file"),
        ({"SERVING_MAX_BATCH": "lots"}, "SERVING_MAX_BATCH"),
    ],
)
def test_misconfiguration_exits_2(monkeypatch, capsys, env, message):
    result = run_in_process(monkeypatch, capsys, env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_store_exits_2(signed_store, tmp_path):
    result = run_cli(
        {
            "SERVING_VERIFY_KEY_FILE": str(signed_store.key_file),
            "SERVING_MODEL_STORE": str(tmp_path / "absent"),
        }
    )
    assert result.returncode == 2
    assert "does not exist; train a model first" in result.stderr


def run_in_process(monkeypatch, capsys, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``model-server``'s checks in this process: they exit before Gunicorn starts."""
    for name in [k for k in os.environ if k.startswith("SERVING_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    return subprocess.CompletedProcess([], exited.value.code, "", capsys.readouterr().err)


def _with_store(signed_store, **env: str) -> dict[str, str]:
    return {
        "SERVING_VERIFY_KEY_FILE": str(signed_store.key_file),
        "SERVING_MODEL_STORE": str(signed_store.path),
        **env,
    }


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("short\n", "SERVING_API_KEYS_FILE"),
        ("has whitespace in the middle of it\n", "shorter than 16 characters or contains"),
    ],
)
def test_bad_api_keys_file_exits_2_before_gunicorn(
    signed_store, tmp_path, monkeypatch, capsys, contents, message
):
    keys = tmp_path / "keys"
    keys.write_text(contents)

    result = run_in_process(
        monkeypatch, capsys, _with_store(signed_store, SERVING_API_KEYS_FILE=str(keys))
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "Worker failed to boot" not in result.stderr
    assert "short" not in result.stderr.replace("shorter", "")  # the key itself is never echoed


def test_unreadable_users_file_exits_2(signed_store, tmp_path, monkeypatch, capsys):
    result = run_in_process(
        monkeypatch, capsys, _with_store(signed_store, SERVING_USERS_FILE=str(tmp_path / "absent"))
    )

    assert result.returncode == 2
    assert "SERVING_USERS_FILE: cannot read" in result.stderr


def test_garbage_verify_key_exits_2(signed_store, tmp_path, monkeypatch, capsys):
    key = tmp_path / "key"
    key.write_bytes(b"not a key at all")

    result = run_in_process(
        monkeypatch, capsys, _with_store(signed_store, SERVING_VERIFY_KEY_FILE=str(key))
    )

    assert result.returncode == 2
    assert "SERVING_VERIFY_KEY_FILE:" in result.stderr
    assert "Traceback" not in result.stderr


def test_half_a_tls_pair_exits_2(signed_store, tmp_path, monkeypatch, capsys):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")

    result = run_in_process(
        monkeypatch, capsys, _with_store(signed_store, SERVING_TLS_CERT_FILE=str(cert))
    )

    assert result.returncode == 2
    assert "SERVING_TLS_CERT_FILE and SERVING_TLS_KEY_FILE must be set together" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SERVING_RATE_LIMIT_STORAGE": "redis://:pa55-w0rd@redis:6379/0"},
            "put it in a file and set SERVING_RATE_LIMIT_STORAGE_FILE",
        ),
        ({"SERVING_RATE_LIMIT_STORAGE_FILE": "/nonexistent/uri"}, "cannot read /nonexistent/uri"),
    ],
)
def test_unusable_rate_limit_storage_exits_2(signed_store, monkeypatch, capsys, env, message):
    result = run_in_process(monkeypatch, capsys, _with_store(signed_store, **env))

    assert result.returncode == 2
    assert message in result.stderr
    assert "pa55-w0rd" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_check_leaves_this_process_fit_to_be_the_master(signed_store):
    """Gunicorn runs in the CLI's process: after the check, numpy's BLAS runs one thread
    (what prometheus_client must not have read yet: test_lazy_imports)."""
    probe = (
        "import threadpoolctl\n"
        "from serving import cli\n"
        "assert cli._check(cli.Settings.from_env()) is None\n"
        "import numpy\n"
        "pools = [p['num_threads'] for p in threadpoolctl.threadpool_info()]\n"
        "assert pools and set(pools) == {1}, pools\n"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SERVING_") and not k.endswith("_NUM_THREADS")
    }
    env = {**clean, **_with_store(signed_store, SERVING_AUTH_ENABLED="false")}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
