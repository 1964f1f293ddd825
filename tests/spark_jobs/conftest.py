"""Fixtures for the spark_jobs tests: a signing key, tiny labelled data in every format."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

import artifacts
from spark_jobs.settings import JobSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hmac_key(tmp_path_factory) -> Path:
    return artifacts.generate_keys("hmac-sha256", tmp_path_factory.mktemp("keys"))["secret"]


def digits(n: int = 30, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fake 28x28 'digits' (uint8) with labels cycling through ``classes``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):  # a class-specific bright bar makes them learnable
        images[i, 4 + 6 * label : 8 + 6 * label, 6:22] = 255
    return images, labels


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def settings(**overrides) -> JobSettings:
    """Job settings for tests: a dummy key path unless given, fixed version."""
    base = {"signing_key": "unused", "version": "v1"}
    return JobSettings(**{**base, **overrides})
