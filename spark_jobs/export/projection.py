"""PCAModel → a PCA step that only multiplies by Spark's principal components.

Spark's PCAModel does not centre: it maps x to ``pcᵀ · x`` with the ``n × k`` matrix it
fitted.  sklearn's PCA computes ``X @ components_.T - mean_ @ components_.T`` (without
whitening), so ``components_ = pcᵀ`` and ``mean_ = 0`` give Spark's product: the second
term is a row of exact zeros and subtracting it changes no value.  The products are
summed in BLAS order on both sides, so results agree to rounding (a few ulps), not bit
for bit; the parity run measures it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from .scalers import Step


def convert_pca(model: Any) -> list[Step]:
    """PCAModel(k) → PCA(n_components=k, whiten=False) holding Spark's components."""
    components = model.pc.toArray().astype(np.float64).T  # k × n
    k, n = components.shape
    step = PCA(n_components=k, whiten=False)
    step.components_ = np.ascontiguousarray(components)
    step.mean_ = np.zeros(n, dtype=np.float64)
    step.n_components_ = k
    step.n_features_in_ = n
    step.n_samples_ = 0
    step.explained_variance_ = np.asarray(model.explainedVariance.toArray(), dtype=np.float64)
    step.noise_variance_ = 0.0
    return [(model.uid, step)]
