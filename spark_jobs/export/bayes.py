"""NaiveBayesModel → MultinomialNB / BernoulliNB / GaussianNB / ComplementNB.

Spark stores log priors (``pi``) and per-class log likelihoods (``theta``); the joint
log likelihood and its softmax are the same formulas scikit-learn uses, so the learned
attributes are copied, never refitted.  Complement NB scores ``x·θ_c`` with no prior
and normalises with a log-sum-exp, which is ComplementNB's ``predict_proba`` given
``feature_log_prob_ = θ`` (sklearn's ``norm`` only shapes θ at fit time; Spark's θ is
copied as stored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.naive_bayes import BernoulliNB, ComplementNB, GaussianNB, MultinomialNB

from .checks import describe, reject_class_thresholds
from .errors import UnsupportedStage


def convert_naive_bayes(model: Any, classes: np.ndarray) -> Any:
    """Dispatch on Spark's ``modelType``."""
    reject_class_thresholds(model)
    pi = model.pi.toArray().astype(np.float64)
    theta = model.theta.toArray().astype(np.float64)
    if len(pi) != len(classes):
        raise UnsupportedStage(f"{describe(model)}: {len(pi)} classes but {len(classes)} labels")
    kind = model.getModelType()
    if kind == "multinomial":
        estimator = MultinomialNB()
        estimator.feature_log_prob_ = theta
    elif kind == "bernoulli":
        # Spark scores x·(θ − log(1 − e^θ)) + Σ log(1 − e^θ); BernoulliNB does the same
        # with binarize=None (Spark already requires 0/1 features).
        estimator = BernoulliNB(binarize=None)
        estimator.feature_log_prob_ = theta
    elif kind == "complement":
        estimator = ComplementNB()
        estimator.feature_log_prob_ = theta
    elif kind == "gaussian":
        return _gaussian(model, classes, pi, theta)
    else:
        raise UnsupportedStage(
            f"{describe(model)}: modelType={kind!r} is not supported "
            "(supported: multinomial, bernoulli, gaussian, complement)"
        )
    estimator.class_log_prior_ = pi
    estimator.classes_ = classes
    estimator.n_features_in_ = theta.shape[1]
    return estimator


def _gaussian(model: Any, classes: np.ndarray, pi: np.ndarray, theta: np.ndarray) -> GaussianNB:
    """Spark's ``theta`` holds means and ``sigma`` variances, as GaussianNB's theta_/var_."""
    estimator = GaussianNB()
    estimator.theta_ = theta
    estimator.var_ = model.sigma.toArray().astype(np.float64)
    estimator.class_prior_ = np.exp(pi)
    estimator.classes_ = classes
    estimator.n_features_in_ = theta.shape[1]
    return estimator
