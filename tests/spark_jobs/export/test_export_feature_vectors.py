"""Vector stages after the assembler: RobustScaler, ElementwiseProduct, PCA, VectorSlicer,
the fitted selectors and PolynomialExpansion — each step against Spark's own output column,
and the whole export through the parity check."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from pyspark.ml.linalg import Vectors

import artifacts
from serving import create_app
from spark_jobs.export import UnsupportedStage, export_model, registry

pytestmark = pytest.mark.spark


def _chain(*stages):
    model = sc.LogisticRegression(featuresCol="out", maxIter=20)
    return Pipeline(stages=[*stages, model])


def _wire(*stages):
    """Wire vector stages into a straight chain features → v1 → … → out."""
    columns = ["features", *(f"v{i}" for i in range(1, len(stages))), "out"]
    for stage, (read, write) in zip(stages, itertools.pairwise(columns), strict=True):
        stage.set(stage.getParam("inputCol" if stage.hasParam("inputCol") else "featuresCol"), read)
        stage.setOutputCol(write)
    return _chain(*stages)


def _spark_columns(fitted, df):
    """Every column of the Spark run as a matrix (vectors expanded), by name."""
    rows = fitted.transform(df).collect()
    names = [n for n in rows[0].asDict() if hasattr(rows[0][n], "toArray")]
    return {n: np.vstack([r[n].toArray() for r in rows]) for n in names}


def _spark_step(fitted, df, column="out"):
    """The features and one vector stage's output, as Spark computed them."""
    columns = _spark_columns(fitted, df)
    return columns["features"], columns[column]


def _steps(estimator):
    """The exported steps between the input and the final estimator."""
    return estimator[:-1]


def _through(estimator, stage, x):
    """x through the exported steps up to and including those of ``stage``."""
    names = [name for name, _ in estimator.steps]
    last = max(i for i, name in enumerate(names) if name.startswith(stage.uid))
    return estimator[: last + 1].transform(x)


CHAINS = {
    "robust-elementwise-pca": lambda: [
        sf.RobustScaler(withCentering=True),
        sf.ElementwiseProduct(scalingVec=Vectors.dense([2.0, -0.5, 0.0, 1e3, 3, 7, -1, 1e-3])),
        sf.PCA(k=4),
    ],
    "robust-center-only-then-scale-only": lambda: [
        sf.RobustScaler(withCentering=True, withScaling=False, lower=0.1, upper=0.8),
        sf.RobustScaler(),
    ],
    "slicer-univariate-variance-chisq": lambda: [
        sf.VectorSlicer(indices=[6, 0, 3, 5, 1, 2, 7]),
        sf.UnivariateFeatureSelector()
        .setFeatureType("continuous")
        .setLabelType("categorical")
        .setSelectionThreshold(5),
        sf.VarianceThresholdSelector(varianceThreshold=0.5),
        sf.ChiSqSelector(numTopFeatures=3),
    ],
    "slicer-polynomial": lambda: [
        sf.VectorSlicer(indices=[0, 1, 3]),
        sf.PolynomialExpansion(degree=3),
    ],
}


@pytest.fixture(scope="module", params=sorted(CHAINS))
def fitted_chain(request, tabular_multi):
    return request.param, _wire(*CHAINS[request.param]()).fit(tabular_multi.train)


def test_vector_stages_export_with_parity(fitted_chain, tabular_multi):
    name, fitted = fitted_chain

    result = export_model(fitted, tabular_multi.test)

    assert result.parity["passed"] is True, name
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-9
    spark = _spark_columns(fitted, tabular_multi.test)
    assert result.input_schema.features == spark["features"].shape[1]  # the chain's input
    for stage in fitted.stages[:-1]:  # every stage's step against Spark's own column
        ours = _through(result.estimator, stage, spark["features"])
        np.testing.assert_allclose(ours, spark[stage.getOutputCol()], rtol=1e-12, atol=1e-15)


def test_robust_scaler_zero_range_is_zero_as_in_spark(tabular_multi):
    fitted = _wire(sf.RobustScaler(withCentering=True)).fit(tabular_multi.train)
    spread = fitted.stages[0].range.toArray()
    assert (spread == 0).any()  # the constant column: the case sklearn's RobustScaler differs

    result = export_model(fitted, tabular_multi.test)

    x, spark_out = _spark_step(fitted, tabular_multi.test)
    ours = _steps(result.estimator).transform(x + 1.5)  # off the constant: still 0 in Spark
    np.testing.assert_array_equal(ours[:, spread == 0], 0.0)
    np.testing.assert_array_equal(spark_out[:, spread == 0], 0.0)


