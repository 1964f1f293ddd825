"""Model: the compiled fast path matches scikit-learn exactly, or is not used."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC

from artifacts.runtime import Model

RNG = np.random.default_rng(0)
X = RNG.random((120, 6))
Y3 = (X[:, 0] * 3).astype(int)
Y2 = np.where(X[:, 1] > 0.5, "yes", "no")
SCHEMA = {"input_schema": {"type": "tabular", "features": 6}}


def serve(estimator) -> Model:
    return Model.from_artifact("m", "1", estimator, SCHEMA)


@pytest.mark.parametrize(
    ("estimator", "y", "compiled"),
    [
        (LogisticRegression(), Y3, True),
        (LogisticRegression(), Y2, True),
        (make_pipeline(StandardScaler(), LogisticRegression()), Y3, True),
        (
            make_pipeline(MinMaxScaler(), StandardScaler(with_mean=False), LogisticRegression()),
            Y2,
            True,
        ),
        (make_pipeline(MinMaxScaler(clip=True), LogisticRegression()), Y3, False),
        (RandomForestClassifier(n_estimators=5, random_state=0), Y3, False),
        (MultinomialNB(), Y3, False),
    ],
)
def test_probabilities_and_labels_match_sklearn(estimator, y, compiled):
    estimator.fit(X, y)
    model = serve(estimator)
    assert model.fast_path is compiled
    rows = RNG.random((50, 6)) * 2 - 0.5
    prediction = model.predict(rows)
    np.testing.assert_allclose(prediction.probabilities, estimator.predict_proba(rows), atol=1e-9)
    np.testing.assert_array_equal(model.classes[prediction.indices], estimator.predict(rows))


def test_model_without_probabilities_predicts_labels():
    estimator = LinearSVC().fit(X, Y3)
    model = serve(estimator)
    prediction = model.predict(X[:20])
    assert prediction.probabilities is None
    assert not model.has_probabilities
    np.testing.assert_array_equal(model.classes[prediction.indices], estimator.predict(X[:20]))


def test_regressors_predict_floats():
    from sklearn.linear_model import LinearRegression

    estimator = LinearRegression().fit(X, X[:, 0] * 3)
    model = serve(estimator)
    assert model.task == "regression"
    assert not model.is_classifier
    prediction = model.predict(X[:5])
    assert prediction.indices is None
    assert prediction.values.dtype == np.float64
    np.testing.assert_allclose(model.answers(prediction), estimator.predict(X[:5]))


def test_a_model_of_unknown_kind_is_refused():
    from sklearn.cluster import KMeans

    with pytest.raises(ValueError, match="not described"):
        serve(KMeans(n_clusters=2, n_init=1).fit(X))


def test_original_labels_come_from_the_output_schema():
    estimator = LogisticRegression().fit(X, Y3)  # classes_ 0, 1, 2 as Spark's label indices
    manifest = {
        **SCHEMA,
        "output_schema": {"task": "classification", "classes": ["setosa", "versicolor", "x"]},
    }
    model = Model.from_artifact("m", "1", estimator, manifest)
    answers = model.answers(model.predict(X[:10]))
    expected = np.array(["setosa", "versicolor", "x"])[estimator.predict(X[:10])]
    assert answers == expected.tolist()


def test_feature_count_comes_from_the_manifest_or_estimator():
    estimator = LogisticRegression().fit(X, Y3)
    assert Model.from_artifact("m", "1", estimator, {}).n_features == 6
    image = {"input_schema": {"type": "image/mnist-28x28", "features": 6, "range": [0, 1]}}
    model = Model.from_artifact("m", "1", estimator, image)
    assert model.accepts_images
    assert model.value_range == (0, 1)
