"""model-server CLI: configuration problems are one line and exit 2, before Gunicorn starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


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
def test_misconfiguration_exits_2(env, message):
    result = run_cli(env)
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
