"""Refusals: unsupported stages and settings, bad arguments, and parity failures."""

from __future__ import annotations

import copy
import dataclasses
import re

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from pyspark.ml.classification import LogisticRegressionModel

from spark_jobs.export import (
    ExportError,
    ParityError,
    UnsupportedStage,
    check_parity,
    export_model,
    registry,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def lr_binary(tabular_binary):
    return sc.LogisticRegression(maxIter=20).fit(tabular_binary.train)


@pytest.fixture(scope="module")
def svc_binary(tabular_binary):
    return sc.LinearSVC(maxIter=5).fit(tabular_binary.train)


@pytest.fixture(scope="module")
def rf_binary(tabular_binary):
    return sc.RandomForestClassifier(numTrees=2, maxDepth=2, seed=1).fit(tabular_binary.train)


@pytest.mark.parametrize(
    ("model", "setting", "match"),
    [
        pytest.param("lr_binary", lambda m: m.setThreshold(0.3), r"threshold=0\.3",
                     id="lr-threshold"),
        pytest.param("lr_binary", lambda m: m.setThresholds([0.4, 0.6]),
                     r"thresholds=\[0\.4, 0\.6\]", id="lr-thresholds"),
        pytest.param("svc_binary", lambda m: m.setThreshold(0.5),
                     r"LinearSVCModel.*threshold=0\.5", id="svc-threshold"),
        pytest.param("rf_binary", lambda m: m.setThresholds([0.5, 0.5]),
                     r"RandomForestClassificationModel.*thresholds", id="rf-thresholds"),
    ],
)  # fmt: skip
def test_unsupported_settings_are_named(request, tabular_binary, model, setting, match):
    configured = setting(request.getfixturevalue(model).copy())

    with pytest.raises(UnsupportedStage, match=match):
        export_model(configured, tabular_binary.test)


def test_default_threshold_set_explicitly_is_fine(lr_binary, tabular_binary):
    result = export_model(lr_binary.copy().setThreshold(0.5), tabular_binary.test)

    assert result.parity["passed"] is True


def _non_negative(df):
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    return df.withColumn(
        "features",
        array_to_vector(F.transform(vector_to_array("features"), lambda v: F.abs(v))),
    )


def test_unknown_stage_is_named(tabular_binary):
    model = Pipeline(
        stages=[
            sf.DCT(inputCol="features", outputCol="dct"),  # not in the registry at all
            sc.LogisticRegression(featuresCol="dct", maxIter=5),
        ]
    ).fit(tabular_binary.train)

    with pytest.raises(UnsupportedStage, match=r"DCT\(uid=DCT_\w+\) has no exact"):
        export_model(model, tabular_binary.test)


def test_binary_categorical_split_exports_as_a_threshold(spark, tabular_binary):
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    # Feature 0 becomes a two-valued category that predicts the label, so VectorIndexer
    # marks it categorical and the tree's root splits on it: {0} left is x <= 0.5.
    features = vector_to_array("features")
    category = F.when(F.col("label") == 1.0, 2.0).otherwise(0.0)
    coded = tabular_binary.train.withColumn(
        "features", array_to_vector(F.concat(F.array(category), F.slice(features, 2, 7)))
    )
    indexer = sf.VectorIndexer(inputCol="features", outputCol="indexed", maxCategories=3)
    indexed = indexer.fit(coded).transform(coded)
    tree = sc.DecisionTreeClassifier(featuresCol="indexed", maxDepth=4).fit(indexed)
    assert "feature 0 in" in tree.toDebugString  # the tree really splits on a category

    result = export_model(tree, indexed, features_col="indexed")

    assert result.parity["passed"] is True


def test_several_unsupported_stages_and_settings_are_named_at_once(tabular_binary):
    model = Pipeline(
        stages=[
            sf.DCT(inputCol="features", outputCol="dct"),
            sf.Normalizer(p=3.0, inputCol="dct", outputCol="norm"),
            sc.LogisticRegression(featuresCol="norm", maxIter=5),
        ]
    ).fit(tabular_binary.train)
    model.stages[-1].setThreshold(0.3)

    with pytest.raises(UnsupportedStage) as caught:
        export_model(model, tabular_binary.test)

    assert re.search(
        r"DCT.*has no exact.*Normalizer.*p=3 has no scikit-learn norm.*threshold=0\.3",
        str(caught.value),
    )


def test_more_than_one_classifier_is_refused(lr_binary, tabular_binary):
    from pyspark.ml import PipelineModel

    with pytest.raises(UnsupportedStage, match="exactly one supported classifier or regressor"):
        export_model(PipelineModel(stages=[lr_binary, lr_binary]), tabular_binary.test)


def test_wrong_number_of_labels(lr_binary, tabular_binary):
    with pytest.raises(ExportError, match="has 2 classes but labels has 3"):
        export_model(lr_binary, tabular_binary.test, labels=["a", "b", "c"])


def test_features_col_must_match_the_pipeline_input(lr_binary, tabular_binary):
    with pytest.raises(ExportError, match=r"reads its features from 'features'.*'pixels'"):
        export_model(lr_binary, tabular_binary.test, features_col="pixels")


def test_empty_sample_is_refused(lr_binary, tabular_binary):
    with pytest.raises(ExportError, match="no rows"):
        export_model(lr_binary, tabular_binary.test.limit(0))


def test_check_parity_catches_a_shifted_intercept(lr_binary, tabular_binary):
    good = export_model(lr_binary, tabular_binary.test).estimator
    broken = copy.deepcopy(good)
    broken.intercept_ = broken.intercept_ + 3.0

    with pytest.raises(ParityError) as caught:
        check_parity(lr_binary, broken, tabular_binary.test)

    assert caught.value.parity["passed"] is False
    assert caught.value.parity["label_agreement"] < 1.0


def test_check_parity_catches_probability_drift_even_when_labels_agree(lr_binary, tabular_binary):
    good = export_model(lr_binary, tabular_binary.test).estimator
    drifted = copy.deepcopy(good)
    drifted.coef_ = drifted.coef_ * (1 + 1e-4)

    with pytest.raises(ParityError) as caught:
        check_parity(lr_binary, drifted, tabular_binary.test)

    assert caught.value.parity["label_agreement"] == 1.0
    assert caught.value.parity["max_proba_error"] > 1e-6


def test_a_broken_mapping_makes_export_fail(monkeypatch, tabular_binary):
    """A converter that forgets the K=2 multinomial collapse must not slip through."""
    model = sc.LogisticRegression(maxIter=20, family="multinomial").fit(tabular_binary.train)
    entry = registry.BY_CLASS[LogisticRegressionModel]

    def forgets_collapse(spark_model, classes, reader):
        estimator = entry.convert(spark_model, classes, reader)
        matrix = spark_model.coefficientMatrix.toArray()
        estimator.coef_ = matrix[1:]  # wrong: should be row 1 minus row 0
        estimator.intercept_ = np.array(spark_model.interceptVector.toArray()[1:])
        return estimator

    patched = dataclasses.replace(entry, convert=forgets_collapse)
    monkeypatch.setitem(registry.BY_CLASS, LogisticRegressionModel, patched)

    with pytest.raises(ParityError, match="disagree on 80 held-out rows"):
        export_model(model, tabular_binary.test)


def test_one_vs_rest_with_an_unsupported_base_is_refused(tabular_multi):
    train, test = _non_negative(tabular_multi.train), _non_negative(tabular_multi.test)
    model = sc.OneVsRest(classifier=sc.NaiveBayes(modelType="complement")).fit(train)

    with pytest.raises(UnsupportedStage, match=r"base model NaiveBayesModel.*not supported"):
        export_model(model, test)
