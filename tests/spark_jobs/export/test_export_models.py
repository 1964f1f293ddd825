"""Model families beyond the first round: GLM links, isotonic, FM, cosine KMeans, wrappers.

Every test compares with Spark's own ``transform`` (through ``export_model``'s parity
check and, where it adds something, directly), never with numbers computed by the code
under test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pyspark.ml import classification as sc
from pyspark.ml import regression as sr
from sklearn.cluster import KMeans
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import StackingRegressor
from sklearn.linear_model import LinearRegression, TweedieRegressor

from spark_jobs.export import export_model

from .helpers import assert_matches_spark, final_step, tabular_pipeline

pytestmark = pytest.mark.spark


def _glm(label: str, **params):
    return lambda: sr.GeneralizedLinearRegression(labelCol=label, maxIter=8, **params)


GLM_LINKS = [
    # id, Spark estimator factory, expected final sklearn class
    ("binomial-logit", _glm("k", family="binomial"), TransformedTargetRegressor),
    ("binomial-probit-link-column",  # linkPredictionCol adds a column, prediction unchanged
     _glm("k", family="binomial", link="probit", linkPredictionCol="eta"),
     TransformedTargetRegressor),
    ("binomial-cloglog", _glm("k", family="binomial", link="cloglog"),
     TransformedTargetRegressor),
    ("gaussian-inverse", _glm("pos", family="gaussian", link="inverse"),
     TransformedTargetRegressor),
    ("poisson-sqrt", _glm("pos", family="poisson", link="sqrt"), TransformedTargetRegressor),
    ("poisson-identity", _glm("pos", family="poisson", link="identity"), StackingRegressor),
    ("gamma-inverse", _glm("pos", family="gamma"), StackingRegressor),
    ("gamma-identity", _glm("pos", family="gamma", link="identity"), StackingRegressor),
    ("tweedie-power-minus-half", _glm("pos", family="tweedie", variancePower=1.5),
     TransformedTargetRegressor),
    ("tweedie-power-half", _glm("pos", family="tweedie", variancePower=1.5, linkPower=0.5),
     TransformedTargetRegressor),
    ("tweedie-identity", _glm("pos", family="tweedie", variancePower=1.5, linkPower=1.0),
     StackingRegressor),
    ("tweedie-0-is-gaussian", _glm("y", family="tweedie"), LinearRegression),  # no clamp
    ("gaussian-log", _glm("pos", family="gaussian", link="log"), TweedieRegressor),
    ("gaussian-identity-offset-free", _glm("y"), LinearRegression),
]  # fmt: skip


@pytest.mark.parametrize(("factory", "expected"), [g[1:] for g in GLM_LINKS],
                         ids=[g[0] for g in GLM_LINKS])  # fmt: skip
def test_glm_link_parity(mixed, factory, expected):
    spark_model = factory()
    model = tabular_pipeline(spark_model).fit(mixed.train)

    result = export_model(model, mixed.test, label_col=spark_model.getLabelCol())

    assert type(final_step(result.estimator)) is expected
    assert result.parity["passed"] is True
    assert result.parity["max_error"] <= 1e-6
    frame = _frame(result, mixed.test)
    spark_y = [r["prediction"] for r in model.transform(mixed.test).collect()]
    np.testing.assert_allclose(result.estimator.predict(frame), spark_y, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def poisson_identity(mixed):
    """A tabular pipeline ending in a poisson GLM with the identity link (mean can go < 0)."""
    return tabular_pipeline(_glm("pos", family="poisson", link="identity")()).fit(mixed.train)


def test_positive_family_means_are_clamped_at_spark_epsilon(mixed, poisson_identity):
    """Spark projects a poisson mean below 1e-16 to 1e-16; rows far out push it there."""
    from pyspark.sql import functions as F  # noqa: N812

    model = poisson_identity
    sign = -1.0 if model.stages[-1].coefficients[0] > 0 else 1.0
    far = mixed.test.withColumn("size", F.col("size") * F.lit(sign * 100.0))
    spark_y = np.array([r["prediction"] for r in model.transform(far).collect()])
    assert (spark_y == 1e-16).sum() > 5

    result = export_model(model, far, label_col="pos")

    assert result.parity["passed"] is True
    frame = _frame(result, far)
    np.testing.assert_allclose(result.estimator.predict(frame), spark_y, rtol=1e-9, atol=1e-15)
    unclamped = final_step(result.estimator).estimators_[0]
    features = result.estimator[:-1].transform(frame)
    assert (unclamped.predict(features) < 1e-16).sum() == (spark_y == 1e-16).sum()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        pytest.param({"family": "tweedie", "variancePower": 1.5, "linkPower": 0.3},
                     r"link='power\(0.3\)' has no exact scikit-learn form", id="power-0.3"),
        pytest.param({"offsetCol": "count"}, r"offsetCol='count' is not supported", id="offset"),
        pytest.param({"family": "tweedie", "variancePower": 1.5, "linkPower": 1 / 3},
                     r"power\(0.333333\)", id="power-third"),
    ],
)  # fmt: skip
def test_glm_settings_without_an_exact_form_are_refused_by_the_probe(poisson_identity, params,
                                                                     match):  # fmt: skip
    from spark_jobs.export import registry

    glm = poisson_identity.stages[-1]
    changed = glm.copy({glm.getParam(name): value for name, value in params.items()})

    assert re.search(match, registry.problem(changed))


def _frame(result, df):
    from spark_jobs.export.frame import to_frame

    return to_frame(df, result.input_schema)[0]


# Factorization machines ------------------------------------------------------------------


def test_fm_regressor_on_a_tabular_pipeline(mixed):
    model = tabular_pipeline(
        sr.FMRegressor(labelCol="y", factorSize=3, maxIter=30, stepSize=0.05, seed=1)
    ).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="y")

    fm = final_step(result.estimator)
    assert [name for name, _ in fm.steps] == ["pairs", "fm"]
    assert result.parity["passed"] is True
    assert result.parity["max_error"] <= 1e-6
    spark_y = [r["prediction"] for r in model.transform(mixed.test).collect()]
    predicted = result.estimator.predict(_frame(result, mixed.test))
    np.testing.assert_allclose(predicted, spark_y, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fit_linear", [True, False], ids=["linear", "no-linear"])
def test_fm_classifier_probabilities_match_spark(tabular_binary, fit_linear):
    model = sc.FMClassifier(
        factorSize=2, maxIter=20, seed=1, fitLinear=fit_linear, fitIntercept=fit_linear
    ).fit(tabular_binary.train)

    result = export_model(model, tabular_binary.test)

    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-9
    assert_matches_spark(model, result.estimator, tabular_binary.test, np.array([0, 1]))


def test_fm_wider_than_the_limit_is_refused_by_name(tabular_binary, monkeypatch):
    from spark_jobs.export import fm, registry

    model = sc.FMClassifier(factorSize=2, maxIter=2, seed=1).fit(tabular_binary.train)
    monkeypatch.setattr(fm, "MAX_WIDTH", 7)

    message = registry.problem(model)

    assert re.search(
        r"FMClassificationModel\(uid=\w+\): 8 input features would expand to 28 pairwise "
        r"columns; the exact export supports at most 7",
        message,
    )


# Isotonic regression -----------------------------------------------------------------------


@pytest.mark.parametrize("isotonic", [True, False], ids=["isotonic", "antitonic"])
def test_isotonic_on_a_vector_feature(spark, tabular_binary, isotonic):
    from pyspark.ml.linalg import Vectors

    model = sr.IsotonicRegression(featureIndex=2, isotonic=isotonic).fit(tabular_binary.train)
    boundaries = model.boundaries.toArray()
    beyond = [
        (Vectors.dense([0.0, 0.0, value, 0, 0, 0, 0, 0]), 0.0)
        for value in (boundaries[0] - 5, boundaries[-1] + 5, *boundaries[:3])
    ]
    sample = tabular_binary.test.union(spark.createDataFrame(beyond, ["features", "label"]))

    result = export_model(model, sample)

    assert result.parity["passed"] is True
    out = model.transform(sample).collect()
    x = np.vstack([r["features"].toArray() for r in out])
    np.testing.assert_allclose(result.estimator.predict(x), [r["prediction"] for r in out],
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    assert result.estimator.predict(x[-5:-3]).tolist() == [
        model.predictions[0],
        model.predictions[len(boundaries) - 1],
    ]


def test_isotonic_in_a_tabular_pipeline(mixed):
    model = tabular_pipeline(sr.IsotonicRegression(labelCol="y", featureIndex=0)).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="y")

    assert result.parity["passed"] is True
    assert result.parity["max_error"] <= 1e-9


# KMeans with cosine distance ---------------------------------------------------------------


def test_cosine_kmeans_assigns_as_spark(tabular_multi):
    from pyspark.ml.clustering import KMeans as SparkKMeans

    model = SparkKMeans(k=4, seed=2, maxIter=10, distanceMeasure="cosine").fit(tabular_multi.train)

    result = export_model(model, tabular_multi.test)

    assert isinstance(result.estimator, KMeans)
    assert result.parity["label_agreement"] == 1.0
    assert result.output_schema.target == {"type": "long", "range": [0, 3]}
    out = model.transform(tabular_multi.test).collect()
    x = np.vstack([r["features"].toArray() for r in out])
    ids = [int(r["prediction"]) for r in out]
    assert result.estimator.predict(x).tolist() == ids
    assert result.estimator.predict(x * 1e6).tolist() == ids  # cosine: scale-free
    assert len(set(ids)) > 1


def test_cosine_kmeans_spark_refuses_a_zero_row(spark, tabular_multi):
    """Documents why a zero row is outside the exactness claim: Spark cannot score it."""
    from pyspark.ml.clustering import KMeans as SparkKMeans
    from pyspark.ml.linalg import Vectors

    model = SparkKMeans(k=2, seed=2, maxIter=5, distanceMeasure="cosine").fit(tabular_multi.train)
    zero = spark.createDataFrame([(Vectors.dense([0.0] * 8),)], ["features"])

    with pytest.raises(Exception, match=r"(?i)zero"):
        model.transform(zero).collect()


# Tuning wrappers ----------------------------------------------------------------------------


def test_cross_validator_exports_its_best_model(tabular_binary):
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    lr = sc.LogisticRegression(maxIter=10)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.5]).build()
    tuned = CrossValidator(estimator=lr, estimatorParamMaps=grid, numFolds=2, seed=1,
                           evaluator=BinaryClassificationEvaluator())  # fmt: skip
    model = tuned.fit(tabular_binary.train)

    result = export_model(model, tabular_binary.test)

    np.testing.assert_array_equal(result.estimator.coef_[0], model.bestModel.coefficients)
    assert result.parity["label_agreement"] == 1.0
    assert_matches_spark(model, result.estimator, tabular_binary.test, np.array([0, 1]))


def test_train_validation_split_as_a_pipeline_stage(mixed):
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit

    lr = sr.LinearRegression(labelCol="y")
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 1.0]).build()
    tuned = TrainValidationSplit(estimator=lr, estimatorParamMaps=grid, seed=1,
                                 evaluator=RegressionEvaluator(labelCol="y"))  # fmt: skip
    model = tabular_pipeline(tuned).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="y")

    assert result.parity["passed"] is True
    best = model.stages[-1].bestModel
    np.testing.assert_array_equal(final_step(result.estimator).coef_, best.coefficients)


# Naive Bayes (complement) and one-vs-rest bases ---------------------------------------------


def test_complement_naive_bayes_matches_spark(mnist):
    from sklearn.naive_bayes import ComplementNB

    model = sc.NaiveBayes(modelType="complement").fit(mnist.train)

    result = export_model(model, mnist.test)

    assert isinstance(result.estimator, ComplementNB)
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-6
    assert_matches_spark(model, result.estimator, mnist.test, np.arange(10))


OVR_BASES = [
    ("nb-multinomial", "mnist", lambda: sc.NaiveBayes()),
    ("nb-bernoulli", "binary_pixels", lambda: sc.NaiveBayes(modelType="bernoulli")),
    ("fm", "tabular_multi", lambda: sc.FMClassifier(factorSize=2, maxIter=10, seed=1)),
    ("nb-gaussian", "tabular_multi", lambda: sc.NaiveBayes(modelType="gaussian")),
]


@pytest.fixture(scope="module")
def binary_pixels(spark, mnist_arrays):
    from .helpers import to_frames

    x, y = mnist_arrays
    return to_frames(spark, (x > 0.5).astype(float), y, n_test=100)


@pytest.mark.parametrize(
    ("data", "factory"),
    [pytest.param(d, f, id=i) for i, d, f in OVR_BASES],
    indirect=["data"],
)
def test_one_vs_rest_with_more_bases(data, factory):
    from sklearn.multiclass import OneVsRestClassifier

    model = sc.OneVsRest(classifier=factory()).fit(data.train)

    result = export_model(model, data.test)

    assert isinstance(result.estimator, OneVsRestClassifier)
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_decision_error"] <= 1e-6
    assert_matches_spark(model, result.estimator, data.test, np.arange(data.n_classes))


def test_one_vs_rest_with_a_tree_base_is_refused_by_the_probe(tabular_multi):
    from spark_jobs.export import registry

    model = sc.OneVsRest(classifier=sc.DecisionTreeClassifier(maxDepth=2)).fit(tabular_multi.train)

    message = registry.problem(model)

    assert re.search(
        r"OneVsRestModel\(uid=\w+\): base model DecisionTreeClassificationModel\(uid=\w+\) "
        r"is not supported \(supported: .*NaiveBayes\); tree",
        message,
    )


# Refused clusterers: the reasons, shown on Spark's own output ------------------------------


def test_gaussian_mixture_is_refused_and_spark_underflows_far_rows(spark, tabular_multi):
    """Why GaussianMixture is not exact: Spark's posterior is linear-space densities plus
    2.2e-16, so a row far from every component gets a uniform posterior and cluster 0,
    whatever the components' log densities say (a log-space GaussianMixture does not)."""
    from pyspark.ml.clustering import GaussianMixture
    from pyspark.ml.linalg import Vectors

    from spark_jobs.export import registry

    model = GaussianMixture(k=2, seed=1, maxIter=10).fit(tabular_multi.train)
    means = [g.mean.toArray() for g in model.gaussians]
    far = means[1] + 50.0 * (means[1] - means[0])
    (row,) = model.transform(spark.createDataFrame([(Vectors.dense(far),)], ["features"])).collect()

    assert re.search(r"GaussianMixtureModel\(uid=\w+\) has no exact scikit-learn mapping \(Spark "
                     r"sums weight·density", registry.problem(model))  # fmt: skip
    np.testing.assert_allclose(row["probability"].toArray(), [0.5, 0.5])
    assert row["prediction"] == 0
