"""What a worker and the start-up check import: only the stack the configuration uses.

Each case runs in a fresh interpreter (the test process has imported everything already) and
reports ``sys.modules`` as JSON; memory per worker and cold start depend on these staying out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.serving.auth_files import write_credentials

REPO = Path(__file__).resolve().parents[2]
WATCHED = ("cryptography", "jwt", "flask_limiter", "sklearn", "pandas", "scipy")

_BUILD_APP = """
import json, sys
from serving import create_app
app = create_app()
assert app.extensions  # built: models loaded, routes registered
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""

_CLI_CHECK = """
import json, sys
from serving import cli
from serving.settings import Settings
from serving.auth import users
problem = cli._check(Settings.from_env())
assert problem is None, problem
assert users._dummy_hash.cache_info().currsize == 0, "a password hash made without a users file"
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def imported(code: str, env: dict[str, str]) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def server_env(store, creds, **settings: str) -> dict[str, str]:
    """API-key auth and metrics on, an HMAC-signed store; ``settings`` add SERVING_* values."""
    return {
        "SERVING_MODEL_STORE": str(store.path),
        "SERVING_VERIFY_KEY_FILE": str(store.key_file),
        "SERVING_AUTH_ENABLED": "true",
        "SERVING_API_KEYS_FILE": str(creds.dir / "api-keys"),
        "SERVING_METRICS_ENABLED": "true",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
        **{f"SERVING_{k.upper()}": v for k, v in settings.items()},
    }


def test_hmac_api_key_app_imports_no_signing_token_or_limiter_stack(session_store, tmp_path):
    creds = write_credentials(tmp_path / "creds")
    modules = imported(_BUILD_APP, server_env(session_store, creds))
    assert {"cryptography", "jwt", "flask_limiter"}.isdisjoint(modules), modules & set(WATCHED)
    assert {"sklearn", "prometheus_client"} <= modules  # the models and metrics are really there


def test_the_limiter_loads_when_rate_limits_are_on(session_store, tmp_path):
    """(PyJWT loads on a token's first use; tests/serving/test_auth_tokens.py covers that path.)"""
    creds = write_credentials(tmp_path / "creds")
    env = server_env(session_store, creds, rate_limit_enabled="true")
    assert "flask_limiter" in imported(_BUILD_APP, env)


def test_start_up_check_does_not_import_the_model_stack(session_store, tmp_path):
    """model-server's check runs before Gunicorn starts in its process: what it imports is
    start-up cost (and with no users file, it computes no slow password hash either).
    prometheus_client must wait for gunicorn.conf.py: it reads PROMETHEUS_MULTIPROC_DIR once,
    at import."""
    creds = write_credentials(tmp_path / "creds")
    modules = imported(_CLI_CHECK, server_env(session_store, creds))
    watched = {*WATCHED, "prometheus_client"}
    assert watched.isdisjoint(modules), modules & watched
