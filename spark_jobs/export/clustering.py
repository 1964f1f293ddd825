"""KMeansModel (euclidean) → sklearn KMeans: the nearest centre's index.

Spark and scikit-learn both assign a row to the centre at the smallest squared euclidean
distance, the first one on a tie; the centres are copied in Spark's order so cluster ids
agree.  Spark's cosine distance normalises rows first, which sklearn's KMeans does not do:
it is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from .checks import describe
from .errors import UnsupportedStage


def convert_kmeans(model: Any) -> KMeans:
    """A fitted KMeans holding Spark's cluster centres (no refit)."""
    if model.getDistanceMeasure() != "euclidean":
        raise UnsupportedStage(
            f"{describe(model)}: distanceMeasure={model.getDistanceMeasure()!r} is not "
            "supported (sklearn's KMeans is euclidean); retrain with 'euclidean'"
        )
    centers = np.vstack([np.asarray(c, dtype=np.float64) for c in model.clusterCenters()])
    estimator = KMeans(n_clusters=len(centers), n_init=1)
    estimator.cluster_centers_ = centers
    estimator.n_features_in_ = centers.shape[1]
    estimator.labels_ = np.zeros(0, dtype=np.int32)
    estimator.inertia_ = 0.0
    estimator.n_iter_ = 0
    estimator._n_threads = 1
    estimator._n_features_out = len(centers)
    return estimator
