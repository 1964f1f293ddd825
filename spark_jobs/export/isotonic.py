"""IsotonicRegressionModel → IsotonicRegression (after a column pick on vector input).

Spark predicts by binary search in its ``boundaries``: below the first boundary the first
``prediction``, above the last the last one, on a boundary its prediction, in between the
straight line through the two neighbours.  A fitted IsotonicRegression whose thresholds
are those boundaries and predictions, with ``out_of_bounds='clip'``, computes the same:
it clips to [first, last] and interpolates linearly (scipy's ``interp1d``).  Antitonic
models (``isotonic=False``) store decreasing predictions over increasing boundaries, which
interpolate the same way.  Boundaries repeat where a pooled block begins and ends on the
same feature value; a repeated boundary with two different predictions is a step, where
Spark's binary search picks one of the two, so such a model is refused.  On a vector
column Spark reads ``featureIndex`` only, picked here by ``numpy.take``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from .checks import describe
from .errors import UnsupportedStage


def convert_isotonic(model: Any) -> Any:
    """A fitted IsotonicRegression, behind a pick of ``featureIndex`` for vector input."""
    boundaries = model.boundaries.toArray().astype(np.float64)
    predictions = model.predictions.toArray().astype(np.float64)
    steps = np.flatnonzero(np.diff(boundaries) == 0)
    if np.any(predictions[steps] != predictions[steps + 1]):
        raise UnsupportedStage(
            f"{describe(model)}: boundary {boundaries[steps[0]]:g} repeats with different "
            "predictions (a step), where Spark's binary search picks either side"
        )
    keep = np.concatenate([[True], np.diff(boundaries) != 0])
    estimator = _interpolating(boundaries[keep], predictions[keep], model.getIsotonic())
    pick = FunctionTransformer(
        np.take,
        kw_args={"indices": np.array([int(model.getFeatureIndex())]), "axis": 1},
        check_inverse=False,
    )
    width = int(model.numFeatures)
    return Pipeline([("feature", pick.fit(np.zeros((1, max(width, 1))))), ("isotonic", estimator)])


def _interpolating(x: np.ndarray, y: np.ndarray, increasing: bool) -> IsotonicRegression:
    estimator = IsotonicRegression(increasing=increasing, out_of_bounds="clip")
    estimator.X_thresholds_, estimator.y_thresholds_ = x, y
    estimator.X_min_, estimator.X_max_ = float(x[0]), float(x[-1])
    estimator.increasing_ = increasing
    estimator.n_features_in_ = 1
    estimator._build_f(x, y)
    return estimator
