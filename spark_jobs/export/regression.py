"""LinearRegressionModel → LinearRegression (GLMs are in ``glm``).

Spark predicts ``X @ w + b`` whatever the loss (squared or huber) and regularisation; the
learned numbers are copied into a fitted LinearRegression, never refitted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression


def linear_regression(coef: np.ndarray, intercept: float) -> LinearRegression:
    """A fitted LinearRegression predicting ``X @ coef + intercept``."""
    estimator = LinearRegression()
    estimator.coef_ = coef
    estimator.intercept_ = float(intercept)
    estimator.n_features_in_ = len(coef)
    estimator.rank_ = len(coef)
    estimator.singular_ = np.ones(len(coef))
    return estimator


def convert_linear_regression(model: Any) -> LinearRegression:
    """LinearRegressionModel (any loss/regularisation): prediction is ``X @ w + b``."""
    coef = model.coefficients.toArray().astype(np.float64)
    return linear_regression(coef, float(model.intercept))
