"""Bucketizer and a fitted QuantileDiscretizer against Spark's own buckets.

Rows sit exactly on every split, between them, at ±inf and NaN; the expected buckets are
what Spark's ``transform`` returns for the same values, and a value Spark refuses must
make the export raise too.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline as SparkPipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import (
    Bucketizer,
    Imputer,
    OneHotEncoder,
    QuantileDiscretizer,
    VectorAssembler,
)

from spark_jobs.export import UnsupportedStage, export_model
from spark_jobs.export.binning import bucket_steps

INF = math.inf
SPLIT_CASES = [
    ([-INF, -1.0, 0.0, 2.5, INF], "keep"),
    ([-INF, -1.0, 0.0, 2.5, INF], "error"),
    ([-3.0, 0.5, 7.0], "keep"),
    ([-3.0, 0.5, 7.0], "error"),
    ([-INF, 1e-300, 1e300], "keep"),
]


def _probe_values(splits: list[float], keep: bool) -> list[float]:
    """Each split, the midpoints, just inside the ends, and ±inf/NaN where Spark takes them."""
    finite = [s for s in splits if math.isfinite(s)]
    values = [
        *finite,
        *(math.nextafter(s, INF) for s in finite),
        *(math.nextafter(s, -INF) for s in finite),
    ]
    values += [(a + b) / 2 for a, b in itertools.pairwise(finite)]
    values += [-1e308, 1e308, 0.0, -5.0, 5.0]
    values = [v for v in values if splits[0] <= v <= splits[-1]]
    values += [s for s in (-INF, INF) if s in (splits[0], splits[-1])]
    return [*values, math.nan] if keep else values


@pytest.mark.parametrize(("splits", "invalid"), SPLIT_CASES)
def test_buckets_equal_spark_on_splits_ends_and_nan(spark, splits, invalid):
    stage = Bucketizer(splits=splits, handleInvalid=invalid, inputCol="v", outputCol="b")
    values = [float(v) for v in _probe_values(splits, invalid == "keep")]
    frame = spark.createDataFrame([(v,) for v in values], "v double")
    expected = [row["b"] for row in stage.transform(frame).select("b").collect()]
    steps = bucket_steps(stage, 0).fit(np.array([[splits[1]]]))
    ours = steps.transform(pd.DataFrame({"v": values}))[:, 0]
    np.testing.assert_array_equal(ours, np.array(expected, dtype=np.float64))


@pytest.mark.parametrize(("splits", "invalid"), SPLIT_CASES)
def test_values_spark_refuses_are_refused(spark, splits, invalid):
    stage = Bucketizer(splits=splits, handleInvalid=invalid, inputCol="v", outputCol="b")
    steps = bucket_steps(stage, 0).fit(np.array([[splits[1]]]))
    bad = [-INF, INF, math.nextafter(splits[0], -INF), math.nextafter(splits[-1], INF)]
    bad = [v for v in bad if not splits[0] <= v <= splits[-1]]
    if invalid == "error":
        bad.append(math.nan)
    for value in bad:
        frame = spark.createDataFrame([(float(value),)], "v double")
        with pytest.raises(Exception, match="Bucketizer"):
            stage.transform(frame).collect()
        with pytest.raises(ValueError, match="unknown categories"):
            steps.transform(pd.DataFrame({"v": [value]}))


ROWS_SCHEMA = "x double, y double, z double, w double, label double"


def _rows(n: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x = float(rng.normal()) if i % 9 else math.nan  # NaN: the keep bucket
        y, z = float(rng.uniform(-2.9, 6.9)), float(rng.uniform(0.0, 10.0))
        w = float(rng.exponential(2.0)) if i % 11 else None  # null: imputed
        label = float((0 if math.isnan(x) else x) + y / 3 + rng.normal(0, 0.5) > 1)
        rows.append((x, y, z, w, label))
    rows += [(s, 0.5, 5.0, 1.0, 1.0) for s in (-1.0, 0.0, 2.5)]  # exactly on splits
    return rows


@pytest.fixture(scope="module")
def binned(spark):
    train = spark.createDataFrame(_rows(160, 0), ROWS_SCHEMA).cache()
    test = spark.createDataFrame(_rows(40, 1), ROWS_SCHEMA).cache()
    model = SparkPipeline(
        stages=[
            Bucketizer(
                splits=[-INF, -1.0, 0.0, 2.5, INF],
                handleInvalid="keep",
                inputCol="x",
                outputCol="xb",
            ),
            Bucketizer(
                splitsArray=[[-3.0, 0.5, 7.0], [0.0, 2.0, 4.0, 8.0, 10.0]],
                inputCols=["y", "z"],
                outputCols=["yb", "zb"],
            ),
            QuantileDiscretizer(numBuckets=4, inputCol="z", outputCol="zq"),
            Imputer(inputCols=["w"], outputCols=["wi"]),
            QuantileDiscretizer(numBuckets=3, inputCol="wi", outputCol="wq"),
            VectorAssembler(inputCols=["xb", "yb", "zb", "zq", "wq", "y"], outputCol="features"),
            LogisticRegression(maxIter=20),
        ]
    ).fit(train)
    return model, test


def test_bucketized_pipeline_exports_with_parity(binned):
    model, test = binned
    result = export_model(model, test)
    assert result.parity["passed"]
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["synthesized_rows"] >= 10  # splits, ±inf, NaN
    schema = result.input_schema
    assert schema.column("x").nullable  # keep: a missing value is Spark's NaN bucket
    assert schema.column("w").nullable  # imputed
    assert not schema.column("y").nullable  # 'error': a gap would be refused by Spark


def test_bucketized_features_equal_sparks_vector(spark, binned):
    model, test = binned
    result = export_model(model, test)
    xs = [-1.0, 0.0, 2.5, INF, -INF, math.nan]  # on x's splits, beyond, NaN (keep)
    ys = [-3.0, 0.5, 7.0, -3.0, 0.5, 7.0]  # y's finite splits, both ends included
    zs = [0.0, 2.0, 4.0, 8.0, 10.0, 0.0]
    edges = spark.createDataFrame(
        [(x, y, z, 1.0, 0.0) for x, y, z in zip(xs, ys, zs, strict=True)], ROWS_SCHEMA
    )
    rows = model.transform(test.unionByName(edges)).collect()
    frame = pd.DataFrame(
        {c: [math.nan if r[c] is None else r[c] for r in rows] for c in result.input_cols}
    ).astype(np.float64)
    ours = result.estimator.steps[0][1].transform(frame)
    np.testing.assert_array_equal(ours, np.vstack([r["features"].toArray() for r in rows]))
    proba = np.vstack([r["probability"].toArray() for r in rows])
    np.testing.assert_allclose(result.estimator.predict_proba(frame), proba, rtol=0, atol=1e-9)


def test_skip_is_refused_by_name(spark, binned):
    _, test = binned
    model = SparkPipeline(
        stages=[
            Bucketizer(splits=[-INF, 0.0, INF], handleInvalid="skip", inputCol="y", outputCol="yb"),
            VectorAssembler(inputCols=["yb", "z"], outputCol="features"),
            LogisticRegression(maxIter=5),
        ]
    ).fit(test)
    with pytest.raises(UnsupportedStage, match=r"Bucketizer.*handleInvalid='skip'"):
        export_model(model, test)


@pytest.mark.parametrize("drop_last", [True, False])
def test_bucket_indices_one_hot_encoded_as_in_spark(spark, binned, drop_last):
    """Bucketizer(keep) → OneHotEncoder(keep): the NaN bucket is the encoder's invalid slot."""
    _, test = binned
    train = spark.createDataFrame(_rows(120, 2), ROWS_SCHEMA)
    model = SparkPipeline(
        stages=[
            Bucketizer(
                splits=[-INF, -1.0, 0.0, 2.5, INF],
                handleInvalid="keep",
                inputCol="x",
                outputCol="xb",
            ),
            QuantileDiscretizer(numBuckets=3, inputCol="z", outputCol="zq"),
            OneHotEncoder(
                inputCols=["xb", "zq"],
                outputCols=["xv", "zv"],
                handleInvalid="keep",
                dropLast=drop_last,
            ),
            VectorAssembler(inputCols=["xv", "zv", "y"], outputCol="features"),
            LogisticRegression(maxIter=10),
        ]
    ).fit(train)
    result = export_model(model, test)
    assert result.parity["passed"]
    rows = model.transform(test).collect()
    frame = pd.DataFrame(
        {c: [math.nan if r[c] is None else r[c] for r in rows] for c in result.input_cols}
    ).astype(np.float64)
    ours = result.estimator.steps[0][1].transform(frame)
    np.testing.assert_array_equal(ours, np.vstack([r["features"].toArray() for r in rows]))


