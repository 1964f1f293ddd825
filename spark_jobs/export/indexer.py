"""VectorIndexerModel → a ColumnTransformer that re-indexes the categorical features.

Spark's fitted ``categoryMaps`` send each raw value of a categorical feature to its
category index (0 first when present, then the other values in ascending order — so
the indices are not sorted by value when negative values occur); every other feature
passes through unchanged, in place.  The sklearn step keeps the column order with one
ColumnTransformer entry per categorical feature and passthrough runs in between:

* ``handleInvalid='keep'``: a TargetEncoder whose table is Spark's map, and whose value
  for anything else (an unseen value, NaN) is Spark's extra bucket ``numCategories``;
* ``handleInvalid='error'``: an OrdinalEncoder that raises on unseen values as Spark
  does, giving the value's rank among the known values, then (only when Spark's indices
  are not those ranks) a TargetEncoder from rank to Spark's index.

``skip`` drops rows, which a served model cannot do, and is refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, TargetEncoder

from .category_splits import set_table
from .checks import describe
from .errors import UnsupportedStage
from .scalers import Step

_MIN_ROWS = 5  # TargetEncoder's cross-fitting needs as many rows as folds


def probe_vector_indexer(model: Any) -> None:
    """Refuse ``skip`` and NaN categories (both judged from the fitted parameters)."""
    if model.getHandleInvalid() == "skip":
        raise UnsupportedStage(
            f"{describe(model)}: handleInvalid='skip' drops rows, which a served model "
            "cannot do; use 'error' or 'keep'"
        )
    for feature, mapping in model.categoryMaps.items():
        if any(math.isnan(value) for value in mapping):
            raise UnsupportedStage(
                f"{describe(model)}: feature {feature} has NaN as a category; "
                "impute NaN before the VectorIndexer"
            )


def convert_vector_indexer(model: Any) -> list[Step]:
    """VectorIndexerModel → ColumnTransformer (categorical features re-indexed in place)."""
    probe_vector_indexer(model)
    maps = {int(f): m for f, m in model.categoryMaps.items()}
    keep = model.getHandleInvalid() == "keep"
    entries: list[tuple[str, Any, list[int]]] = []
    run: list[int] = []
    for feature in range(int(model.numFeatures)):
        if feature not in maps:
            run.append(feature)
            continue
        if run:
            entries.append((f"pass{run[0]}", "passthrough", run))
            run = []
        entries.append((f"feature{feature}", _encoder(maps[feature], keep), [feature]))
    if run:
        entries.append((f"pass{run[0]}", "passthrough", run))
    step = ColumnTransformer(entries, sparse_threshold=0)
    _fit_structure(step, maps, int(model.numFeatures))
    for feature, mapping in maps.items():
        _set_indices(step.named_transformers_[f"feature{feature}"], mapping, keep)
    return [(model.uid, step)]


def _sorted_values(mapping: dict[float, int]) -> np.ndarray:
    return np.array(sorted(mapping), dtype=np.float64)


def _in_rank_order(mapping: dict[float, int]) -> bool:
    return [mapping[v] for v in sorted(mapping)] == list(range(len(mapping)))


def _encoder(mapping: dict[float, int], keep: bool) -> Any:
    """The unfitted encoder for one feature (its tables are set after fitting)."""
    values = _sorted_values(mapping)
    if keep:
        return TargetEncoder(categories=[values], target_type="continuous")
    ranks = OrdinalEncoder(categories=[values], handle_unknown="error", dtype=np.float64)
    if _in_rank_order(mapping):
        return ranks
    positions = np.arange(len(values), dtype=np.float64)
    to_index = TargetEncoder(categories=[positions], target_type="continuous")
    return Pipeline([("rank", ranks), ("index", to_index)])


def _fit_structure(step: ColumnTransformer, maps: dict[int, dict[float, int]], n: int) -> None:
    """Fit on rows made of the known values only: sets up shapes, learns no numbers."""
    rows = max([_MIN_ROWS, *(len(m) for m in maps.values())])
    dummy = np.zeros((rows, n))
    for feature, mapping in maps.items():
        values = _sorted_values(mapping)
        dummy[:, feature] = values[np.arange(rows) % len(values)]
    step.fit(dummy, np.zeros(rows))


def _set_indices(fitted: Any, mapping: dict[float, int], keep: bool) -> None:
    """Write Spark's indices into the fitted encoder's table."""
    values = _sorted_values(mapping)
    indices = np.array([mapping[v] for v in values], dtype=np.float64)
    if isinstance(fitted, TargetEncoder):  # keep: value → index, else the extra bucket
        set_table(fitted, indices, float(len(mapping)))
    elif isinstance(fitted, Pipeline):  # error, unsorted: rank → index
        set_table(fitted[-1], indices, math.nan)
