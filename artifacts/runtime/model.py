"""One opened model version, ready to score with the least per-call work: the one runtime that
serving's requests and batch scoring's executors both use.

A scikit-learn estimator validates its input on every call (``check_array``, feature-name
checks, dtype conversion). The callers here already hand over a finite 2-D float array of the
right width (:meth:`Model.vector_faults` says which rows are not), so that work is redundant.
For the estimators our exporter emits most (linear models, optionally behind scalers) the
probability function is compiled once into a few numpy operations
(:func:`artifacts.runtime.compiled.compile_vector`); anything else calls ``predict_proba`` with
sklearn's finiteness check switched off. A compiled path is only used after it reproduced the
estimator's own ``predict_proba`` and ``predict`` on probe rows at load time, so it can never
change answers.

What a model takes and returns comes from the manifest's typed schemas (:mod:`artifacts.schema`):
image and vector models take that validated float array; tabular models take the schema's frame
form (:mod:`artifacts.runtime.tabular`) — a DataFrame or a lazy ``Batch`` of validated columns.
Tabular pipelines are compiled too (:mod:`artifacts.runtime.compiled`, verified the same way on
probe frames from the input schema); requests it cannot score as the pipeline would, and models
it does not recognise, go to the pipeline with the DataFrame. Classifiers answer with class
indices into ``labels`` — the original labels, strings staying strings — and probabilities;
regressors (and clustering models) answer with one value per row.

``exact=True`` (batch scoring, which writes what the pipeline computes bit for bit) replaces the
compiled paths by :func:`~artifacts.runtime.compiled.compile_exact`: the compiled transforms
feeding the final estimator's own method, or the estimator itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import is_regressor

from ..errors import ManifestInvalid
from ..schema import (
    CLASSIFICATION,
    IMAGE_MNIST,
    RECOMMENDATION,
    REGRESSION,
    InputSchema,
    OutputSchema,
    input_schema,
    output_schema,
)
from . import tabular
from .compiled import PROBA, CompiledTabular, ExactTabular, compile_exact, compile_tabular
from .compiled import compile_vector as _compile_vector
from .errors import Refused
from .topk import FactorScorer

log = logging.getLogger(__name__)

ProbaFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Prediction:
    """Row-wise results. Classifiers: class index per row and probabilities (None if the model
    has none). Regression and clustering: ``values``, one per row, and no indices."""

    indices: np.ndarray | None
    probabilities: np.ndarray | None
    values: np.ndarray | None = None


@dataclass(frozen=True)
class VectorFaults:
    """Per row of an (n, features) float array with a fault: which rows are finite, which lie
    inside the trained range (all of them where the model declares none)."""

    finite: np.ndarray
    inside: np.ndarray


@dataclass(frozen=True)
class Model:
    """A verified artifact plus what is precomputed for scoring it."""

    name: str
    version: str
    manifest: dict[str, Any]
    estimator: Any
    n_features: int  # width of a row: features, pixels, or tabular columns
    classes: np.ndarray  # classification labels (empty otherwise), same order as ``labels``
    labels: list[Any]  # JSON-ready class labels in predict_proba's column order
    value_range: tuple[float, float] | None
    accepts_images: bool
    fast_path: bool = False
    inputs: InputSchema | None = None
    outputs: OutputSchema | None = None
    _proba: ProbaFn | None = field(default=None, repr=False)
    _sorted: np.ndarray | None = field(default=None, repr=False)  # estimator.classes_
    _compiled: CompiledTabular | ExactTabular | None = field(default=None, repr=False)
    #: recommender artifacts only: the top-K / pair scorer
    recommender: FactorScorer | None = field(default=None, repr=False)

    @classmethod
    def from_artifact(
        cls,
        name: str,
        version: str,
        estimator: Any,
        manifest: dict,
        *,
        exact: bool = False,
        compiled: bool = True,
    ) -> Model:
        """Build from a loaded artifact; raises ValueError when it cannot be scored.

        ``exact``: answers are the estimator's own bit for bit (batch scoring);
        ``compiled=False``: no compiled path at all, the estimator answers every call."""
        inputs = _inputs(manifest, estimator)
        outputs = _outputs(manifest, estimator)
        n_features = len(inputs.columns) if inputs.is_tabular else inputs.features
        labels, sorted_classes = _labels(outputs, estimator)
        value_range = None if inputs.is_tabular else inputs.range
        proba, fast = None, False
        if outputs.task == CLASSIFICATION:
            proba, fast = _probability_function(
                estimator,
                n_features,
                value_range,
                tabular=inputs.is_tabular,
                compiled=compiled and not exact,
            )
        scorer = None
        if inputs.is_tabular and compiled:
            compile_ = compile_exact if exact else compile_tabular
            scorer = compile_(estimator, inputs, outputs.task)
        fast = fast or scorer is not None
        return cls(
            name=name,
            version=version,
            manifest=manifest,
            estimator=estimator,
            n_features=n_features,
            classes=np.asarray(labels),
            labels=labels,
            value_range=value_range,
            accepts_images=inputs.is_image,
            fast_path=fast,
            inputs=inputs,
            outputs=outputs,
            _proba=proba,
            _sorted=sorted_classes,
            _compiled=scorer,
        )

    @classmethod
    def from_recommender(
        cls, name: str, version: str, recommender: FactorScorer, manifest: dict
    ) -> Model:
        """A recommender artifact: no estimator, no feature rows; it answers ``:recommend``."""
        return cls(
            name=name,
            version=version,
            manifest=manifest,
            estimator=None,
            n_features=0,
            classes=np.asarray([]),
            labels=[],
            value_range=None,
            accepts_images=False,
            fast_path=True,
            outputs=OutputSchema(RECOMMENDATION),
            recommender=recommender,
        )

    @property
    def is_recommender(self) -> bool:
        return self.recommender is not None

    @property
    def task(self) -> str:
        return self.outputs.task if self.outputs else CLASSIFICATION

    @property
    def is_classifier(self) -> bool:
        return self.task == CLASSIFICATION

    @property
    def is_tabular(self) -> bool:
        return self.inputs is not None and self.inputs.is_tabular

    @property
    def has_probabilities(self) -> bool:
        return self._proba is not None

    def predict(self, rows: Any) -> Prediction:
        """Predict a validated (n, n_features) finite float array, or a tabular model's frame
        (a DataFrame or a lazy :class:`artifacts.runtime.tabular.Batch`).

        Raises :class:`~artifacts.runtime.errors.Refused` when the estimator refuses a frame."""
        if self._compiled is not None:
            output = self._compiled(rows)
            if output is not None:
                return self._compiled_prediction(output)
        if isinstance(rows, tabular.Batch):
            rows = rows.to_frame()
        if not isinstance(rows, pd.DataFrame):
            return self._estimator_prediction(rows)
        try:
            return self._estimator_prediction(rows)
        except (ValueError, TypeError) as exc:
            raise Refused(str(exc)) from exc

    def _estimator_prediction(self, rows: Any) -> Prediction:
        if not self.is_classifier:
            with sklearn.config_context(assume_finite=not self.is_tabular):
                values = np.asarray(self.estimator.predict(rows))
            if self.task == REGRESSION:
                values = values.astype(np.float64, copy=False)
            return Prediction(None, None, values)
        if self._proba is not None:
            probabilities = np.asarray(self._proba(rows), dtype=np.float64)
            return Prediction(probabilities.argmax(axis=1), probabilities)
        with sklearn.config_context(assume_finite=not self.is_tabular):
            labels = self.estimator.predict(rows)
        return Prediction(np.searchsorted(self._sorted, labels), None)

    def _compiled_prediction(self, output: np.ndarray) -> Prediction:
        """The compiled path's output as :meth:`predict` shapes the estimator's own."""
        if not self.is_classifier:
            values = np.asarray(output)
            if self.task == REGRESSION:
                values = values.astype(np.float64, copy=False)
            return Prediction(None, None, values)
        if self._compiled.output == PROBA:
            output = np.asarray(output, dtype=np.float64)
            return Prediction(output.argmax(axis=1), output)
        return Prediction(np.searchsorted(self._sorted, output), None)

    def vector_faults(self, rows: np.ndarray) -> VectorFaults | None:
        """Which rows of an (n, n_features) float array the model may not score, or None (see
        :func:`vector_faults`)."""
        return vector_faults(rows, self.value_range)

    def answers(self, prediction: Prediction) -> list[Any]:
        """One JSON-ready answer per row: the label, or the predicted value."""
        if prediction.indices is not None:
            labels = self.labels
            return [labels[i] for i in prediction.indices.tolist()]
        return prediction.values.tolist()


def vector_faults(rows: np.ndarray, value_range: Any) -> VectorFaults | None:
    """Per row of an (n, features) float array: finite values? inside the trained
    ``value_range`` (``(low, high)`` or None)? None when every row is fine — the common case,
    found by whole-array checks without per-row work. Callers word the refusal (a 400, a bad
    record)."""
    if rows.size == 0 or (bool(np.isfinite(rows).all()) and _inside(rows, value_range)):
        return None
    finite = np.isfinite(rows).all(axis=1)
    if value_range is None:
        return VectorFaults(finite, np.ones(len(rows), dtype=bool))
    low, high = value_range
    inside = (rows >= low).all(axis=1) & (rows <= high).all(axis=1)  # NaN compares False
    return VectorFaults(finite, inside)


def _inside(rows: np.ndarray, value_range: Any) -> bool:
    return value_range is None or (rows.min() >= value_range[0] and rows.max() <= value_range[1])


def _inputs(manifest: dict, estimator: Any) -> InputSchema:
    """The input schema; very old manifests that omit the width take the estimator's."""
    try:
        return input_schema(manifest)
    except ManifestInvalid as exc:
        width = int(getattr(estimator, "n_features_in_", 0))
        doc = manifest.get("input_schema") or {}
        if width <= 0 or doc.get("columns") is not None or doc.get("type") == IMAGE_MNIST:
            raise ValueError(f"the manifest input_schema is unusable: {exc}") from None
        return InputSchema.vector(width)


