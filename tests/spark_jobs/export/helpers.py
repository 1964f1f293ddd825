"""Test helpers: Spark frames from arrays, and independent checks (not check_parity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def spark_outputs(model: Any, df: Any) -> dict[str, np.ndarray]:
    """Features, predicted indices and, when present, probabilities / raw margins."""
    out = model.transform(df)
    rows = out.collect()
    result = {
        "x": np.vstack([r["features"].toArray() for r in rows]),
        "pred": np.array([int(r["prediction"]) for r in rows]),
    }
    for name in ("probability", "rawPrediction"):
        if name in out.columns:
            result[name] = np.vstack([r[name].toArray() for r in rows])
    return result


def assert_matches_spark(model: Any, estimator: Any, df: Any, classes: np.ndarray) -> None:
    """Labels equal on every row; probabilities within 1e-6 (margins for LinearSVC)."""
    spark = spark_outputs(model, df)
    np.testing.assert_array_equal(estimator.predict(spark["x"]), classes[spark["pred"]])
    if "probability" in spark:
        proba = estimator.predict_proba(spark["x"])
        np.testing.assert_allclose(proba, spark["probability"], rtol=0, atol=1e-6)
    else:  # LinearSVC: margin; one-vs-rest: one margin per class (GBT log-odds are 2×)
        decision = estimator.decision_function(spark["x"])
        raw = spark["rawPrediction"]
        expected = raw[:, 1] if decision.ndim == 1 else raw * _ovr_scale(estimator)
        np.testing.assert_allclose(decision, expected, rtol=1e-9, atol=1e-9)


def _ovr_scale(estimator: Any) -> float:
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    is_gbt = type(final.estimators_[0]).__name__ == "GradientBoostingClassifier"
    return 2.0 if is_gbt else 1.0


@dataclass(frozen=True)
class Split:
    """A data set as Spark DataFrames (``features`` vector, ``label`` double)."""

    train: Any
    test: Any
    n_classes: int


def to_frames(spark, x: np.ndarray, y: np.ndarray, n_test: int) -> Split:
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.dense(row.tolist()), float(label)) for row, label in zip(x, y, strict=True)]
    train = spark.createDataFrame(rows[n_test:], ["features", "label"]).cache()
    test = spark.createDataFrame(rows[:n_test], ["features", "label"]).cache()
    return Split(train, test, len(np.unique(y)))
