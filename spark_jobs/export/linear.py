"""Linear classifiers: LogisticRegressionModel and LinearSVCModel.

Both map exactly because Spark and scikit-learn compute the same margin ``X @ w + b``
on the original feature scale (Spark un-standardizes coefficients after fitting), then
apply the same link: sigmoid for two classes, softmax for more, sign for the SVM.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from .checks import describe, param_is_set, reject_class_thresholds, require_binary
from .errors import UnsupportedStage


def convert_logistic_regression(model: Any, classes: np.ndarray) -> LogisticRegression:
    """Build a fitted LogisticRegression with Spark's coefficients.

    sklearn (>= 1.5) scores two classes with a sigmoid of one margin and more classes
    with a softmax of K margins.  A binomial Spark model is already one margin; a
    multinomial one with K=2 collapses to ``w1 - w0`` because
    ``softmax([m0, m1])[1] == sigmoid(m1 - m0)``.
    """
    reject_class_thresholds(model)
    if param_is_set(model, "threshold") and model.getThreshold() != 0.5:
        raise UnsupportedStage(
            f"{describe(model)}: threshold={model.getThreshold()} is not supported; "
            "scikit-learn predicts with probability > 0.5. Retrain with the default threshold."
        )
    coef = model.coefficientMatrix.toArray().astype(np.float64)
    intercept = model.interceptVector.toArray().astype(np.float64)
    n_classes = model.numClasses
    if n_classes != len(classes):
        raise UnsupportedStage(f"{describe(model)}: {n_classes} classes but {len(classes)} labels")
    if n_classes == 2 and coef.shape[0] == 2:
        coef = coef[1:] - coef[:1]
        intercept = intercept[1:] - intercept[:1]
    estimator = LogisticRegression()
    estimator.coef_ = coef
    estimator.intercept_ = intercept
    estimator.classes_ = classes
    estimator.n_features_in_ = coef.shape[1]
    return estimator


def convert_linear_svc(model: Any, classes: np.ndarray) -> LinearSVC:
    """Build a fitted LinearSVC: Spark predicts 1 when ``margin > threshold`` (default 0).

    sklearn's LinearSVC predicts ``classes_[margin > 0]``, so only threshold 0 is exact.
    """
    require_binary(model, classes)
    if model.getThreshold() != 0.0:
        raise UnsupportedStage(
            f"{describe(model)}: threshold={model.getThreshold()} is not supported; "
            "scikit-learn's LinearSVC decides at margin 0. Retrain with threshold=0.0."
        )
    estimator = LinearSVC()
    estimator.coef_ = model.coefficients.toArray().astype(np.float64)[np.newaxis, :]
    estimator.intercept_ = np.array([model.intercept], dtype=np.float64)
    estimator.classes_ = classes
    estimator.n_features_in_ = estimator.coef_.shape[1]
    return estimator
