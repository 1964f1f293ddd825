"""OneVsRestModel → OneVsRestClassifier, for bases whose Spark confidence sklearn can score.

Spark scores class i with ``rawPrediction[1]`` of binary model i and predicts the first
argmax; OneVsRestClassifier scores class i with binary estimator i's
``decision_function`` and takes the argmax (the last one on an exact tie, which only
continuous scores make negligible).  So each base must become an estimator whose
decision function is Spark's ``rawPrediction[1]``, or one fixed multiple of it:

* LinearSVC, binomial LogisticRegression, FMClassifier: ``rawPrediction = [−m, m]`` and
  the converted classifier's decision function is m;
* GBT: sklearn's log-odds are 2× Spark's margin (see ``decision_scale``);
* multinomial and bernoulli NaiveBayes: ``rawPrediction[1]`` is class 1's joint log
  likelihood, linear in x, held by a LinearSVC (prior + x·θ₁; for bernoulli the
  ``log(1 − e^θ)`` terms folded in as BernoulliNB does).

Refused: tree and random-forest bases (their confidences are leaf counts or averaged
probabilities, where exact ties are common and the two libraries break them differently),
MLP (sklearn's binary MLP has no decision function for one output unit) and gaussian or
complement NaiveBayes (not linear in x).
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
from sklearn.preprocessing import LabelBinarizer
from sklearn.svm import LinearSVC

from .checks import describe
from .errors import UnsupportedStage

CONVERTED = (LinearSVCModel, LogisticRegressionModel, GBTClassificationModel, FMClassificationModel)
_LINEAR_NB = ("multinomial", "bernoulli")
_SUPPORTED = (
    "supported: LinearSVC, binomial LogisticRegression, GBT, FMClassifier, "
    "multinomial or bernoulli NaiveBayes"
)


def decision_scale(model: Any) -> float:
    """sklearn decision_function ÷ Spark rawPrediction for this OneVsRestModel."""
    return 2.0 if isinstance(model.models[0], GBTClassificationModel) else 1.0


def probe_one_vs_rest(model: Any) -> None:
    """Refuse bases whose confidence has no exact sklearn decision function."""
    for sub in model.models:
        if isinstance(sub, NaiveBayesModel) and sub.getModelType() in _LINEAR_NB:
            continue
        if not isinstance(sub, CONVERTED):
            raise UnsupportedStage(
                f"{describe(model)}: base model {describe(sub)} is not supported ({_SUPPORTED}); "
                "tree bases tie on leaf counts, MLP and gaussian/complement NaiveBayes "
                "confidences are not one linear decision"
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


def naive_bayes_score(model: Any) -> LinearSVC:
    """A LinearSVC whose decision function is the binary NB's ``rawPrediction[1]``."""
    pi = model.pi.toArray().astype(np.float64)
    theta = model.theta.toArray().astype(np.float64)
    weights, bias = theta[1], pi[1]
    if model.getModelType() == "bernoulli":
        absent = np.log1p(-np.exp(theta[1]))
        weights, bias = theta[1] - absent, pi[1] + absent.sum()
    estimator = LinearSVC()
    estimator.coef_ = weights[np.newaxis, :]
    estimator.intercept_ = np.array([bias])
    estimator.classes_ = np.array([0, 1])
    estimator.n_features_in_ = len(weights)
    return estimator
