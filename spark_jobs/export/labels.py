"""Which original label each Spark class index stands for.

Spark predicts class indices (0.0, 1.0, …).  The exported estimator's ``classes_`` holds
the original labels in index order so that ``predict`` returns what the user trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .checks import describe
from .errors import ExportError


def indexer_labels(indexer: Any) -> list[str]:
    """The labels a fitted single-column StringIndexerModel assigns to indices 0, 1, …."""
    return list(indexer.labelsArray[0])


def num_classes(classifier: Any) -> int:
    """``numClasses``, or for a OneVsRestModel the number of its binary models."""
    if hasattr(classifier, "models"):
        return len(classifier.models)
    return int(classifier.numClasses)


def resolve_classes(
    labels: Sequence[Any] | None, indexer: Any | None, classifier: Any
) -> np.ndarray:
    """Explicit ``labels`` win, then the label StringIndexer's, else the indices as ints."""
    n_classes = num_classes(classifier)
    if labels is not None:
        chosen: list[Any] = list(labels)
        source = "labels"
    elif indexer is not None:
        chosen = indexer_labels(indexer)
        source = f"{describe(indexer)} labels"
    else:
        return np.arange(n_classes)
    if len(chosen) != n_classes:
        raise ExportError(
            f"{describe(classifier)} has {n_classes} classes but {source} has {len(chosen)}: "
            f"{chosen!r}"
        )
    if len(set(chosen)) != len(chosen):
        raise ExportError(f"{source} contains duplicates: {chosen!r}")
    return np.asarray(chosen)
