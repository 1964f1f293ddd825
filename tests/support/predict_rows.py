"""Rows and a pipeline for batch-scoring tests and bench/predict_bench.py: a small tabular schema.

A user's Parquet as ``table`` makes it (an id, gaps, typed values) and the scikit-learn pipeline
``pipeline`` fits on it after ``tabular.conform``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import artifacts

COLUMNS = (
    artifacts.Column("bill", "double", nullable=True, range=(30.0, 60.0)),
    artifacts.Column("visits", "long", nullable=False, range=(0.0, 9.0)),
    artifacts.Column("island", "string", nullable=True, categories=("Biscoe", "Dream", "Ærø")),
    artifacts.Column("member", "boolean", nullable=True, categories=("false", "true")),
)
SCHEMA = artifacts.InputSchema.tabular(COLUMNS)


def table(n: int, seed: int = 0) -> pd.DataFrame:
    """Raw rows as a user's Parquet holds them: an id, gaps, typed values."""
    rng = np.random.default_rng(seed)
    islands = ["Biscoe", "Dream", "Ærø"]
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "bill": [None if i % 7 == 0 else float(rng.uniform(30, 60)) for i in range(n)],
            "visits": rng.integers(0, 10, n).astype(np.int64),
            "island": [None if i % 11 == 0 else islands[i % 3] for i in range(n)],
            "member": rng.integers(0, 2, n).astype(bool),
        }
    )


def pipeline(final):
    """The pipeline over COLUMNS that the predict tests and bench fit, `final` its last step."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in COLUMNS if c.categorical]
    encode = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["bill", "visits"]),
            (
                "cat",
                OneHotEncoder(
                    categories=[list(c.categories) for c in categorical], handle_unknown="ignore"
                ),
                [c.name for c in categorical],
            ),
        ]
    )
    return Pipeline([("columns", encode), ("model", final)])
