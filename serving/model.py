"""One loaded model version, ready to predict with the least per-request work.

A scikit-learn estimator validates its input on every call (``check_array``, feature-name
checks, dtype conversion). The request parsers here already guarantee a finite 2-D float
array of the right width, so that work is redundant. For the estimators our exporter emits
most (linear models, optionally behind scalers) the probability function is compiled once
into a few numpy operations; anything else calls ``predict_proba`` with sklearn's finiteness
check switched off. A compiled path is only used after it reproduced the estimator's own
``predict_proba`` and ``predict`` on probe rows at load time, so it can never change answers.

What a model takes and returns comes from the manifest's typed schemas (:mod:`artifacts.schema`):
image and vector models take that validated float array; tabular models take the schema's frame
form (:mod:`artifacts.tabular`) — a DataFrame or a lazy ``Batch`` of validated columns. Tabular
pipelines are compiled too (:mod:`artifacts.compiled`, verified the same way on probe frames from
the input schema); requests it cannot score as the pipeline would, and models it does not
recognise, go to the pipeline with the DataFrame. Classifiers answer with class indices into
``labels`` — the original labels, strings staying strings — and probabilities; regressors (and
clustering models) answer with one value per row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.base import is_regressor

from artifacts import tabular
from artifacts.compiled import PROBA, CompiledTabular, compile_tabular
from artifacts.errors import ManifestInvalid
from artifacts.schema import (
    CLASSIFICATION,
    IMAGE_MNIST,
    RECOMMENDATION,
    REGRESSION,
    InputSchema,
    OutputSchema,
    input_schema,
    output_schema,
)

log = logging.getLogger(__name__)

ProbaFn = Callable[[np.ndarray], np.ndarray]
_PROBE_ROWS = 64
_PROBE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Prediction:
    """Row-wise results. Classifiers: class index per row and probabilities (None if the model
    has none). Regression and clustering: ``values``, one per row, and no indices."""

    indices: np.ndarray | None
    probabilities: np.ndarray | None
    values: np.ndarray | None = None


@dataclass(frozen=True)
class ServedModel:
    """A verified artifact plus what is precomputed for serving it."""

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
    _compiled: CompiledTabular | None = field(default=None, repr=False)  # tabular only
    #: recommender artifacts only: the top-K / pair scorer (serving.recommend.Recommender)
    recommender: Any = field(default=None, repr=False)

    @classmethod
    def from_artifact(cls, name: str, version: str, estimator: Any, manifest: dict) -> ServedModel:
        """Build from a loaded artifact; raises ValueError when it cannot be served."""
        inputs = _inputs(manifest, estimator)
        outputs = _outputs(manifest, estimator)
        n_features = len(inputs.columns) if inputs.is_tabular else inputs.features
        labels, sorted_classes = _labels(outputs, estimator)
        value_range = None if inputs.is_tabular else inputs.range
        proba, fast = None, False
        if outputs.task == CLASSIFICATION:
            proba, fast = _probability_function(
                estimator, n_features, value_range, tabular=inputs.is_tabular
            )
        compiled = compile_tabular(estimator, inputs, outputs.task) if inputs.is_tabular else None
        fast = fast or compiled is not None
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
            _compiled=compiled,
        )

    @classmethod
    def from_recommender(
        cls, name: str, version: str, recommender: Any, manifest: dict
    ) -> ServedModel:
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
        (a DataFrame or a lazy :class:`artifacts.tabular.Batch`)."""
        if self._compiled is not None:
            output = self._compiled(rows)
            if output is not None:
                return self._compiled_prediction(output)
        if isinstance(rows, tabular.Batch):
            rows = rows.to_frame()
        if not self.is_classifier:
            values = np.asarray(self.estimator.predict(rows))
            if self.task == REGRESSION:
                values = values.astype(np.float64, copy=False)
            return Prediction(None, None, values)
        if self._proba is not None:
            probabilities = self._proba(rows)
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
            return Prediction(output.argmax(axis=1), output)
        return Prediction(np.searchsorted(self._sorted, output), None)

    def answers(self, prediction: Prediction) -> list[Any]:
        """One JSON-ready answer per row: the label, or the predicted value."""
        if prediction.indices is not None:
            labels = self.labels
            return [labels[i] for i in prediction.indices.tolist()]
        return prediction.values.tolist()


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
    estimator: Any, n_features: int, value_range: Any, tabular: bool = False
) -> tuple[ProbaFn | None, bool]:
    """The cheapest correct probability function for ``estimator`` and whether it is compiled.

    Tabular frames carry NaN for missing values, so sklearn keeps its own checks for them and
    nothing is compiled (the pipeline's imputer and encoder do real work there)."""
    if not hasattr(estimator, "predict_proba"):
        return None, False

    def generic(rows: np.ndarray) -> np.ndarray:
        with sklearn.config_context(assume_finite=not tabular):
            return estimator.predict_proba(rows)

    compiled = None if tabular else _compile(estimator)
    if compiled is None:
        return generic, False
    probe = _probe_rows(n_features, value_range)
    try:
        with np.errstate(all="ignore"):
            expected = estimator.predict_proba(probe)
            labels = estimator.predict(probe)
            got = compiled(probe)
    except (ValueError, TypeError, AttributeError) as exc:
        log.info("compiled path for %s unusable (%s); using predict_proba", type(estimator), exc)
        return generic, False
    classes = np.asarray(estimator.classes_)
    if (
        got.shape != expected.shape
        or not np.allclose(got, expected, rtol=0, atol=_PROBE_TOLERANCE)
        or not np.array_equal(classes[got.argmax(axis=1)], labels)
    ):
        log.info("compiled path for %s disagrees with sklearn; using predict_proba", estimator)
        return generic, False
    return compiled, True


def _probe_rows(n_features: int, value_range: list | None) -> np.ndarray:
    low, high = value_range if value_range else (-3.0, 3.0)
    rng = np.random.default_rng(0)
    return rng.uniform(low, high, size=(_PROBE_ROWS, n_features))


def _compile(estimator: Any) -> ProbaFn | None:
    """numpy closures for Pipeline(scalers…, LogisticRegression) and LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    *transforms, final = steps
    if type(final) is not LogisticRegression:
        return None
    scale = np.ones(final.coef_.shape[1])
    shift = np.zeros(final.coef_.shape[1])
    for step in transforms:  # fold affine scalers: x -> x * scale + shift
        if type(step) is StandardScaler:
            step_scale = 1.0 / step.scale_ if step.with_std else 1.0
            step_shift = -step.mean_ * step_scale if step.with_mean else 0.0
        elif type(step) is MinMaxScaler and not step.clip:
            step_scale, step_shift = step.scale_, step.min_
        else:
            return None
        scale, shift = scale * step_scale, shift * step_scale + step_shift
    weights = (final.coef_ * scale).T.copy()  # (features, k)
    bias = final.intercept_ + final.coef_ @ shift
    if weights.shape[1] == 1:
        return _binary_logistic(weights, bias)
    return _softmax_logistic(weights, bias)


def _softmax_logistic(weights: np.ndarray, bias: np.ndarray) -> ProbaFn:
    def proba(rows: np.ndarray) -> np.ndarray:
        scores = rows @ weights
        scores += bias
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    return proba


def _binary_logistic(weights: np.ndarray, bias: np.ndarray) -> ProbaFn:
    def proba(rows: np.ndarray) -> np.ndarray:
        scores = rows @ weights
        scores += bias
        positive = expit(scores)
        return np.hstack([1.0 - positive, positive])

    return proba
