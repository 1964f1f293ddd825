"""PolynomialExpansion → PolynomialFeatures, then Spark's term order.

Spark and sklearn produce the same monomials of degree 1 … d (no constant term) in
different orders.  Spark's recursion enumerates exponent vectors (e₀ … eₙ₋₁) ordered by
eₙ₋₁ first, then eₙ₋₂, …, e₀ — for (x, y) at degree 2: x, x², y, xy, y² — while
``PolynomialFeatures`` orders by total degree: x, y, x², xy, y².  A lexicographic sort of
sklearn's ``powers_`` on the keys (eₙ₋₁, …, e₀) gives the permutation; a column-selecting
step (``selectors.take_columns``) applies it.  Each value is the same product of the same
factors; the two libraries multiply them in different orders, so values agree to a few
ulps (the parity run measures it).

Not exact: a NaN or ±inf input times another input that is 0 — Spark skips every term
with a zero factor (0), sklearn multiplies (NaN).  Such inputs reach the vector only
through an assembler with ``handleInvalid='keep'`` and no Imputer.
"""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from .checks import describe
from .errors import UnsupportedStage
from .scalers import Step
from .selectors import take_columns

MAX_OUTPUTS = 10_000


def output_width(n_features: int, degree: int) -> int:
    """How many monomials of degree 1 … ``degree`` in ``n_features`` variables."""
    return comb(n_features + degree, degree) - 1


def spark_order(powers: np.ndarray) -> np.ndarray:
    """The permutation of sklearn's monomials (rows of ``powers_``) into Spark's order."""
    return np.lexsort(powers.T)


def convert_polynomial_expansion(stage: Any, width: int) -> list[Step]:
    """PolynomialExpansion(degree) on ``width`` inputs → PolynomialFeatures + reorder."""
    degree = int(stage.getDegree())
    outputs = output_width(width, degree)
    if outputs > MAX_OUTPUTS:
        raise UnsupportedStage(
            f"{describe(stage)}: degree {degree} over {width} features makes {outputs} "
            f"columns (at most {MAX_OUTPUTS} are exported); select features or lower the degree"
        )
    expand = PolynomialFeatures(degree=degree, include_bias=False)
    expand.fit(np.zeros((1, width)))
    return [
        (f"{stage.uid}_expand", expand),
        (f"{stage.uid}_order", take_columns(spark_order(expand.powers_).tolist())),
    ]
