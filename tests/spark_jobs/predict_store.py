"""A signed store of two tabular models and a Parquet table for the batch-scoring tests.

The fixtures are module-scoped: a test module takes them with
``store, parquet = predict_store.store, predict_store.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import artifacts
from artifacts.runtime import Model, tabular
from tests.support.predict_rows import SCHEMA, pipeline, table


@pytest.fixture(scope="module")
def store(tmp_path_factory, hmac_key) -> Path:
    """species (classifier, string labels) and score (regressor), HMAC-signed."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    root = tmp_path_factory.mktemp("predict-store")
    signer = artifacts.load_signer(hmac_key)
    raw = table(300, seed=1)
    frame = tabular.conform(raw.drop(columns="id"), SCHEMA)
    bill = frame["bill"].fillna(45.0).to_numpy()
    species = np.where(bill > 45, "Gentoo", np.where(frame["island"] == "Dream", "Chin", "Adélie"))
    target = 2.0 * bill + 3.0 * frame["visits"].to_numpy()
    classifier = pipeline(LogisticRegression(max_iter=500)).fit(frame, species)
    artifacts.save(
        classifier, root, "species", version="1", signer=signer, input_schema=SCHEMA,
        output_schema=artifacts.OutputSchema(
            "classification", label="species", classes=tuple(classifier.classes_.tolist())
        ),
    )  # fmt: skip
    regressor = pipeline(LinearRegression()).fit(frame, target)
    artifacts.save(
        regressor, root, "score", version="1", signer=signer, input_schema=SCHEMA,
        output_schema=artifacts.OutputSchema("regression", label="score"),
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def parquet(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("predict-data") / "rows.parquet"
    table(250).to_parquet(path)
    return path


def served(store: Path, name: str, key: Path) -> Model:
    loaded = artifacts.load(store / name / "1", verifier=artifacts.load_verifier(key))
    return Model.from_artifact(name, "1", loaded.estimator, loaded.manifest)
