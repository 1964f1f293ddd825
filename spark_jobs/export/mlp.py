"""MultilayerPerceptronClassificationModel → MLPClassifier.

Spark's network is affine → sigmoid for every hidden layer and affine → softmax at the
output, which is MLPClassifier with ``activation="logistic"``.  Spark keeps all weights
in one flat vector: per layer, the ``out × in`` matrix in column-major order (i.e. an
``in × out`` matrix in row-major order, exactly sklearn's ``coefs_[i]``), then ``out``
biases.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import LabelBinarizer

from .checks import describe, reject_class_thresholds
from .errors import UnsupportedStage


def split_layers(weights: np.ndarray, layers: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut Spark's flat weight vector into ``(W in×out, b)`` pairs, one per layer."""
    pairs = []
    offset = 0
    for n_in, n_out in pairwise(layers):
        w = weights[offset : offset + n_in * n_out].reshape(n_in, n_out)
        offset += n_in * n_out
        b = weights[offset : offset + n_out]
        offset += n_out
        pairs.append((w.copy(), b.copy()))
    if offset != len(weights):
        raise UnsupportedStage(f"MLP weights: expected {offset} values, got {len(weights)}")
    return pairs


def convert_mlp(model: Any, classes: np.ndarray) -> MLPClassifier:
    """Build a fitted MLPClassifier.

    With two classes sklearn uses one logistic output unit instead of a 2-way softmax;
    ``softmax([z0, z1])[1] == sigmoid(z1 - z0)``, so the last layer collapses to
    ``W[:, 1] - W[:, 0]`` and ``b1 - b0``.
    """
    reject_class_thresholds(model)
    layers = [int(n) for n in model.getLayers()]
    if layers[-1] != len(classes):
        raise UnsupportedStage(
            f"{describe(model)}: {layers[-1]} output units but {len(classes)} labels"
        )
    pairs = split_layers(model.weights.toArray().astype(np.float64), layers)
    binary = len(classes) == 2
    if binary:
        w, b = pairs[-1]
        pairs[-1] = ((w[:, 1] - w[:, 0])[:, np.newaxis], b[1:] - b[:1])
    estimator = MLPClassifier(hidden_layer_sizes=tuple(layers[1:-1]), activation="logistic")
    estimator.coefs_ = [w for w, _ in pairs]
    estimator.intercepts_ = [b for _, b in pairs]
    estimator.n_layers_ = len(layers)
    estimator.n_outputs_ = 1 if binary else len(classes)
    estimator.out_activation_ = "logistic" if binary else "softmax"
    estimator.n_features_in_ = layers[0]
    estimator.classes_ = classes
    estimator._label_binarizer = _label_binarizer(classes)
    return estimator


def _label_binarizer(classes: np.ndarray) -> LabelBinarizer:
    """A LabelBinarizer that decodes to ``classes`` in Spark's index order.

    ``LabelBinarizer.fit`` would sort the labels, but Spark's order (e.g. a
    StringIndexer's frequency order) is what the output units mean.
    """
    binarizer = LabelBinarizer()
    binarizer.fit(np.arange(len(classes)))
    binarizer.classes_ = classes
    return binarizer
