"""GeneralizedLinearRegressionModel → stock scikit-learn, for every link with an exact form.

Spark's ``prediction`` is the mean ``project(unlink(X @ w + b))``: only the link and the
family's ``project`` shape it (the family otherwise shapes the fit, not the formula).

* ``unlink``: identity and log keep sklearn's own GLMs (LinearRegression, Poisson/Gamma/
  TweedieRegressor), which serving computes in closed form.  Every other inverse link is
  a composition of numpy/scipy ufuncs (logit → ``expit``, probit → ``ndtr``, cloglog →
  ``−expm1(−exp(η))``, inverse → ``reciprocal``, sqrt → ``square``, Tweedie power links
  with ``1/p`` in ±1, ±2, ±½) applied by nested TransformedTargetRegressors around a
  LinearRegression holding ``w, b``.  Ufuncs pickle by name, so the artifact holds no
  custom code.
* ``project``: poisson, gamma and tweedie clamp a mean below 1e-16 to 1e-16 (binomial
  clamps to [1e-16, 1 − 1e-16], within any tolerance of the unclamped value).  Links that
  can go negative there (identity, inverse) get the clamp as a StackingRegressor whose
  final step is an IsotonicRegression on the line y = x clipped to [1e-16, max float].

``offsetCol`` is refused (sklearn has no offset); ``linkPredictionCol`` only adds a column
and does not change ``prediction``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import StackingRegressor
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor
from sklearn.preprocessing import FunctionTransformer

from .checks import describe, param_is_set
from .errors import UnsupportedStage
from .regression import linear_regression

EPSILON = 1e-16  # Spark's GeneralizedLinearRegression.epsilon
_DEFAULT_LINKS = {"gaussian": "identity", "binomial": "logit", "poisson": "log", "gamma": "inverse"}
_POSITIVE = ("poisson", "gamma", "tweedie")  # families whose project clamps at EPSILON
_NEGATE = (np.negative, np.negative)

# inverse link as (inverse, forward) ufunc pairs, innermost first
_UNLINKS: dict[str, tuple[tuple[Any, Any], ...]] = {
    "logit": ((expit, logit),),
    "probit": ((ndtr, ndtri),),
    "cloglog": ((np.exp, np.log), _NEGATE, (np.expm1, np.log1p), _NEGATE),
    "inverse": ((np.reciprocal, np.reciprocal),),
    "sqrt": ((np.square, np.sqrt),),
    "power(0.5)": ((np.square, np.sqrt),),
    "power(2)": ((np.sqrt, np.square),),
    "power(-0.5)": ((np.square, np.sqrt), (np.reciprocal, np.reciprocal)),
    "power(-2)": ((np.sqrt, np.square), (np.reciprocal, np.reciprocal)),
}
_SIGN_KEEPING = ("identity", "inverse")  # can fall below EPSILON on a positive family
_TWEEDIE_NAMES = {0.0: "log", 1.0: "identity", -1.0: "inverse"}
_SUPPORTED = "identity, log, logit, probit, cloglog, inverse, sqrt, power p with 1/p in ±1, ±2, ±½"


def glm_link(model: Any) -> str:
    """Spark's effective link: set explicitly, else the family's default.

    Tweedie has no ``link``; its ``linkPower`` p (default ``1 − variancePower``) decides:
    0 is log, 1 identity, −1 inverse, anything else ``power(p)`` (mean ``η^(1/p)``).
    """
    family = model.getFamily()
    if family == "tweedie":
        power = (
            model.getLinkPower()
            if param_is_set(model, "linkPower")
            else 1.0 - model.getVariancePower()
        )
        return _TWEEDIE_NAMES.get(float(power), f"power({power:g})")
    if param_is_set(model, "link"):
        return model.getLink()
    return _DEFAULT_LINKS.get(family, "?")


def glm_family(model: Any) -> str:
    """Spark's effective family: tweedie with variancePower 0, 1 or 2 *is* gaussian,
    poisson or gamma (``Family.fromParams``), which decides ``project``."""
    family = model.getFamily()
    if family == "tweedie":
        named = {0.0: "gaussian", 1.0: "poisson", 2.0: "gamma"}
        return named.get(float(model.getVariancePower()), family)
    return family


def convert_glm(model: Any) -> Any:
    """A fitted sklearn regressor predicting Spark's ``prediction`` (the mean)."""
    family, link = glm_family(model), glm_link(model)
    if param_is_set(model, "offsetCol"):
        raise UnsupportedStage(
            f"{describe(model)}: offsetCol={model.getOffsetCol()!r} is not supported; "
            "scikit-learn regressors have no offset"
        )
    if family not in (*_POSITIVE, "gaussian", "binomial"):
        raise UnsupportedStage(f"{describe(model)}: family={family!r} is not supported")
    coef = model.coefficients.toArray().astype(np.float64)
    intercept = float(model.intercept)
    if link == "identity" and family == "gaussian":
        return linear_regression(coef, intercept)
    if link == "log":
        return _log_link(family, model, coef, intercept)
    if link != "identity" and link not in _UNLINKS:
        raise UnsupportedStage(
            f"{describe(model)}: family={family!r} with link={link!r} has no exact "
            f"scikit-learn form (supported links: {_SUPPORTED}); retrain with link='log'"
        )
    mean = linear_regression(coef, intercept)
    for inverse, forward in _UNLINKS.get(link, ()):
        mean = _transformed(mean, inverse, forward)
    if family in _POSITIVE and link in _SIGN_KEEPING:
        return _clamped(mean)
    return mean


