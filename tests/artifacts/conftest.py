"""Fixtures: keys for both schemes, a small fitted estimator, and a signed artifact per scheme."""

from __future__ import annotations

import gzip
import io
import pathlib
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import artifacts

TABULAR = {"type": "vector", "features": 4, "dtype": "float64"}


@dataclass
class KeySet:
    scheme: str
    signing: Path
    verifying: Path

    def signer(self):
        return artifacts.load_signer(self.signing)

    def verifier(self):
        return artifacts.load_verifier(self.verifying)


def make_keys(scheme: str, directory: Path) -> KeySet:
    paths = artifacts.generate_keys(scheme, directory)
    if scheme == "openssf":
        return KeySet(scheme, paths["private"], paths["public"])
    return KeySet(scheme, paths["secret"], paths["secret"])


@pytest.fixture(scope="session")
def estimator():
    rng = np.random.default_rng(0)
    x = rng.random((80, 4))
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    return LogisticRegression().fit(x, y)


@pytest.fixture(params=["hmac-sha256", "openssf"])
def keys(request, tmp_path) -> KeySet:
    return make_keys(request.param, tmp_path / "keys")


@pytest.fixture
def other_keys(keys, tmp_path) -> KeySet:
    """A second, unrelated key of the same scheme."""
    return make_keys(keys.scheme, tmp_path / "other-keys")


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def signed(estimator, keys, store) -> Path:
    return artifacts.save(
        estimator, store, "demo", version="1", signer=keys.signer(), input_schema=TABULAR
    )


class _Marker:
    """Unpickling this creates a file: proof of code execution if it ever appears."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def malicious_model_bytes(marker: Path) -> bytes:
    """A gzip'd joblib stream whose loading runs code (touches `marker`)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        joblib.dump(_Marker(pathlib.Path(marker)), gz)
    return buf.getvalue()


@pytest.fixture(scope="module")
def to_mnist_checked(request):
    """Route the requesting module's ``to_mnist`` through the frozen reference check, so
    every picture its tests build must also give the reference's bits (tests/artifacts/oracle.py).
    """
    from tests.artifacts import oracle

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(request.module, "to_mnist", oracle.same_as_reference)
        yield
