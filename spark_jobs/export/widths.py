"""How wide the vector entering each vector stage is, measured on the parity sample.

Most vector stages carry their width in their fitted state (a scaler's mean, PCA's
matrix), but stateless ones such as PolynomialExpansion do not, and their sklearn form
depends on it.  Spark itself only learns the width from the data, so the exporter asks
Spark: one sample row through the fitted stages, the size of each stage's input vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.ml import PipelineModel

from .plan import vector_input_col


def input_widths(
    front_stages: Sequence[Any], feature_stages: Sequence[Any], sample: Any
) -> list[int | None]:
    """The size of the vector each of ``feature_stages`` reads (None without sample rows)."""
    if not feature_stages:
        return []
    columns = list(dict.fromkeys(vector_input_col(stage) for stage in feature_stages))
    model = PipelineModel(stages=[*front_stages, *feature_stages])
    row = model.transform(sample).select(*columns).head()
    if row is None:
        return [None] * len(feature_stages)
    return [int(row[vector_input_col(stage)].size) for stage in feature_stages]
