"""Probability calibration: expected calibration error, and temperature scaling for the MLP.

``ece`` measures how far the predicted probabilities are from the observed accuracy (15
equal-width bins on the top probability, weighted by their share of rows). ``fit_temperature``
finds the one number ``T`` that minimises the negative log-likelihood of ``softmax(z / T)`` on
the validation split's logits ``z``; predictions (the argmax) do not change.

``temper_mlp`` makes the tempered network a Spark model again: dividing the last layer's weights
and biases by ``T`` gives exactly ``softmax(z / T)``, so the calibrated model is an ordinary
``MultilayerPerceptronClassificationModel`` — it is what the job evaluates, what the exporter
translates (a plain ``MLPClassifier`` with the same scaled last layer) and what the parity check
compares against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BINS = 15
_LOG_T_BOUNDS = (-4.0, 4.0)
"""Search interval for log T: T between e^-4 (sharpen) and e^4 (soften)."""


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``, computed stably."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: Σ_bins (rows in bin / rows) · |accuracy − mean confidence|.

    ``labels`` are class indices into the columns of ``probabilities``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if not len(p):
        return 0.0
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)  # (k/b, (k+1)/b], 1.0 → last
    total = 0.0
    for k in range(bins):
        members = which == k
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            total += members.mean() * gap
    return float(total)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes under ``softmax(logits / T)``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(z)), np.asarray(labels)].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL on (``logits``, ``labels``); 1.0 without rows."""
    from scipy.optimize import minimize_scalar

    if not len(logits):
        return 1.0
    found = minimize_scalar(
        lambda log_t: nll(logits, labels, float(np.exp(log_t))),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(found.x))


@dataclass(frozen=True)
class Scores:
    """One split's labels (as class indices) and one vector column: logits or probabilities."""

    labels: np.ndarray
    values: np.ndarray


def collect_scores(
    predictions: Any, column: str = "rawPrediction", label_col: str = "label"
) -> Scores:
    """Labels and a vector ``column`` of a transformed split, brought to the driver.

    Spark's output units are indexed by the label value itself (vector data is labelled
    0..k-1), so the label is the column index. Only k numbers per row travel (10 for digits).
    """
    rows = predictions.select(label_col, column).collect()
    if not rows:
        return Scores(np.zeros(0, dtype=int), np.zeros((0, 0)))
    values = np.vstack([r[1].toArray() for r in rows])
    labels = np.array([int(r[0]) for r in rows])
    return Scores(labels, values)


def temper_mlp(model: Any, temperature: float) -> Any:
    """A copy of a fitted Spark MLP whose last layer (weights and biases) is divided by T."""
    from pyspark import SparkContext
    from pyspark.ml.classification import MultilayerPerceptronClassificationModel
    from pyspark.ml.common import _py2java
    from pyspark.ml.linalg import DenseVector

    layers = [int(n) for n in model.getLayers()]
    weights = model.weights.toArray().astype(np.float64).copy()
    n_in, n_out = layers[-2], layers[-1]
    last = n_in * n_out + n_out  # the flat vector ends with the last layer's W then b
    weights[-last:] /= temperature
    context = SparkContext._active_spark_context
    jvm = context._jvm
    fitted = model._java_obj  # the fitted Java model: its params (layers, columns) are copied
    tempered = jvm.org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel(
        fitted.uid(), _py2java(context, DenseVector(weights))
    )
    fitted.copyValues(tempered, jvm.org.apache.spark.ml.param.ParamMap())
    return MultilayerPerceptronClassificationModel._from_java(tempered)
