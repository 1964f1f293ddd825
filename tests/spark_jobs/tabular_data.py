"""Tabular test data: scikit-learn's bundled sets written to files, and a generated mixed frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def diabetes(n: int | None = None) -> pd.DataFrame:
    """442 rows, 10 numeric features, a continuous target ``progression``."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "progression"})
    return frame.head(n) if n else frame


def wine() -> pd.DataFrame:
    """178 rows, 13 numeric features, integer classes 0-2 in ``cultivar``."""
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})


def breast_cancer() -> pd.DataFrame:
    """569 rows, 30 numeric features (names with spaces), string label ``diagnosis``."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = np.where(bunch.target == 0, "malignant", "benign")
    return frame


def mixed(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Strings (unicode, empty), booleans, integers, NaN gaps; ``y`` string, ``k`` int labels.

    ``y`` depends on ``colour`` and ``size`` so a model can learn it; ``score`` is a
    continuous target of the same inputs.
    """
    rng = np.random.default_rng(seed)
    colour = rng.choice(["rot", "grün", "blå", "żółty", ""], size=n)
    size = rng.normal(10, 3, size=n)
    size[rng.random(n) < 0.1] = np.nan
    count = rng.integers(0, 20, size=n)
    flag = rng.random(n) < 0.5
    city = rng.choice(["東京", "Zürich", None], size=n)
    good = (np.isin(colour, ["rot", "grün"])) ^ (np.nan_to_num(size, nan=10) > 11)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "colour": colour,
            "size": size,
            "count": count,
            "flag": flag,
            "city": city,
            "y": np.where(good, "yes", "no"),
            "k": good.astype(int) + 2 * flag.astype(int),
            "score": np.nan_to_num(size, nan=10) * 2 + np.isin(colour, ["rot"]) * 5 + count * 0.1,
        }
    )
    return frame


def to_csv(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def to_parquet(spark, frame: pd.DataFrame, path: Path) -> str:
    spark.createDataFrame(frame).coalesce(1).write.parquet(str(path))
    return str(path)