def _log_link(family: str, model: Any, coef: np.ndarray, intercept: float) -> Any:
    """exp(η) as sklearn's own GLM class (its link is log); project cannot bind (exp > 0)."""
    if family == "poisson":
        estimator = PoissonRegressor()
    elif family == "gamma":
        estimator = GammaRegressor()
    else:
        powers = {"gaussian": 0.0, "binomial": 0.0}
        power = float(model.getVariancePower()) if family == "tweedie" else powers[family]
        estimator = TweedieRegressor(power=power, link="log")
    estimator.coef_ = coef
    estimator.intercept_ = intercept
    estimator.n_features_in_ = len(coef)
    estimator._base_loss = estimator._get_loss()
    return estimator


def _transformed(regressor: Any, inverse: Any, forward: Any) -> TransformedTargetRegressor:
    """``inverse(regressor.predict(X))`` as a fitted TransformedTargetRegressor."""
    estimator = TransformedTargetRegressor(
        regressor=regressor, func=forward, inverse_func=inverse, check_inverse=False
    )
    transformer = FunctionTransformer(
        func=forward, inverse_func=inverse, validate=False, check_inverse=False
    )
    estimator.transformer_ = transformer.fit(np.zeros((1, 1)))
    estimator.regressor_ = regressor
    estimator._training_dim = 1
    return estimator


def _clamped(regressor: Any) -> StackingRegressor:
    """max(EPSILON, regressor.predict(X)), as Spark's poisson/gamma/tweedie ``project``."""
    clip = IsotonicRegression(out_of_bounds="clip")
    bounds = np.array([EPSILON, sys.float_info.max])
    clip.X_thresholds_ = clip.y_thresholds_ = bounds
    clip.X_min_, clip.X_max_ = float(bounds[0]), float(bounds[1])
    clip.increasing_ = True
    clip.n_features_in_ = 1
    clip._build_f(bounds, bounds)
    estimator = StackingRegressor(estimators=[("mean", regressor)], final_estimator=clip)
    estimator.estimators_ = [regressor]
    estimator.named_estimators_ = {"mean": regressor}
    estimator.final_estimator_ = clip
    estimator.stack_method_ = ["predict"]
    return estimator
