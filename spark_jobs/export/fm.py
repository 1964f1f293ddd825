"""FMClassificationModel / FMRegressionModel → PolynomialFeatures + a linear model.

Spark's factorization machine scores ``ŷ = w0 + w·x + Σ_{i<j} <v_i, v_j> x_i x_j``
(computed as ``½ Σ_f [(Σ_i v_if x_i)² − Σ_i v_if² x_i²]``, the same sum).  The pairwise
products are ``PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)``,
whose columns are ``x_0 … x_{n−1}`` then ``x_i x_j`` for i < j in row-major order, so a
linear model with coefficients ``[w, (V Vᵀ)_{ij} for i < j]`` and intercept ``w0`` gives
ŷ exactly: LinearRegression for the regressor, LogisticRegression for the classifier
(Spark's probability is ``sigmoid(ŷ)``, its raw prediction ``[−ŷ, ŷ]``).  The stored
intercept and linear terms are used whatever ``fitIntercept``/``fitLinear`` were (unfitted
terms are stored as zeros).  The pairwise expansion has n(n−1)/2 columns, so inputs wider
than ``MAX_WIDTH`` are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures

from .checks import describe, param_is_set, reject_class_thresholds, require_binary
from .errors import UnsupportedStage
from .regression import linear_regression

MAX_WIDTH = 200  # 19,900 pairwise columns: 160 kB of float64 per row


def probe_fm(model: Any) -> None:
    """Refuse inputs too wide for the pairwise expansion, and classifier thresholds."""
    width = int(model.numFeatures)
    if width > MAX_WIDTH:
        raise UnsupportedStage(
            f"{describe(model)}: {width} input features would expand to "
            f"{width * (width - 1) // 2} pairwise columns; the exact export supports at most "
            f"{MAX_WIDTH} inputs (reduce them, e.g. with a selector, before the FM)"
        )
    reject_class_thresholds(model)
    if param_is_set(model, "threshold") and model.getThreshold() != 0.5:
        raise UnsupportedStage(
            f"{describe(model)}: threshold={model.getThreshold()} is not supported; "
            "scikit-learn predicts with probability > 0.5. Retrain with the default threshold."
        )


def fm_weights(model: Any) -> tuple[np.ndarray, float]:
    """The linear model's coefficients over PolynomialFeatures' columns, and w0."""
    probe_fm(model)
    linear = model.linear.toArray().astype(np.float64)
    factors = model.factors.toArray().astype(np.float64)
    pairs = factors @ factors.T
    upper = np.triu_indices(len(linear), k=1)  # row-major i < j: PolynomialFeatures' order
    return np.concatenate([linear, pairs[upper]]), float(model.intercept)


def _pairwise(width: int) -> PolynomialFeatures:
    expansion = PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)
    return expansion.fit(np.zeros((1, width)))  # stateless: fit only records the width


def convert_fm_regressor(model: Any) -> Pipeline:
    """FMRegressionModel → PolynomialFeatures + LinearRegression."""
    coef, intercept = fm_weights(model)
    width = int(model.numFeatures)
    return Pipeline([("pairs", _pairwise(width)), ("fm", linear_regression(coef, intercept))])


def convert_fm_classifier(model: Any, classes: np.ndarray) -> Pipeline:
    """FMClassificationModel (binary) → PolynomialFeatures + LogisticRegression."""
    require_binary(model, classes)
    coef, intercept = fm_weights(model)
    width = int(model.numFeatures)
    logistic = LogisticRegression()
    logistic.coef_ = coef[np.newaxis, :]
    logistic.intercept_ = np.array([intercept])
    logistic.classes_ = classes
    logistic.n_features_in_ = len(coef)
    return Pipeline([("pairs", _pairwise(width)), ("fm", logistic)])
