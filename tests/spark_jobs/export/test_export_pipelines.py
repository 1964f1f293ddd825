"""Pipelines: scalers (incl. constant columns), VectorAssembler, label indexing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from sklearn.pipeline import Pipeline as SkPipeline

from spark_jobs.export import export_model

from .helpers import assert_matches_spark

pytestmark = pytest.mark.spark


def _scaled_by_spark(scaler_model, df) -> tuple[np.ndarray, np.ndarray]:
    rows = scaler_model.transform(df).collect()
    x = np.vstack([r["features"].toArray() for r in rows])
    scaled = np.vstack([r[scaler_model.getOutputCol()].toArray() for r in rows])
    return x, scaled


@pytest.mark.parametrize(("with_mean", "with_std"), [(True, True), (False, True), (True, False)])
def test_standard_scaler_reproduces_spark_bit_for_bit(tabular_binary, with_mean, with_std):
    scaler = sf.StandardScaler(
        inputCol="features", outputCol="scaled", withMean=with_mean, withStd=with_std
    )
    model = Pipeline(stages=[scaler, sc.LogisticRegression(featuresCol="scaled", maxIter=20)]).fit(
        tabular_binary.train
    )

    result = export_model(model, tabular_binary.test)

    assert isinstance(result.estimator, SkPipeline)
    x, spark_scaled = _scaled_by_spark(model.stages[0], tabular_binary.test)
    ours = result.estimator[:-1].transform(x)
    np.testing.assert_array_equal(ours, spark_scaled)
    if with_std:  # column 5 is constant: Spark outputs exactly 0 there
        assert np.all(ours[:, 5] == 0.0)
    assert result.parity["passed"] is True


def test_standard_scaler_on_mnist_zero_variance_pixels(mnist):
    model = Pipeline(
        stages=[
            sf.StandardScaler(inputCol="features", outputCol="scaled", withMean=True),
            sc.LogisticRegression(featuresCol="scaled", maxIter=15, regParam=0.05),
        ]
    ).fit(mnist.train)

    result = export_model(model, mnist.test)

    x, spark_scaled = _scaled_by_spark(model.stages[0], mnist.test)
    assert np.any(model.stages[0].std.toArray() == 0.0)  # the case under test exists
    np.testing.assert_array_equal(result.estimator[:-1].transform(x), spark_scaled)
    assert result.parity["passed"] is True
    assert result.parity["max_proba_error"] <= 1e-6


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-1.0, 2.0)])
def test_min_max_scaler_constant_column_gets_spark_midpoint(tabular_multi, lo, hi):
    scaler = sf.MinMaxScaler(inputCol="features", outputCol="scaled", min=lo, max=hi)
    model = Pipeline(
        stages=[scaler, sc.DecisionTreeClassifier(featuresCol="scaled", maxDepth=4)]
    ).fit(tabular_multi.train)

    result = export_model(model, tabular_multi.test)

    x, spark_scaled = _scaled_by_spark(model.stages[0], tabular_multi.test)
    ours = result.estimator[:-1].transform(x)
    np.testing.assert_array_equal(ours, spark_scaled)
    assert np.all(ours[:, 5] == (lo + hi) / 2)
    assert result.parity["passed"] is True


def test_min_max_scaler_then_mlp_on_mnist(mnist):
    model = Pipeline(
        stages=[
            sf.MinMaxScaler(inputCol="features", outputCol="scaled"),
            sc.MultilayerPerceptronClassifier(
                featuresCol="scaled", layers=[784, 12, 10], maxIter=20, seed=2
            ),
        ]
    ).fit(mnist.train)

    result = export_model(model, mnist.test)

    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0


def test_vector_assembler_fixes_the_column_order(spark, tabular_multi):
    names = [f"c{i}" for i in range(8)]

    def to_columns(df):
        return spark.createDataFrame(
            [(*map(float, r["features"].toArray()), r["label"]) for r in df.collect()],
            [*names, "y"],
        )

    train, test = to_columns(tabular_multi.train), to_columns(tabular_multi.test)
    columns = names[::-1]  # a non-trivial order
    model = Pipeline(
        stages=[
            sf.VectorAssembler(inputCols=columns, outputCol="assembled"),
            sf.StandardScaler(inputCol="assembled", outputCol="scaled"),
            sc.RandomForestClassifier(
                featuresCol="scaled", labelCol="y", numTrees=4, maxDepth=3, seed=1
            ),
        ]
    ).fit(train)

    result = export_model(model, test, label_col="y")

    assert sorted(result.input_cols) == names  # a tabular frame, named columns
    assert result.input_schema.is_tabular
    assert result.parity["passed"] is True
    x = pd.DataFrame([[r[c] for c in names] for r in test.collect()], columns=names)
    spark_pred = [int(r["prediction"]) for r in model.transform(test).collect()]
    np.testing.assert_array_equal(result.estimator.predict(x), spark_pred)
    np.testing.assert_array_equal(
        result.estimator[0].transform(x), x[columns].to_numpy()
    )  # assembled in the assembler's order


def test_string_indexer_labels_become_classes(spark, tabular_multi):
    names = np.array(["cat", "dog", "eel"])

    def relabel(df):
        return spark.createDataFrame(
            [(r["features"], str(names[int(r["label"])])) for r in df.collect()],
            ["features", "animal"],
        )

    train, test = relabel(tabular_multi.train), relabel(tabular_multi.test)
    indexer = sf.StringIndexer(inputCol="animal", outputCol="label")
    model = Pipeline(
        stages=[
            indexer,
            sc.LogisticRegression(maxIter=20),
            sf.IndexToString(inputCol="prediction", outputCol="predicted_animal"),
        ]
    ).fit(train)

    result = export_model(model, test, label_col="animal")

    spark_labels = list(model.stages[0].labelsArray[0])
    assert result.classes == spark_labels
    assert sorted(spark_labels) == list(names)
    assert result.parity["passed"] is True
    assert_matches_spark(model.stages[1], result.estimator, test, np.array(spark_labels))
    predicted = result.estimator.predict(np.vstack([r["features"] for r in test.collect()]))
    assert set(predicted) <= set(names)


def test_explicit_labels_override_indices(mnist_binary):
    model = sc.LogisticRegression(maxIter=10).fit(mnist_binary.train)

    result = export_model(model, mnist_binary.test, labels=["even", "odd"])

    assert result.classes == ["even", "odd"]
    assert list(result.estimator.classes_) == ["even", "odd"]
    assert result.parity["passed"] is True


def test_tree_models_can_be_staged_in_a_shared_work_dir(tmp_path, tabular_multi):
    model = sc.RandomForestClassifier(numTrees=3, maxDepth=3, seed=5).fit(tabular_multi.train)

    result = export_model(model, tabular_multi.test, work_dir=str(tmp_path))

    assert result.parity["passed"] is True
    assert [p.name[:13] for p in tmp_path.iterdir()] == ["spark-export-"]
