"""The model runtime: the only code that opens a verified artifact as something that scores.

:func:`open` decides the artifact's kind from its signed manifest and returns a :class:`Model`:
predictions, probabilities and labels for estimators (vector, image, tabular and text inputs),
top-K and pair scores for recommenders, and the input schema it accepts. Serving's registry and
batch scoring's executors both score through it. It imports the artifact format
(:mod:`artifacts`) and never serving, Flask or pyspark.
"""

from . import tabular
from .kinds import ESTIMATOR, RECOMMENDER, claimed_kind, open
from .model import Model, Prediction, VectorFaults, vector_faults
from .topk import FactorScorer, Recommendation

__all__ = [
    "ESTIMATOR",
    "RECOMMENDER",
    "FactorScorer",
    "Model",
    "Prediction",
    "Recommendation",
    "VectorFaults",
    "claimed_kind",
    "open",
    "tabular",
    "vector_faults",
]
