"""Feature scalers: Standard/MinMax/MaxAbs/RobustScalerModel → sklearn steps.

Spark and sklearn disagree on constant columns (Spark's StandardScaler outputs 0 where
std == 0, sklearn divides by 1; Spark's MinMaxScaler outputs the middle of the target
range) and on the arithmetic itself (Spark multiplies by a reciprocal, sklearn's
StandardScaler divides).  Each Spark scaler therefore becomes one or two stock sklearn
steps whose floating-point operations are Spark's, in Spark's order:

* ``StandardScaler(with_std=False)`` computes ``x - mean`` (Spark's shift), and
* ``MinMaxScaler`` computes ``x * scale_ + min_`` (Spark's multiply, then add).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

Step = tuple[str, Any]


def _shift(mean: np.ndarray) -> StandardScaler:
    """A StandardScaler that only subtracts ``mean``."""
    step = StandardScaler(with_std=False)
    step.mean_ = mean
    step.var_ = None
    step.scale_ = None
    step.n_features_in_ = len(mean)
    step.n_samples_seen_ = 0
    return step


def affine(scale: np.ndarray, offset: np.ndarray) -> MinMaxScaler:
    """A MinMaxScaler reduced to ``x * scale + offset`` (Spark's multiply, then add)."""
    step = MinMaxScaler()
    step.scale_ = scale
    step.min_ = offset
    step.n_features_in_ = len(scale)
    step.n_samples_seen_ = 0
    return step


def convert_standard_scaler(model: Any) -> list[Step]:
    """StandardScalerModel → ``(x - mean) * (1/std or 0)`` as Spark computes it."""
    mean = model.mean.toArray().astype(np.float64)
    std = model.std.toArray().astype(np.float64)
    steps: list[Step] = []
    if model.getWithMean():
        steps.append((f"{model.uid}_center", _shift(mean)))
    if model.getWithStd():
        with np.errstate(divide="ignore"):
            reciprocal = np.where(std == 0.0, 0.0, 1.0 / std)
        steps.append((f"{model.uid}_scale", affine(reciprocal, np.zeros_like(std))))
    return steps


def convert_min_max_scaler(model: Any) -> list[Step]:
    """MinMaxScalerModel → ``(x - min) * (range / (max - min)) + lo``; constant → midpoint.

    A zero multiplier plus an offset of ``(lo + hi) / 2`` reproduces Spark's constant-column
    output for every finite input (NaN stays NaN in both).
    """
    lo, hi = float(model.getMin()), float(model.getMax())
    data_min = model.originalMin.toArray().astype(np.float64)
    data_max = model.originalMax.toArray().astype(np.float64)
    data_range = data_max - data_min
    constant = data_range == 0.0
    with np.errstate(divide="ignore"):
        scale = np.where(constant, 0.0, (hi - lo) / data_range)
    offset = np.where(constant, (lo + hi) / 2, lo)
    return [
        (f"{model.uid}_shift", _shift(data_min)),
        (f"{model.uid}_scale", affine(scale, offset)),
    ]


def convert_max_abs_scaler(model: Any) -> list[Step]:
    """MaxAbsScalerModel → ``x * (1/maxAbs)``; a column whose maxAbs is 0 is left as is.

    Spark multiplies by the reciprocal (1 where maxAbs == 0); sklearn's MaxAbsScaler would
    divide, so the multiply is expressed as ``x * scale + 0`` in a MinMaxScaler.
    """
    max_abs = model.maxAbs.toArray().astype(np.float64)
    with np.errstate(divide="ignore"):
        scale = np.where(max_abs == 0.0, 1.0, 1.0 / max_abs)
    return [(f"{model.uid}_scale", affine(scale, np.zeros_like(scale)))]


def convert_robust_scaler(model: Any) -> list[Step]:
    """RobustScalerModel → ``(x - median) * (1/range or 0)``, Spark's own arithmetic.

    Spark's model stores the (approximate) median and the quantile range it fitted, and
    transforms exactly as its StandardScaler does: subtract the median when centering,
    multiply by the reciprocal of the range when scaling, 0 for a zero range.
    sklearn's RobustScaler would divide (and treat a zero range as 1), so the same two
    steps as ``convert_standard_scaler`` carry Spark's numbers instead.
    """
    median = model.median.toArray().astype(np.float64)
    spread = model.range.toArray().astype(np.float64)
    steps: list[Step] = []
    if model.getWithCentering():
        steps.append((f"{model.uid}_center", _shift(median)))
    if model.getWithScaling():
        with np.errstate(divide="ignore"):
            reciprocal = np.where(spread == 0.0, 0.0, 1.0 / spread)
        steps.append((f"{model.uid}_scale", affine(reciprocal, np.zeros_like(spread))))
    return steps
