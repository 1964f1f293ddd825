"""Set-membership tree splits as threshold splits on derived features.

A Spark tree splits a categorical feature (category indices 0 … k-1) by membership in a
left set.  A prefix ``{0 … j}`` or a suffix is one threshold on the index (see
``trees.split_threshold``); any other set is not.  For each such *scattered* split the
export appends one derived feature: the categorical column re-encoded by a stock
``TargetEncoder`` whose learned table is replaced by the split's membership — 0 for the
categories in the left set, 1 for every other category and for anything unseen (an index
outside 0 … k-1, NaN).  The split becomes ``derived <= 0.5`` on that feature, which sends
exactly Spark's left set left, and values Spark would not find in the set right, as Spark
does.  0 and 1 are exact in the float32 sklearn's trees compare in.

The derived columns come after the original ones, from one ``ColumnTransformer`` that
passes the vector through and adds a column per distinct ``(feature, left set)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import TargetEncoder

LEFT, RIGHT = 0.0, 1.0
DERIVED_THRESHOLD = 0.5


@dataclass(frozen=True)
class MembershipSplit:
    """One scattered split: its feature, how many categories, which go left."""

    feature: int
    categories: int
    left: tuple[int, ...]


def scattered(split: dict[str, Any]) -> MembershipSplit | None:
    """The saved split as a MembershipSplit when no single index threshold expresses it."""
    k = split["numCategories"]
    if k == -1:
        return None
    left = tuple(sorted(int(v) for v in split["leftCategoriesOrThreshold"]))
    if left == tuple(range(len(left))) or left == tuple(range(k - len(left), k)):
        return None
    return MembershipSplit(int(split["featureIndex"]), int(k), left)


def collect(trees: list[list[dict[str, Any]]]) -> list[MembershipSplit]:
    """Every distinct scattered split in the trees, in the order first met."""
    found: dict[MembershipSplit, None] = {}
    for rows in trees:
        for row in rows:
            if row["leftChild"] >= 0 and (split := scattered(row["split"])) is not None:
                found.setdefault(split, None)
    return list(found)


def membership_encoder(categories: np.ndarray, codes: np.ndarray, unseen: float) -> Any:
    """A fitted TargetEncoder mapping ``categories[i]`` → ``codes[i]``, else ``unseen``.

    Fitting on the categories themselves only sets up the encoder's structure; the
    learned table and the fallback for unknown values are then replaced by ``codes`` and
    ``unseen`` (``transform`` reads nothing else).
    """
    encoder = TargetEncoder(categories=[categories], target_type="continuous")
    encoder.fit(categories.reshape(-1, 1), np.zeros(len(categories)))
    set_table(encoder, codes, unseen)
    return encoder


def set_table(encoder: TargetEncoder, codes: np.ndarray, unseen: float) -> None:
    """Replace a fitted TargetEncoder's table (one input column) and its unknown value."""
    encoder.encodings_ = [np.asarray(codes, dtype=np.float64)]
    encoder.target_mean_ = float(unseen)


def derived_features(n_features: int, splits: list[MembershipSplit]) -> ColumnTransformer:
    """X → [X, membership₀, membership₁, …], one column per split (0 = left)."""
    encoders = [
        (f"split{i}", TargetEncoder(target_type="continuous"), [s.feature])
        for i, s in enumerate(splits)
    ]
    step = ColumnTransformer(
        [("features", "passthrough", list(range(n_features))), *encoders], sparse_threshold=0
    )
    rows = max(s.categories for s in splits)
    dummy = np.zeros((rows, n_features))
    for s in splits:
        dummy[:, s.feature] = np.arange(rows) % s.categories
    step.fit(dummy, np.zeros(rows))
    for i, s in enumerate(splits):
        encoder = step.named_transformers_[f"split{i}"]
        encoder.categories_ = [np.arange(s.categories, dtype=np.float64)]
        codes = np.full(s.categories, RIGHT)
        codes[list(s.left)] = LEFT
        set_table(encoder, codes, RIGHT)
    return step
