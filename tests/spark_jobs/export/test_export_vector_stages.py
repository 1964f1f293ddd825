"""Vector stages after the assembler (MaxAbsScaler, Normalizer, Binarizer) and KMeans."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import clustering as sk
from pyspark.ml import feature as sf
from sklearn.cluster import KMeans

from artifacts.schema import CLUSTERING
from spark_jobs.export import UnsupportedStage, export_model

from .helpers import final_step

pytestmark = pytest.mark.spark


def _chain(stage, model=None):
    model = model or sc.LogisticRegression(featuresCol="out", maxIter=20)
    return Pipeline(stages=[stage, model])


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: sf.MaxAbsScaler(inputCol="features", outputCol="out"), id="maxabs"),
        pytest.param(lambda: sf.Normalizer(p=1.0, inputCol="features", outputCol="out"), id="l1"),
        pytest.param(lambda: sf.Normalizer(p=2.0, inputCol="features", outputCol="out"), id="l2"),
        pytest.param(lambda: sf.Normalizer(p=float("inf"), inputCol="features", outputCol="out"),
                     id="inf"),
        pytest.param(lambda: sf.Binarizer(threshold=0.5, inputCol="features", outputCol="out"),
                     id="binarizer"),
    ],
)  # fmt: skip
def test_vector_stage_exports_with_parity(tabular_multi, make):
    fitted = _chain(make()).fit(tabular_multi.train)

    result = export_model(fitted, tabular_multi.test)

    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-9


def test_max_abs_scaler_leaves_an_all_zero_column_at_zero(spark):
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.dense([0.0, float(v), -2.0 * v]), float(v % 2)) for v in range(1, 9)]
    df = spark.createDataFrame(rows, ["features", "label"])
    fitted = _chain(sf.MaxAbsScaler(inputCol="features", outputCol="out")).fit(df)

    result = export_model(fitted, df)

    assert result.parity["passed"] is True
    scaled = result.estimator[:-1].transform(np.array([[5.0, 4.0, -8.0]]))
    np.testing.assert_array_equal(scaled, [[5.0, 0.5, -0.5]])


def test_normalizer_with_another_p_is_refused(tabular_binary):
    stage = sf.Normalizer(p=3.0, inputCol="features", outputCol="out")
    fitted = _chain(stage).fit(tabular_binary.train)

    with pytest.raises(UnsupportedStage, match=r"Normalizer\(uid=\w+\): p=3 has no scikit"):
        export_model(fitted, tabular_binary.test)


def test_kmeans_exports_as_a_clusterer(tabular_multi):
    fitted = sk.KMeans(k=4, seed=3, maxIter=10).fit(tabular_multi.train)

    result = export_model(fitted, tabular_multi.test)

    assert isinstance(final_step(result.estimator), KMeans)
    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0
    assert result.output_schema.task == CLUSTERING
    assert result.output_schema.target == {"type": "long", "range": [0, 3]}


def test_kmeans_after_a_scaler_in_a_pipeline(tabular_multi):
    stage = sf.StandardScaler(inputCol="features", outputCol="out", withMean=True)
    fitted = _chain(stage, sk.KMeans(k=3, seed=1, featuresCol="out")).fit(tabular_multi.train)

    result = export_model(fitted, tabular_multi.test)

    assert result.parity["passed"] is True
