"""OneVsRestModel → OneVsRestClassifier, for bases whose Spark confidence sklearn can score.

Spark scores class i with ``rawPrediction[1]`` of binary model i and predicts the first
argmax; OneVsRestClassifier scores class i with binary estimator i's
``decision_function`` and takes the argmax (the last one on an exact tie, which only
continuous scores make negligible).  So each base must become an estimator whose
decision function is Spark's ``rawPrediction[1]``, or one fixed multiple of it:

* LinearSVC, binomial LogisticRegression, FMClassifier: ``rawPrediction = [−m, m]`` and
  the converted classifier's decision function is m;
* GBT: sklearn's log-odds are 2× Spark's margin (see ``decision_scale``);
* NaiveBayes: ``rawPrediction[1]`` is class 1's joint log likelihood, held by a
  LinearSVC: multinomial ``π₁ + x·θ₁``; bernoulli the same with the ``log(1 − e^θ)``
  terms folded in as BernoulliNB does; gaussian ``π₁ − ½(Σ ((x − μ)/σ)² + Σ log σ²)``
  (Spark's form, no 2π term) as StandardScaler(μ, σ) → ``numpy.square`` → a LinearSVC
  with weights −½.  (Expanding the square over ``[x, x²]`` instead cancels
  catastrophically when a variance is tiny, e.g. a constant column.)

Refused: tree and random-forest bases (their confidences are leaf counts or averaged
probabilities, where exact ties are common and the two libraries break them differently),
MLP (sklearn's binary MLP has no decision function for one output unit) and complement
NaiveBayes (its confidence is a normalised log probability, not a linear score).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pyspark.ml.classification import (
    FMClassificationModel,
    GBTClassificationModel,
    LinearSVCModel,
    LogisticRegressionModel,
    NaiveBayesModel,
)
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, LabelBinarizer, StandardScaler
from sklearn.svm import LinearSVC

from .checks import describe
from .errors import UnsupportedStage

CONVERTED = (LinearSVCModel, LogisticRegressionModel, GBTClassificationModel, FMClassificationModel)
_SCORED_NB = ("multinomial", "bernoulli", "gaussian")
_SUPPORTED = (
    "supported: LinearSVC, binomial LogisticRegression, GBT, FMClassifier, "
    "multinomial, bernoulli or gaussian NaiveBayes"
)


def decision_scale(model: Any) -> float:
    """sklearn decision_function ÷ Spark rawPrediction for this OneVsRestModel."""
    return 2.0 if isinstance(model.models[0], GBTClassificationModel) else 1.0


def probe_one_vs_rest(model: Any) -> None:
    """Refuse bases whose confidence has no exact sklearn decision function."""
    for sub in model.models:
        if isinstance(sub, NaiveBayesModel) and sub.getModelType() in _SCORED_NB:
            continue
        if not isinstance(sub, CONVERTED):
            raise UnsupportedStage(
                f"{describe(model)}: base model {describe(sub)} is not supported ({_SUPPORTED}); "
                "tree bases tie on leaf counts, MLP and complement NaiveBayes confidences "
                "are not one sklearn decision function"
            )
        if isinstance(sub, LogisticRegressionModel) and sub.coefficientMatrix.numRows != 1:
            raise UnsupportedStage(f"{describe(sub)}: one-vs-rest base must be binomial")


def convert_one_vs_rest(
    model: Any, classes: np.ndarray, convert: Callable[[Any, np.ndarray], Any]
) -> OneVsRestClassifier:
    """Convert each binary model and wrap them in a OneVsRestClassifier."""
    if len(classes) < 3:
        raise UnsupportedStage(f"{describe(model)}: one-vs-rest needs 3+ classes for sklearn")
    probe_one_vs_rest(model)
    binary = np.array([0, 1])
    estimators = [
        naive_bayes_score(sub) if isinstance(sub, NaiveBayesModel) else convert(sub, binary)
        for sub in model.models
    ]
    estimator = OneVsRestClassifier(estimator=clone(estimators[0]))
    estimator.estimators_ = estimators
    binarizer = LabelBinarizer(sparse_output=True)
    binarizer.fit(np.arange(len(classes)))
    binarizer.classes_ = classes
    estimator.label_binarizer_ = binarizer
    estimator.classes_ = classes
    estimator.n_features_in_ = estimators[0].n_features_in_
    return estimator


def naive_bayes_score(model: Any) -> Any:
    """An estimator whose decision function is the binary NB's ``rawPrediction[1]``."""
    pi = model.pi.toArray().astype(np.float64)
    theta = model.theta.toArray().astype(np.float64)
    if model.getModelType() == "gaussian":
        return _gaussian_score(pi[1], theta[1], model.sigma.toArray()[1].astype(np.float64))
    weights, bias = theta[1], pi[1]
    if model.getModelType() == "bernoulli":
        absent = np.log1p(-np.exp(theta[1]))
        weights, bias = theta[1] - absent, pi[1] + absent.sum()
    return _linear_score(weights, bias)


def _gaussian_score(prior: float, mean: np.ndarray, var: np.ndarray) -> Pipeline:
    """``prior − ½(Σ ((x − μ)/σ)² + Σ log σ²)``: standardise, square, sum with −½."""
    standardize = StandardScaler()
    standardize.mean_, standardize.var_, standardize.scale_ = mean, var, np.sqrt(var)
    standardize.n_features_in_, standardize.n_samples_seen_ = len(mean), 1
    square = FunctionTransformer(np.square).fit(np.zeros((1, len(mean))))
    bias = prior - 0.5 * np.sum(np.log(var))
    score = _linear_score(np.full(len(mean), -0.5), bias)
    return Pipeline([("standardize", standardize), ("square", square), ("score", score)])


def _linear_score(weights: np.ndarray, bias: float) -> LinearSVC:
    estimator = LinearSVC()
    estimator.coef_ = weights[np.newaxis, :]
    estimator.intercept_ = np.array([bias])
    estimator.classes_ = np.array([0, 1])
    estimator.n_features_in_ = len(weights)
    return estimator
