"""Start the real ``model-server`` console script (Gunicorn) on a free port, HTTP or HTTPS."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

MODEL_SERVER = Path(sys.executable).with_name("model-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def model_server(
    env: dict[str, str], log_path: Path, *, ca_file: Path | None = None, timeout: float = 90
) -> Iterator[str]:
    """Run ``model-server`` with ``env`` on 127.0.0.1; yield its base URL; always stop it.

    With ``ca_file`` the server is expected to speak HTTPS and is probed with that trust root.
    """
    assert MODEL_SERVER.exists(), f"{MODEL_SERVER} missing: run `make install`"
    port = free_port()
    full_env = {**os.environ, **env, "SERVING_BIND": f"127.0.0.1:{port}"}
    base = f"{'https' if ca_file else 'http'}://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(MODEL_SERVER)], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(base, process, ca_file, timeout, log_path)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base, process, ca_file, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(base + "/readyz", timeout=2, verify=ca_file or True).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log_path.read_text()}")
