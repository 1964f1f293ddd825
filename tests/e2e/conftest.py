"""End-to-end fixtures: a signed store, credentials and the env of a real model-server.

The signed store is the serving tests' session store (trained once per run); tests that
damage a store (rename, tamper) get their own copy. Auth is always on: every model request
carries an API key, and the admin key drives /admin/reload.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.serving.auth_files import Credentials, write_credentials
from tests.serving.conftest import SignedStore, mnist_sample, session_store

__all__ = ["mnist_sample", "session_store"]  # fixtures reused from the serving tests


def size(name: str, reduced: int) -> int:
    """A test size: ``reduced`` in `make test`, overridden by ``E2E_<NAME>`` (make soak)."""
    return int(os.environ.get(f"E2E_{name.upper()}", reduced))


@pytest.fixture(scope="session")
def credentials(tmp_path_factory) -> Credentials:
    return write_credentials(tmp_path_factory.mktemp("e2e-credentials"))


@pytest.fixture
def store_copy(tmp_path, session_store: SignedStore) -> Path:
    """A private copy of the signed store that a test may break."""
    target = tmp_path / "store"
    shutil.copytree(session_store.path, target)
    return target


def server_env(
    store: Path, key_file: Path, credentials: Credentials, **overrides: str
) -> dict[str, str]:
    """Environment of a production-like server: auth on, 2 workers, quiet access log."""
    env = {
        **credentials.env(),
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_RATE_LIMIT_ENABLED": "true",
        # A load test is one client; the per-client limit would measure the limiter.
        "SERVING_RATE_LIMIT": "1000000/minute",
        "SERVING_ACCESS_LOG": "false",
        "SERVING_RELOAD_INTERVAL": "0",
        "WEB_CONCURRENCY": "2",
    }
    env.update(overrides)
    return env
