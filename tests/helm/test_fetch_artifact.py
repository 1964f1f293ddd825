"""The chart's init container script (files/fetch_artifact.py), run locally against 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

import artifacts

from .conftest import CHART

SCRIPT = CHART / "files" / "fetch_artifact.py"


@pytest.fixture
def served(tmp_path):
    """Serve tmp_path/www on an ephemeral loopback port; yields (www dir, base URL)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _tarball(store: Path, target: Path, tamper: bool = False) -> str:
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(store.rglob("*")):
            name = str(path.relative_to(store))
            if tamper and path.name == "model.joblib.gz":
                data = bytearray(path.read_bytes())
                data[len(data) // 2] ^= 0xFF
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(bytes(data)))
            else:
                tar.add(path, arcname=name, recursive=False)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def _fetch(url: str, dest: Path, key: Path, sha256: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FETCH_URL": url,
        "FETCH_SHA256": sha256,
        "FETCH_DEST": str(dest),
        "SERVING_VERIFY_KEY_FILE": str(key),
        "SERVING_SIGNATURE_SCHEME": "openssf",
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )


def test_downloads_verifies_and_installs(served, signed_store, tmp_path):
    www, base = served
    digest = _tarball(signed_store.store, www / "store.tar.gz")
    dest = tmp_path / "models"
    proc = _fetch(f"{base}/store.tar.gz", dest, signed_store.public_key, digest)
    assert proc.returncode == 0, proc.stderr
    assert "verified and installed mnist/1" in proc.stderr
    assert (dest / "mnist" / "1" / "model.joblib.gz").is_file()
    assert [p.name for p in dest.iterdir()] == ["mnist"]  # scratch dir removed


@pytest.mark.parametrize("case", ["tampered", "sha256", "traversal", "empty", "wrong-key"])
def test_refuses_bad_downloads(served, signed_store, tmp_path, case):
    www, base = served
    tarball = www / "store.tar.gz"
    digest = _tarball(signed_store.store, tarball, tamper=case == "tampered")
    key = signed_store.public_key
    if case == "sha256":
        digest = "0" * 64
    elif case == "traversal":
        with tarfile.open(tarball, "w:gz") as tar:
            info = tarfile.TarInfo("../escape.txt")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()  # http:// needs the pin
    elif case == "empty":
        with tarfile.open(tarball, "w:gz"):
            pass
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    elif case == "wrong-key":
        key = artifacts.generate_keys("openssf", tmp_path / "other")["public"]
    dest = tmp_path / "models"
    proc = _fetch(f"{base}/store.tar.gz", dest, key, digest)
    assert proc.returncode == 1, proc.stderr
    assert "error:" in proc.stderr
    assert not (dest / "mnist").exists()
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(
    ("url", "sha256", "message"),
    [
        ("http://127.0.0.1:9/store.tar.gz", "", "needs FETCH_SHA256"),
        ("ftp://127.0.0.1/store.tar.gz", "a" * 64, "must be https://"),
        ("file:///etc/passwd", "", "must be https://"),
        ("https://127.0.0.1:9/store.tar.gz", "xyz", "64 hex digits"),
    ],
)
def test_refuses_unpinned_or_unsafe_sources_before_downloading(
    signed_store, tmp_path, url, sha256, message
):
    dest = tmp_path / "models"
    proc = _fetch(url, dest, signed_store.public_key, sha256)
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert not (dest / "mnist").exists()


def test_plain_http_with_a_pin_is_accepted(served, signed_store, tmp_path):
    """The pin makes the transport irrelevant; it is what the test above requires."""
    www, base = served
    digest = _tarball(signed_store.store, www / "store.tar.gz")
    proc = _fetch(f"{base}/store.tar.gz", tmp_path / "models", signed_store.public_key, digest)
    assert proc.returncode == 0, proc.stderr
