"""Bucketizer (and a fitted QuantileDiscretizer, which is one) → three stock sklearn steps.

Spark puts x in bucket i when ``splits[i] <= x < splits[i+1]``, the last bucket also
holding ``splits[-1]``; NaN goes to an extra bucket ``len(splits) - 1`` with
``handleInvalid='keep'`` and is an error with ``'error'``; a value outside
``[splits[0], splits[-1]]`` is always an error.  ``KBinsDiscretizer`` cannot say all of
that (it clips out-of-range values and refuses NaN and ±inf), so the export is:

1. ``FunctionTransformer(np.nan_to_num)`` with ``nan`` kept and ±inf → ±float max, so
   an infinite end split can be given as a finite edge below;
2. ``FunctionTransformer(np.digitize)`` over the edges
   ``[lo, splits[1:-1]…, nextafter(hi, +inf), +inf]`` (``lo``/``hi`` the end splits, or
   ∓float max when infinite): code 0 is "below the splits", code i + 1 is bucket i (the
   nudged top edge closes the last bucket), code n + 1 is "above", and NaN, which sorts
   last, is code n + 2;
3. ``OrdinalEncoder`` over the valid codes ``1 … n`` (plus ``n + 2`` under 'keep'), which
   maps them to bucket numbers and *raises* on every other code, just as Spark raises.

numpy functions pickle by reference, so the artifact needs nothing but numpy and sklearn
where it is served.  One difference is left: Java orders -0.0 below 0.0, so Spark puts
``-0.0`` below a split at ``0.0``, where numpy (IEEE equality) puts it in the split's
bucket.  'skip' drops rows, which a served model cannot do, and is refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pyspark.ml.feature import Bucketizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from .checks import describe
from .errors import UnsupportedStage

BINNING_TYPES = (Bucketizer,)
_MAX = float(np.finfo(np.float64).max)


def splits_of(stage: Any, index: int) -> list[float]:
    """The splits of the stage's ``index``-th column (single- or multi-column form)."""
    if stage.isSet(stage.getParam("splitsArray")):
        return [float(s) for s in stage.getSplitsArray()[index]]
    return [float(s) for s in stage.getSplits()]


def check_bucketizer(stage: Any) -> None:
    """Refuse 'skip' and splits the finite edges cannot represent (±float max inside)."""
    if stage.getHandleInvalid() == "skip":
        raise UnsupportedStage(
            f"{describe(stage)}: handleInvalid='skip' drops rows with NaN, which a served "
            "model cannot do; use 'keep' (NaN gets its own bucket) or 'error'"
        )
    multi = stage.isSet(stage.getParam("splitsArray"))
    count = len(stage.getSplitsArray()) if multi else 1
    for index in range(count):
        splits = splits_of(stage, index)
        if any(abs(s) >= _MAX for s in splits[1:-1]):
            raise UnsupportedStage(
                f"{describe(stage)}: an inner split at ±{_MAX:g} cannot be told apart from "
                "an infinite value; use a smaller split"
            )


def bucket_steps(stage: Any, index: int) -> Pipeline:
    """The unfitted sklearn steps reproducing one column of the Bucketizer."""
    splits = splits_of(stage, index)
    n = len(splits) - 1
    low = splits[0] if math.isfinite(splits[0]) else -_MAX
    high = splits[-1] if math.isfinite(splits[-1]) else _MAX
    edges = np.array([low, *splits[1:-1], math.nextafter(high, math.inf), math.inf])
    codes = list(range(1, n + 1))
    if stage.getHandleInvalid() == "keep":
        codes.append(n + 2)
    return Pipeline(
        [
            (
                "finite",
                FunctionTransformer(
                    np.nan_to_num, kw_args={"nan": math.nan, "posinf": _MAX, "neginf": -_MAX}
                ),
            ),
            ("digitize", FunctionTransformer(np.digitize, kw_args={"bins": edges})),
            (
                "bucket",
                OrdinalEncoder(
                    categories=[np.array(codes, dtype=np.float64)],
                    dtype=np.float64,
                    handle_unknown="error",
                ),
            ),
        ]
    )
