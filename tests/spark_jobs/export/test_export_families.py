"""Parity per model family: every supported classifier, on tabular data.

MNIST cases are kept where the 784 pixels exercise something tabular data does not: the
dot products of a ten-class linear model, multinomial naive Bayes (needs non-negative
counts) and tree thresholds on the 1/255 pixel grid. Same-converter repeats on MNIST (forest,
boosting, SVC, one-vs-rest) were dropped; the MLP on MNIST is in test_export_pipelines.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import classification as sc
from sklearn import ensemble, linear_model, multiclass, naive_bayes, neural_network, svm, tree

from spark_jobs.export import export_model

from .helpers import assert_matches_spark, to_frames

pytestmark = pytest.mark.spark

FAMILIES = [
    # id, data fixture, Spark estimator factory, expected sklearn class
    ("lr-binomial-tabular", "tabular_binary",
     lambda: sc.LogisticRegression(maxIter=20), linear_model.LogisticRegression),
    ("lr-multinomial-tabular", "tabular_multi",
     lambda: sc.LogisticRegression(maxIter=20), linear_model.LogisticRegression),
    ("lr-multinomial-k2-tabular", "tabular_binary",
     lambda: sc.LogisticRegression(maxIter=20, family="multinomial"),
     linear_model.LogisticRegression),
    ("lr-multinomial-mnist", "mnist",
     lambda: sc.LogisticRegression(maxIter=30, regParam=0.01), linear_model.LogisticRegression),
    ("linearsvc-tabular", "tabular_binary", lambda: sc.LinearSVC(maxIter=10), svm.LinearSVC),
    ("nb-multinomial-mnist", "mnist", lambda: sc.NaiveBayes(), naive_bayes.MultinomialNB),
    ("nb-gaussian-tabular", "tabular_multi",
     lambda: sc.NaiveBayes(modelType="gaussian"), naive_bayes.GaussianNB),
    ("mlp-binary-tabular", "tabular_binary",
     lambda: sc.MultilayerPerceptronClassifier(layers=[8, 6, 2], maxIter=50, seed=1),
     neural_network.MLPClassifier),
    ("mlp-multi-tabular", "tabular_multi",
     lambda: sc.MultilayerPerceptronClassifier(layers=[8, 5, 4, 3], maxIter=50, seed=1),
     neural_network.MLPClassifier),
    ("dt-multi-tabular", "tabular_multi",
     lambda: sc.DecisionTreeClassifier(maxDepth=5), tree.DecisionTreeClassifier),
    ("dt-mnist", "mnist",
     lambda: sc.DecisionTreeClassifier(maxDepth=6), tree.DecisionTreeClassifier),
    ("rf-multi-tabular", "tabular_multi",
     lambda: sc.RandomForestClassifier(numTrees=8, maxDepth=4, seed=3),
     ensemble.RandomForestClassifier),
    ("gbt-tabular", "tabular_binary",
     lambda: sc.GBTClassifier(maxIter=8, maxDepth=3, seed=4),
     ensemble.GradientBoostingClassifier),
    ("ovr-linearsvc-tabular", "tabular_multi",
     lambda: sc.OneVsRest(classifier=sc.LinearSVC(maxIter=10)), multiclass.OneVsRestClassifier),
    ("ovr-gbt-tabular", "tabular_multi",
     lambda: sc.OneVsRest(classifier=sc.GBTClassifier(maxIter=3, maxDepth=2, seed=4)),
     multiclass.OneVsRestClassifier),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "factory", "expected"),
    [
        pytest.param(d, f, e, id=i, marks=[pytest.mark.slow] if d.startswith("mnist") else [])
        for i, d, f, e in FAMILIES
    ],
    indirect=["data"],
)
def test_family_parity(data, factory, expected):
    model = factory().fit(data.train)

    result = export_model(model, data.test)

    assert type(result.estimator) is expected
    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["rows"] == data.test.count()
    error = result.parity["max_proba_error"]
    if expected in (svm.LinearSVC, multiclass.OneVsRestClassifier):
        assert error is None
        assert result.parity["max_decision_error"] <= 1e-6
    else:
        assert 0.0 <= error <= 1e-6
    assert result.classes == list(range(data.n_classes))
    assert_matches_spark(model, result.estimator, data.test, np.arange(data.n_classes))


def test_bernoulli_naive_bayes_on_binarized_pixels(spark, mnist_arrays):
    x, y = mnist_arrays
    split = to_frames(spark, (x > 0.5).astype(float), y, n_test=100)
    model = sc.NaiveBayes(modelType="bernoulli").fit(split.train)

    result = export_model(model, split.test)

    assert isinstance(result.estimator, naive_bayes.BernoulliNB)
    assert result.parity["passed"] is True
    assert_matches_spark(model, result.estimator, split.test, np.arange(10))
