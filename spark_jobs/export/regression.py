"""Linear regressors: LinearRegressionModel and GeneralizedLinearRegressionModel.

Spark predicts ``link⁻¹(X @ w + b)``; scikit-learn's linear models and GLMs predict the
same expression, with the link fixed by the estimator class.  Only the link matters for
prediction (the family shapes the fit, not the formula), so every Spark family/link pair
whose link sklearn has (identity, log) maps exactly; the others are refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import (
    GammaRegressor,
    LinearRegression,
    PoissonRegressor,
    TweedieRegressor,
)

from .checks import describe, param_is_set
from .errors import UnsupportedStage

_DEFAULT_LINKS = {"gaussian": "identity", "binomial": "logit", "poisson": "log", "gamma": "inverse"}


def _linear_regression(coef: np.ndarray, intercept: float) -> LinearRegression:
    estimator = LinearRegression()
    estimator.coef_ = coef
    estimator.intercept_ = float(intercept)
    estimator.n_features_in_ = len(coef)
    estimator.rank_ = len(coef)
    estimator.singular_ = np.ones(len(coef))
    return estimator


def _weights(model: Any) -> tuple[np.ndarray, float]:
    return model.coefficients.toArray().astype(np.float64), float(model.intercept)


def convert_linear_regression(model: Any) -> LinearRegression:
    """LinearRegressionModel (any loss/regularisation): prediction is ``X @ w + b``."""
    coef, intercept = _weights(model)
    return _linear_regression(coef, intercept)


def glm_link(model: Any) -> str:
    """Spark's effective link: set explicitly, else the family's default.

    Tweedie has no ``link``; its ``linkPower`` (default ``1 − variancePower``) decides:
    0 is log, 1 is identity, anything else a power link sklearn lacks.
    """
    family = model.getFamily()
    if family == "tweedie":
        power = (
            model.getLinkPower()
            if param_is_set(model, "linkPower")
            else 1.0 - model.getVariancePower()
        )
        return {0.0: "log", 1.0: "identity"}.get(float(power), f"power({power:g})")
    if param_is_set(model, "link"):
        return model.getLink()
    return _DEFAULT_LINKS.get(family, "?")


def convert_glm(model: Any) -> Any:
    """GeneralizedLinearRegressionModel → the sklearn estimator with the same link.

    identity: LinearRegression for gaussian, else TweedieRegressor(link="identity");
    log: PoissonRegressor (poisson), GammaRegressor (gamma), TweedieRegressor otherwise.
    """
    family, link = model.getFamily(), glm_link(model)
    if param_is_set(model, "offsetCol"):
        raise UnsupportedStage(
            f"{describe(model)}: offsetCol={model.getOffsetCol()!r} is not supported; "
            "scikit-learn GLMs have no offset"
        )
    coef, intercept = _weights(model)
    if link == "identity" and family == "gaussian":
        return _linear_regression(coef, intercept)
    power = _tweedie_power(model, family)
    if link == "identity":
        estimator = TweedieRegressor(power=power, link="identity")
    elif link == "log" and family == "poisson":
        estimator = PoissonRegressor()
    elif link == "log" and family == "gamma":
        estimator = GammaRegressor()
    elif link == "log":
        estimator = TweedieRegressor(power=power, link="log")
    else:
        raise UnsupportedStage(
            f"{describe(model)}: family={family!r} with link={link!r} has no scikit-learn "
            "equivalent (sklearn GLMs support the identity and log links); retrain with "
            "link='log' or link='identity'"
        )
    estimator.coef_ = coef
    estimator.intercept_ = intercept
    estimator.n_features_in_ = len(coef)
    estimator._base_loss = estimator._get_loss()
    return estimator


def _tweedie_power(model: Any, family: str) -> float:
    """The Tweedie power of the family (only documents the model; predict ignores it)."""
    powers = {"gaussian": 0.0, "poisson": 1.0, "gamma": 2.0}
    if family == "tweedie":
        return float(model.getVariancePower())
    if family in powers:
        return powers[family]
    raise UnsupportedStage(
        f"{describe(model)}: family={family!r} is not supported "
        "(supported: gaussian, poisson, gamma, tweedie)"
    )
