"""New and damaged model versions in a signed test store, for the hot-reload tests."""

from __future__ import annotations

import artifacts

from .conftest import MNIST_SCHEMA


def save_version(store, version: str, key_file=None, into=None):
    """mnist/1's estimator saved as a new signed version (in ``into``, default the store)."""
    key_file = key_file or store.key_file
    estimator = artifacts.load(
        store.path / "mnist" / "1", verifier=artifacts.load_verifier(store.key_file)
    ).estimator
    signer = artifacts.load_signer(key_file)
    return artifacts.save(
        estimator,
        into or store.path,
        "mnist",
        version=version,
        signer=signer,
        input_schema=MNIST_SCHEMA,
    )


def tamper(path) -> None:
    model = path / "model.joblib.gz"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
