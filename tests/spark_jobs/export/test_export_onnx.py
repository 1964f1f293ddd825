"""Optional ONNX export: the graph must reproduce the exported estimator in onnxruntime."""

from __future__ import annotations

import copy

import numpy as np
import onnxruntime
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf

from spark_jobs.export import ExportError, export_model, export_onnx
from spark_jobs.export.onnx_export import onnx_parity

pytestmark = [pytest.mark.spark, pytest.mark.slow]

MODELS = [
    pytest.param("tabular_multi", lambda: sc.LogisticRegression(featuresCol="s", maxIter=10),
                 "float64", id="lr-multi"),
    pytest.param("tabular_binary",
                 lambda: sc.MultilayerPerceptronClassifier(featuresCol="s", layers=[8, 4, 2],
                                                           maxIter=20, seed=1),
                 "float64", id="mlp-binary"),
    pytest.param("tabular_binary",
                 lambda: sc.GBTClassifier(featuresCol="s", maxIter=4, maxDepth=3, seed=1),
                 "float32", id="gbt"),
    pytest.param("tabular_multi",
                 lambda: sc.RandomForestClassifier(featuresCol="s", numTrees=3, maxDepth=3, seed=1),
                 "float32", id="rf-multi"),
]  # fmt: skip


def _features(df) -> np.ndarray:
    return np.vstack([r["features"].toArray() for r in df.collect()])


@pytest.mark.parametrize(("data", "factory", "dtype"), MODELS, indirect=["data"])
def test_onnx_graph_matches_the_estimator(data, factory, dtype):
    scaler = sf.StandardScaler(inputCol="features", outputCol="s", withMean=True)
    model = Pipeline(stages=[scaler, factory()]).fit(data.train)
    estimator = export_model(model, data.test).estimator
    x = _features(data.test)

    result = export_onnx(estimator, x)

    assert result.input_dtype == dtype
    assert result.parity["passed"] is True
    assert result.parity["max_proba_error"] <= 1e-6
    session = onnxruntime.InferenceSession(result.model, providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: x.astype(dtype)})
    np.testing.assert_array_equal(labels, estimator.predict(x))
    np.testing.assert_allclose(proba, estimator.predict_proba(x), rtol=0, atol=1e-6)


def test_onnx_parity_detects_a_graph_that_is_not_the_estimator(tabular_multi):
    model = sc.LogisticRegression(maxIter=10).fit(tabular_multi.train)
    estimator = export_model(model, tabular_multi.test).estimator
    x = _features(tabular_multi.test)
    graph = export_onnx(estimator, x).model
    other = copy.deepcopy(estimator)
    other.intercept_ = other.intercept_ + np.array([2.0, 0.0, -2.0])

    parity = onnx_parity(graph, other, x, atol=1e-6)

    assert parity["passed"] is False
    assert parity["label_agreement"] < 1.0


def test_linear_svc_has_no_onnx_export(tabular_binary):
    model = sc.LinearSVC(maxIter=5).fit(tabular_binary.train)
    estimator = export_model(model, tabular_binary.test).estimator

    with pytest.raises(ExportError, match="needs predict_proba; LinearSVC has none"):
        export_onnx(estimator, _features(tabular_binary.test))


def test_without_the_onnx_extra_the_error_says_what_to_install(monkeypatch):
    import sys

    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((20, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import fails as when not installed
    with pytest.raises(ExportError, match=r"pip install 'spark-model-server\[onnx\]'"):
        export_onnx(model, x)
