"""KMeansModel (euclidean or cosine) → sklearn KMeans: the nearest centre's index.

Euclidean: Spark and scikit-learn both assign a row to the centre at the smallest squared
euclidean distance, the first one on a tie; the centres are copied in Spark's order so
cluster ids agree.

Cosine: Spark assigns the centre with the smallest ``1 − x·c / (|x||c|)``, i.e. the largest
``x·ĉ`` with ``ĉ = c/|c|`` (|x| is the same for every centre).  Given unit centres ĉ,
sklearn's KMeans minimises ``|x − ĉ|² = |x|² − 2 x·ĉ + 1``, the same argmax — so the
unit centres in a plain KMeans are exact on the raw rows, no Normalizer needed.  A zero
row has no cosine distance: Spark's ``transform`` fails on it, while the export returns
a cluster id for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from .checks import describe
from .errors import UnsupportedStage


def convert_kmeans(model: Any) -> KMeans:
    """A fitted KMeans holding Spark's centres (unit-scaled for cosine; no refit)."""
    measure = model.getDistanceMeasure()
    if measure not in ("euclidean", "cosine"):
        raise UnsupportedStage(
            f"{describe(model)}: distanceMeasure={measure!r} is not supported "
            "(supported: euclidean, cosine)"
        )
    centers = np.vstack([np.asarray(c, dtype=np.float64) for c in model.clusterCenters()])
    if measure == "cosine":
        norms = np.linalg.norm(centers, axis=1)
        if not np.all(norms > 0):
            raise UnsupportedStage(f"{describe(model)}: a cosine centre has zero length")
        centers = centers / norms[:, np.newaxis]
    return fitted_kmeans(centers)


def fitted_kmeans(centers: np.ndarray) -> KMeans:
    """A KMeans whose ``predict`` is the index of the nearest of ``centers``."""
    estimator = KMeans(n_clusters=len(centers), n_init=1)
    estimator.cluster_centers_ = centers
    estimator.n_features_in_ = centers.shape[1]
    estimator.labels_ = np.zeros(0, dtype=np.int32)
    estimator.inertia_ = 0.0
    estimator.n_iter_ = 0
    estimator._n_threads = 1
    estimator._n_features_out = len(centers)
    return estimator