def test_nan_bucket_into_a_strict_encoder_is_refused(spark, binned):
    _, test = binned
    model = SparkPipeline(
        stages=[
            Bucketizer(splits=[-INF, 0.0, INF], handleInvalid="keep", inputCol="y", outputCol="yb"),
            OneHotEncoder(inputCol="yb", outputCol="yv"),
            VectorAssembler(inputCols=["yv", "z"], outputCol="features"),
            LogisticRegression(maxIter=5),
        ]
    ).fit(test)
    with pytest.raises(UnsupportedStage, match=r"OneHotEncoderModel.*'error' fails on the NaN"):
        export_model(model, test)


def test_bucket_steps_unpickle_without_spark_or_this_project(spark, tmp_path):
    """Serving has numpy and sklearn but neither pyspark nor spark_jobs: the steps need neither."""
    import pickle
    import subprocess
    import sys

    stage = Bucketizer(splits=[-INF, 0.0, 2.5, INF], handleInvalid="keep")
    steps = bucket_steps(stage, 0).fit(np.array([[1.0]]))
    path = tmp_path / "steps.pkl"
    path.write_bytes(pickle.dumps(steps))
    script = (
        "import sys, pickle, numpy as np\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pyspark', 'spark_jobs'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"steps = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(steps.transform(np.array([[-1.0], [0.0], [3.0], [np.nan]]))[:, 0].tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0.0, 1.0, 2.0, 3.0]"