def _outputs(manifest: dict, estimator: Any) -> OutputSchema:
    """The output schema; manifests without one or classes describe the estimator's kind."""
    try:
        return output_schema(manifest)
    except ManifestInvalid as exc:
        classes = getattr(estimator, "classes_", None)
        if classes is not None and len(classes):
            return OutputSchema(CLASSIFICATION, classes=tuple(np.asarray(classes).tolist()))
        if is_regressor(estimator):
            return OutputSchema(REGRESSION)
        raise ValueError(f"the model's output is not described: {exc}") from None


def _labels(outputs: OutputSchema, estimator: Any) -> tuple[list[Any], np.ndarray | None]:
    """Class labels in predict_proba order (the output schema's originals when they line up
    with the estimator's ``classes_``) and the estimator's own sorted ``classes_``."""
    if outputs.task != CLASSIFICATION:
        return [], None
    own = getattr(estimator, "classes_", None)
    if own is None:
        raise ValueError("the output schema says classification but the model has no classes_")
    own = np.asarray(own)
    named = list(outputs.classes or ())
    if len(named) == len(own):
        return named, own
    return own.tolist(), own


def _probability_function(
    estimator: Any, n_features: int, value_range: Any, tabular: bool = False, compiled: bool = True
) -> tuple[ProbaFn | None, bool]:
    """The cheapest correct probability function for ``estimator`` and whether it is compiled.

    Tabular frames carry NaN for missing values, so sklearn keeps its own checks for them and
    nothing is compiled here (the pipeline's imputer and encoder do real work there; tabular
    pipelines have their own compiled form)."""
    if not hasattr(estimator, "predict_proba"):
        return None, False

    def generic(rows: np.ndarray) -> np.ndarray:
        with sklearn.config_context(assume_finite=not tabular):
            return estimator.predict_proba(rows)

    fast = None if tabular or not compiled else _compile_vector(estimator, n_features, value_range)
    return (generic, False) if fast is None else (fast, True)
