"""Column-selecting stages: VectorSlicer and the fitted feature selectors → np.take.

Each keeps some positions of the vector in a fixed order, so the exact sklearn form is
a ``FunctionTransformer`` that calls ``numpy.take(X, indices, axis=1)``: no arithmetic,
only copies.  VectorSlicer keeps its ``indices`` in the order given; the fitted
ChiSq/UnivariateFeature/VarianceThreshold selectors keep their ``selectedFeatures`` in
ascending index order (Spark sorts them before slicing, whatever order the model lists
them in).  A slicer that names features instead of indices is refused: the names live
in the vector's metadata, which the exported model never sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import FunctionTransformer

from .checks import describe
from .errors import UnsupportedStage
from .scalers import Step


def take_columns(indices: list[int]) -> FunctionTransformer:
    """A stateless step returning ``X[:, indices]`` (repeats and any order allowed)."""
    return FunctionTransformer(
        np.take,
        kw_args={"indices": np.asarray(indices, dtype=np.intp), "axis": 1},
        accept_sparse=False,
        check_inverse=False,
    )


def probe_vector_slicer(stage: Any) -> None:
    """Refuse ``names``: they resolve against column metadata the export cannot carry."""
    names = stage.getNames() if stage.isDefined(stage.names) else []
    if names:
        raise UnsupportedStage(
            f"{describe(stage)}: names={list(names)} resolve against the input vector's "
            "metadata, which the exported model does not carry; slice by indices instead"
        )


def convert_vector_slicer(stage: Any) -> list[Step]:
    """VectorSlicer(indices) → the columns at ``indices``, in that order."""
    probe_vector_slicer(stage)
    return [(stage.uid, take_columns([int(i) for i in stage.getIndices()]))]


def convert_selector(model: Any) -> list[Step]:
    """A fitted selector → its selected features in ascending index order."""
    return [(model.uid, take_columns(sorted(int(i) for i in model.selectedFeatures)))]