def test_univariate_selector_output_is_in_index_order(tabular_multi):
    """The model lists features best first; Spark's output keeps them in index order."""
    stage = (
        sf.UnivariateFeatureSelector(selectionMode="numTopFeatures")
        .setFeatureType("continuous")
        .setLabelType("categorical")
        .setSelectionThreshold(4)
    )
    fitted = _wire(stage).fit(tabular_multi.train)
    selected = list(fitted.stages[0].selectedFeatures)
    assert selected != sorted(selected)  # else this test would prove nothing
    x, spark_out = _spark_step(fitted, tabular_multi.test)

    result = export_model(fitted, tabular_multi.test)

    np.testing.assert_array_equal(spark_out, x[:, sorted(selected)])
    np.testing.assert_array_equal(_steps(result.estimator).transform(x), spark_out)


def test_vector_slicer_by_names_and_other_problems_are_listed_at_once(spark, tabular_binary):
    lr = sc.LogisticRegression(featuresCol="out", maxIter=5).fit(
        sf.VectorSlicer(indices=[0, 1], inputCol="features", outputCol="out").transform(
            tabular_binary.train
        )
    )
    model = PipelineModel(
        stages=[
            sf.Normalizer(p=3.0, inputCol="features", outputCol="norm"),
            sf.VectorSlicer(names=["a", "b"], inputCol="norm", outputCol="out"),
            lr,
        ]
    )

    with pytest.raises(UnsupportedStage) as caught:
        export_model(model, tabular_binary.test)

    message = str(caught.value)
    assert "p=3 has no scikit-learn norm" in message
    assert "VectorSlicer(uid=" in message
    assert "names=['a', 'b']" in message


def test_polynomial_expansion_in_spark_term_order(spark):
    rows = [(Vectors.dense([2.0, 3.0, 5.0]),), (Vectors.dense([-1.5, 0.0, 7.25]),)]
    df = spark.createDataFrame(rows, ["features"])
    stage = sf.PolynomialExpansion(degree=3, inputCol="features", outputCol="out")
    spark_out = np.vstack([r["out"].toArray() for r in stage.transform(df).collect()])

    steps = registry.convert_feature_stage(stage, 3)

    x = np.array([r[0].toArray() for r in rows])
    for _, step in steps:
        x = step.transform(x)
    np.testing.assert_allclose(x, spark_out, rtol=1e-15)
    assert spark_out.shape[1] == 19


def test_polynomial_expansion_of_an_absurd_width_is_refused(spark, tabular_binary):
    wide = spark.createDataFrame([(Vectors.dense(np.arange(30.0).tolist()),)], ["features"])
    lr = sc.LogisticRegression(featuresCol="out", maxIter=2).fit(
        tabular_binary.train.withColumnRenamed("features", "out")
    )
    model = PipelineModel(
        stages=[sf.PolynomialExpansion(degree=4, inputCol="features", outputCol="out"), lr]
    )

    with pytest.raises(UnsupportedStage, match=r"degree 4 over 30 features makes 46375 columns"):
        export_model(model, wide)


def test_a_tabular_export_with_vector_stages_is_served(mixed, tmp_path):
    """Imputer → StringIndexer → OneHotEncoder → assembler → PolynomialExpansion → PCA →
    RobustScaler → LogisticRegression: signed, loaded by the app, answering Spark's labels."""
    stages = [
        sf.Imputer(inputCols=["size", "count"], outputCols=["size_i", "count_i"]),
        sf.StringIndexer(inputCol="colour", outputCol="colour_i", handleInvalid="keep"),
        sf.OneHotEncoder(inputCol="colour_i", outputCol="colour_v"),
        sf.VectorAssembler(inputCols=["size_i", "count_i", "colour_v"], outputCol="assembled"),
        sf.PolynomialExpansion(degree=2, inputCol="assembled", outputCol="poly"),
        sf.PCA(k=4, inputCol="poly", outputCol="pcs"),
        sf.RobustScaler(inputCol="pcs", outputCol="features", withCentering=True),
        sc.LogisticRegression(labelCol="k", maxIter=20),
    ]
    model = Pipeline(stages=stages).fit(mixed.train)
    result = export_model(model, mixed.test, label_col="k")
    assert result.parity["passed"] is True

    key = artifacts.generate_keys("hmac-sha256", tmp_path / "keys")["secret"]
    artifacts.save(result.estimator, tmp_path / "store", "vectors", version="1",
                   signer=artifacts.load_signer(key), input_schema=result.input_schema,
                   output_schema=result.output_schema, parity=result.parity)  # fmt: skip
    config = {"model_store": tmp_path / "store", "verify_key_file": key, "auth_enabled": False,
              "rate_limit_enabled": False, "reload_interval": 0}  # fmt: skip
    client = create_app(config).test_client()
    columns = ["colour", "size", "count"]
    rows = model.transform(mixed.test).select(*columns, "prediction").collect()
    records = [
        {c: (None if isinstance(r[c], float) and math.isnan(r[c]) else r[c]) for c in columns}
        for r in rows
    ]

    reply = client.post("/invocations", json={"dataframe_records": records})

    assert reply.status_code == 200, reply.get_data(as_text=True)
    classes = result.classes
    assert reply.get_json()["predictions"] == [classes[int(r["prediction"])] for r in rows]
