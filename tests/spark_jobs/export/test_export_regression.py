"""Regressors: one test per family, on tabular pipelines with gaps and unseen categories."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import regression as sr
from sklearn import ensemble, linear_model, tree

from spark_jobs.export import UnsupportedStage, export_model

from .helpers import final_step, tabular_pipeline

pytestmark = pytest.mark.spark

FAMILIES = [
    # id, Spark estimator factory, expected sklearn class
    ("linear-elastic-net", lambda: sr.LinearRegression(labelCol="y", regParam=0.1,
                                                       elasticNetParam=0.5),
     linear_model.LinearRegression),
    ("glm-gaussian", lambda: sr.GeneralizedLinearRegression(labelCol="y", family="gaussian"),
     linear_model.LinearRegression),
    ("glm-poisson", lambda: sr.GeneralizedLinearRegression(labelCol="pos", family="poisson"),
     linear_model.PoissonRegressor),
    ("glm-gamma-log", lambda: sr.GeneralizedLinearRegression(labelCol="pos", family="gamma",
                                                             link="log"),
     linear_model.GammaRegressor),
    ("glm-tweedie-log", lambda: sr.GeneralizedLinearRegression(
        labelCol="pos", family="tweedie", variancePower=1.5, linkPower=0.0),
     linear_model.TweedieRegressor),
    ("glm-tweedie-default", lambda: sr.GeneralizedLinearRegression(labelCol="y",
                                                                   family="tweedie"),
     linear_model.LinearRegression),  # variancePower 0 is Spark's gaussian family
    ("dt", lambda: sr.DecisionTreeRegressor(labelCol="y", maxDepth=4),
     tree.DecisionTreeRegressor),
    ("rf", lambda: sr.RandomForestRegressor(labelCol="y", numTrees=4, maxDepth=4, seed=1),
     ensemble.RandomForestRegressor),
    ("gbt", lambda: sr.GBTRegressor(labelCol="y", maxIter=5, maxDepth=3, stepSize=0.3, seed=2),
     ensemble.GradientBoostingRegressor),
]  # fmt: skip


@pytest.mark.parametrize(("factory", "expected"), [f[1:] for f in FAMILIES],
                         ids=[f[0] for f in FAMILIES])  # fmt: skip
def test_regressor_parity_on_a_tabular_pipeline(mixed, factory, expected):
    spark_model = factory()
    model = tabular_pipeline(spark_model).fit(mixed.train)

    result = export_model(model, mixed.test, label_col=spark_model.getLabelCol())

    assert type(final_step(result.estimator)) is expected
    parity = result.parity
    assert parity["passed"] is True
    assert parity["max_error"] <= 1e-6
    assert parity["max_abs_error"] <= 1e-6 * max(1.0, _largest_prediction(model, mixed.test))
    edges = parity["edge_rows"]
    assert edges["missing_numeric"] > 0
    assert edges["missing_category"] > 0
    assert edges["unseen_category"] > 0  # synthesised: the held-out rows have none
    assert parity["synthesized_rows"] >= 1
    assert result.classes == []
    assert result.output_schema.task == "regression"
    assert result.output_schema.label == spark_model.getLabelCol()
    lo, hi = result.output_schema.target["range"]
    assert lo < hi


def _largest_prediction(model, df) -> float:
    return max(abs(r["prediction"]) for r in model.transform(df).select("prediction").collect())


def test_gbt_weights_first_tree_one_then_step_size(mixed):
    model = tabular_pipeline(
        sr.GBTRegressor(labelCol="y", maxIter=4, maxDepth=2, stepSize=0.25, seed=3)
    ).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="y")

    gbt = final_step(result.estimator)
    assert list(model.stages[-1].treeWeights) == [1.0, 0.25, 0.25, 0.25]
    assert gbt.init_ == "zero"
    assert gbt.learning_rate == 1.0
    root_values = [float(t.tree_.value[0, 0, 0]) for t in gbt.estimators_[:, 0]]
    spark_roots = [t._call_java("rootNode").prediction() for t in model.stages[-1].trees]
    np.testing.assert_allclose(root_values, np.array(spark_roots) * [1.0, 0.25, 0.25, 0.25])


def test_linear_regression_on_diabetes_with_a_scaler(diabetes):
    names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    model = tabular_pipeline(
        sr.LinearRegression(labelCol="target"), numeric=tuple(names), categorical=(),
        scaler=True,
    ).fit(diabetes.train)  # fmt: skip

    result = export_model(model, diabetes.test, label_col="target", schema_df=diabetes.train)

    assert result.parity["passed"] is True
    assert result.parity["max_error"] <= 1e-6
    assert result.input_schema.column_names == names
    assert all(c.type == "double" and c.nullable for c in result.input_schema.columns)
    bmi = result.input_schema.column("bmi")
    train_bmi = [r["bmi"] for r in diabetes.train.select("bmi").collect()]
    assert bmi.range == (min(train_bmi), max(train_bmi))


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        pytest.param(lambda: sr.GeneralizedLinearRegression(labelCol="pos", family="tweedie",
                                                            variancePower=1.5, linkPower=0.25),
                     r"family='tweedie' with link='power\(0.25\)'", id="tweedie-power-link"),
    ],
)  # fmt: skip
def test_glm_links_without_an_exact_form_are_refused(mixed, factory, match):
    model = tabular_pipeline(factory()).fit(mixed.train)

    with pytest.raises(UnsupportedStage, match=match):
        export_model(model, mixed.test, label_col="pos")
