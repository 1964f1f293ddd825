"""Fixtures for the chart tests: the real `helm` binary and a renderer returning parsed objects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "model-server"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE, NAMESPACE = "mnist", "ml"


def _tool(name: str) -> str | None:
    """Prefer the copy `make install` put into the venv, then PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


@pytest.fixture(scope="session")
def helm() -> str:
    path = _tool("helm")
    if path is None:
        pytest.fail("helm not found: run `make install` (scripts/install-tools.sh extracts it)")
    return path


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run helm; never raises, callers assert on returncode/stderr."""
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., list[dict]]:
    """`helm template` with values files, --set and --set-file pairs → non-empty objects."""

    def _render(
        *values_files: Path,
        sets: dict[str, object] | None = None,
        set_files: dict[str, Path] | None = None,
    ) -> list[dict]:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for key, path in (set_files or {}).items():
            args += ["--set-file", f"{key}={path}"]
        for path in values_files:
            args += ["--values", str(path)]
        for key, value in (sets or {}).items():
            args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
        proc = run_helm(helm, *args)
        assert proc.returncode == 0, proc.stderr
        return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]

    return _render


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict], kind: str, name: str | None = None) -> dict:
    found = [o for o in by_kind(objects, kind) if name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


class SignedStore:
    """A model store with one signed artifact (mnist/1), its keys and a sample '7' PNG."""

    def __init__(self, root: Path) -> None:
        self.store = root / "store"
        self.keys = root / "keys"
        self.png = root / "digit-7.png"
        self.public_key = self.keys / "verify-key.pem"


@pytest.fixture(scope="session")
def signed_store(tmp_path_factory) -> SignedStore:
    """Built once per run with scripts/make_test_artifact.py (real sklearn model, openssf)."""
    signed = SignedStore(tmp_path_factory.mktemp("signed-store"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_test_artifact.py"),
         str(signed.store), str(signed.keys), str(signed.png)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return signed
