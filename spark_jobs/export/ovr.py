"""OneVsRestModel → OneVsRestClassifier, for binary-only families on multiclass data.

Spark scores class i with ``rawPrediction[1]`` of binary model i and predicts the first
argmax; OneVsRestClassifier scores class i with binary estimator i's
``decision_function`` and also takes the first argmax.  The two agree for base models
whose sklearn decision is Spark's raw margin (LinearSVC, binomial LogisticRegression) or
a fixed multiple of it (GBT: sklearn's log-odds are 2× Spark's margin; see
``decision_scale``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pyspark.ml.classification import (
    GBTClassificationModel,
    LinearSVCModel,
    LogisticRegressionModel,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import LabelBinarizer

from .checks import describe
from .errors import UnsupportedStage

BASE_TYPES = (LinearSVCModel, LogisticRegressionModel, GBTClassificationModel)


def decision_scale(model: Any) -> float:
    """sklearn decision_function ÷ Spark rawPrediction for this OneVsRestModel."""
    return 2.0 if isinstance(model.models[0], GBTClassificationModel) else 1.0


def convert_one_vs_rest(
    model: Any, classes: np.ndarray, convert: Callable[[Any, np.ndarray], Any]
) -> OneVsRestClassifier:
    """Convert each binary model with ``convert`` and wrap them in a OneVsRestClassifier."""
    if len(classes) < 3:
        raise UnsupportedStage(f"{describe(model)}: one-vs-rest needs 3+ classes for sklearn")
    for sub in model.models:
        if not isinstance(sub, BASE_TYPES):
            raise UnsupportedStage(
                f"{describe(model)}: base model {describe(sub)} is not supported "
                "(supported: LinearSVC, binomial LogisticRegression, GBT)"
            )
        if isinstance(sub, LogisticRegressionModel) and sub.coefficientMatrix.numRows != 1:
            raise UnsupportedStage(f"{describe(sub)}: one-vs-rest base must be binomial")
    estimators = [convert(sub, np.array([0, 1])) for sub in model.models]
    estimator = OneVsRestClassifier(estimator=type(estimators[0])())
    estimator.estimators_ = estimators
    binarizer = LabelBinarizer(sparse_output=True)
    binarizer.fit(np.arange(len(classes)))
    binarizer.classes_ = classes
    estimator.label_binarizer_ = binarizer
    estimator.classes_ = classes
    estimator.n_features_in_ = estimators[0].n_features_in_
    return estimator
