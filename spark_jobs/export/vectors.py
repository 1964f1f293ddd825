"""Stateless vector transformers: Normalizer, Binarizer, ElementwiseProduct → sklearn.

Both act row by row with no learned state, so the sklearn transformer only needs Spark's
parameter: the norm (p = 1, 2 or ∞; sklearn has no other p) or the threshold.  Spark
divides each value by the row's p-norm and leaves an all-zero row alone, as sklearn's
``normalize`` does; Spark's Binarizer sets ``x > threshold`` to 1 and everything else to 0,
as sklearn's does.  ElementwiseProduct multiplies each value by its weight, which is the
multiply of an affine ``x * scale + 0`` step (see ``scalers``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.preprocessing import Binarizer, Normalizer

from .checks import describe, param_is_set
from .errors import UnsupportedStage
from .scalers import Step, affine

_NORMS = {1.0: "l1", 2.0: "l2", math.inf: "max"}


def _single_column(stage: Any) -> None:
    if param_is_set(stage, "inputCols"):
        raise UnsupportedStage(
            f"{describe(stage)}: inputCols is not supported in the feature vector chain; "
            "use one inputCol on the assembled vector"
        )


def convert_normalizer(stage: Any) -> list[Step]:
    """Normalizer(p) → Normalizer(norm='l1' | 'l2' | 'max')."""
    p = float(stage.getP())
    if p not in _NORMS:
        raise UnsupportedStage(
            f"{describe(stage)}: p={p:g} has no scikit-learn norm (supported: p = 1, 2, inf)"
        )
    return [(stage.uid, Normalizer(norm=_NORMS[p]))]


def convert_binarizer(stage: Any) -> list[Step]:
    """Binarizer(threshold) on a vector column → Binarizer(threshold)."""
    _single_column(stage)
    threshold = float(stage.getThreshold())
    if threshold < 0:
        raise UnsupportedStage(
            f"{describe(stage)}: threshold={threshold:g} < 0 is not supported on vectors "
            "(Spark treats a sparse vector's implicit zeros separately); use a threshold >= 0"
        )
    return [(stage.uid, Binarizer(threshold=threshold))]


def convert_elementwise_product(stage: Any) -> list[Step]:
    """ElementwiseProduct(scalingVec) → ``x * scalingVec + 0``.

    Adding zero changes nothing but the sign of a zero product, which no downstream
    stage can tell apart.
    """
    weights = stage.getScalingVec().toArray().astype(np.float64)
    return [(stage.uid, affine(weights, np.zeros_like(weights)))]
