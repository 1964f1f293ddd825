"""Tabular training in-process: column pipeline + model fitted, evaluated, refusals named."""

from __future__ import annotations

import pytest
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer, VectorAssembler

from spark_jobs import sources
from spark_jobs.errors import DataError, UsageError
from spark_jobs.train import tabular
from spark_jobs.train.models import FEATURES, preprocessing

from ..conftest import settings
from ..tabular_data import diabetes, mixed, to_csv, to_parquet, wine

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def files(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    shifted = wine()
    shifted["alcohol"] -= 13.0  # negative values: naive Bayes must refuse
    return {
        "mixed": to_csv(mixed(), root / "mixed.csv"),
        "diabetes": to_parquet(spark, diabetes(), root / "diabetes.parquet"),
        "wine": to_csv(shifted, root / "wine.csv"),
    }


def _fit(spark, **kw):
    s = settings(**kw)
    data = sources.read(spark, s)
    return data, tabular.fit(spark, s, data, {})


def test_pipeline_stages_follow_the_column_types(spark, files):
    s = settings(data=files["mixed"], label_col="y", exclude=("id", "k", "score"))
    data = sources.read(spark, s)
    stages = preprocessing(s, data)
    kinds = [type(st).__name__ for st in stages]
    assert kinds == [
        "StringIndexerModel",
        "Imputer",
        "StringIndexer",
        "OneHotEncoder",
        "VectorAssembler",
    ]
    imputer, indexer = stages[1], stages[2]
    assert isinstance(imputer, Imputer)
    assert imputer.getStrategy() == "median"
    assert imputer.getInputCols() == ["size", "count"]
    assert isinstance(indexer, StringIndexer)
    assert indexer.getHandleInvalid() == "keep"
    assert indexer.getInputCols() == ["colour", "flag", "city"]
    assert isinstance(stages[3], OneHotEncoder)
    assert isinstance(stages[4], VectorAssembler)
    assert stages[4].getInputCols() == [
        "_ohe_colour", "_num_size", "_num_count", "_ohe_flag", "_ohe_city"
    ]  # fmt: skip
    assert stages[4].getOutputCol() == FEATURES


def test_classifier_on_strings_gaps_and_unicode(spark, files):
    _, trained = _fit(
        spark, data=files["mixed"], label_col="y", exclude=("id", "k", "score"), max_iter=50
    )
    assert trained.family == "lr"
    test = trained.metrics["test"]
    assert test["labels"] == ["no", "yes"]
    assert set(test["per_class"]) == {"no", "yes"}
    assert test["accuracy"] > 0.7
    assert trained.pictures["confusion_matrix.png"][:4] == b"\x89PNG"
    unseen = spark.createDataFrame(
        [("lila", None, None, "maybe", "Paris")], "colour string, size double, count long, "
        "flag string, city string"
    )  # fmt: skip
    row = trained.model.transform(unseen).first()
    assert row.prediction in (0.0, 1.0), "unseen and missing values are scored, not refused"


@pytest.mark.parametrize(
    ("model", "kw", "min_r2"),
    [
        ("linear", {}, 0.3),
        ("glm", {"family": "gaussian"}, 0.3),
        ("glm", {"family": "poisson"}, 0.3),
        ("glm", {"family": "gamma"}, 0.3),
        ("glm", {"family": "tweedie"}, 0.3),
        ("dt", {"max_depth": 3}, 0.1),
        ("rf", {"num_trees": 5, "max_depth": 3}, 0.2),
        ("gbt", {"max_iter": 5, "max_depth": 2, "step_size": 0.3}, 0.1),
    ],
)
def test_regressors_on_diabetes(spark, files, model, kw, min_r2):
    data, trained = _fit(spark, data=files["diabetes"], label_col="progression", model=model, **kw)
    assert data.task == "regression"
    for split_ in ("validation", "test"):
        metrics = trained.metrics[split_]
        assert set(metrics) == {"rows", "rmse", "mae", "r2"}
        assert 0 < metrics["mae"] <= metrics["rmse"]
    assert trained.metrics["test"]["r2"] > min_r2, trained.metrics["test"]
    assert trained.pictures["predicted_vs_actual.png"][:4] == b"\x89PNG"
    if model == "glm" and kw["family"] == "gamma":
        assert trained.model.stages[-1].getLink() == "log", "exact in sklearn's GammaRegressor"


def test_naive_bayes_refuses_negative_features(spark, files):
    with pytest.raises(DataError, match=r"naive Bayes needs non-negative features.*-1\.97"):
        _fit(spark, data=files["wine"], label_col="cultivar", model="nb")


def test_classifier_model_on_a_regression_target(spark, files):
    with pytest.raises(UsageError, match=r"--model svc does not do regression"):
        _fit(spark, data=files["diabetes"], label_col="progression", model="svc")


def test_glm_family_checks_the_label(spark, files):
    with pytest.raises(DataError, match=r"--family gamma needs a positive label"):
        _fit(spark, data=files["mixed"], label_col="k", model="glm", family="gamma",
             task="regression", features=("count",))  # fmt: skip
