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


# Tabular data -----------------------------------------------------------------------------

MIXED_SCHEMA = (
    "colour string, size double, count long, flag boolean, tag string, "
    "y double, pos double, k long, s string"
)
COLOURS = ["rot", "grün", "blå", "żółty", "東京 tower"]


def mixed_rows(n: int, seed: int) -> list[tuple]:
    """Rows for MIXED_SCHEMA: unicode categories with gaps, doubles with nulls *and* NaN,
    longs with nulls, booleans, a string column with empty strings; targets ``y``
    (continuous), ``pos`` (positive), ``k`` (0/1) and ``s`` (strings)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        colour = str(rng.choice(COLOURS, p=[0.35, 0.25, 0.2, 0.15, 0.05]))
        size, count = float(rng.normal(10, 3)), int(rng.integers(0, 20))
        flag = bool(rng.random() < 0.5)
        effect = COLOURS.index(colour) * 0.8 + 0.3 * size + 0.1 * count + (1.5 if flag else 0)
        y = effect + float(rng.normal(0, 0.5))
        pos = float(np.exp(0.1 * effect + rng.normal(0, 0.1)))
        k = int(y > 6.5)
        if rng.random() < 0.08:
            colour = None
        if rng.random() < 0.08:
            size = None if i % 2 else float("nan")
        if rng.random() < 0.08:
            count = None
        tag = "" if i % 3 else "t"
        rows.append((colour, size, count, flag, tag, y, pos, k, ["no", "yes"][k]))
    return rows


def mixed_split(spark, n: int = 300, n_test: int = 60, seed: int = 7) -> Split:
    rows = mixed_rows(n, seed)
    train = spark.createDataFrame(rows[n_test:], MIXED_SCHEMA).cache()
    test = spark.createDataFrame(rows[:n_test], MIXED_SCHEMA).cache()
    return Split(train, test, 2)


def sklearn_split(spark, frame: Any, n_test: int, seed: int = 0) -> Split:
    """A scikit-learn bundled data set (as a pandas frame) → shuffled Spark train/test."""
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.columns = [c.replace(" ", "_").replace("/", "_") for c in frame.columns]
    records = [tuple(float(v) for v in row) for row in frame.itertuples(index=False)]
    schema = ", ".join(f"`{c}` double" for c in frame.columns)
    train = spark.createDataFrame(records[n_test:], schema).cache()
    test = spark.createDataFrame(records[:n_test], schema).cache()
    return Split(train, test, 0)


def tabular_pipeline(
    model: Any,
    *,
    numeric: tuple[str, ...] = ("size", "count"),
    categorical: tuple[str, ...] = ("colour",),
    drop_last: bool = True,
    strategy: str = "mean",
    invalid: str = "keep",
    scaler: bool = False,
    extra: tuple[str, ...] = (),
) -> Any:
    """What the training job builds: Imputer → StringIndexer → OneHotEncoder → assembler
    (→ StandardScaler) → model, reading ``features``."""
    from pyspark.ml import Pipeline
    from pyspark.ml import feature as sf

    imputed = [f"{c}_imp" for c in numeric]
    indexed = [f"{c}_idx" for c in categorical]
    encoded = [f"{c}_vec" for c in categorical]
    stages = []
    if numeric:
        stages.append(sf.Imputer(inputCols=list(numeric), outputCols=imputed, strategy=strategy))
    if categorical:
        stages += [
            sf.StringIndexer(
                inputCols=list(categorical), outputCols=indexed, handleInvalid=invalid
            ),
            sf.OneHotEncoder(inputCols=indexed, outputCols=encoded, dropLast=drop_last),
        ]
    assembled = "assembled" if scaler else "features"
    stages.append(sf.VectorAssembler(inputCols=[*imputed, *encoded, *extra], outputCol=assembled))
    if scaler:
        stages.append(sf.StandardScaler(inputCol="assembled", outputCol="features", withMean=True))
    return Pipeline(stages=[*stages, model])


def final_step(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
