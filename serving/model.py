"""One loaded model version, ready to predict with the least per-request work.

A scikit-learn estimator validates its input on every call (``check_array``, feature-name
checks, dtype conversion). The request parsers here already guarantee a finite 2-D float
array of the right width, so that work is redundant. For the estimators our exporter emits
most (linear models, optionally behind scalers) the probability function is compiled once
into a few numpy operations; anything else calls ``predict_proba`` with sklearn's finiteness
check switched off. A compiled path is only used after it reproduced the estimator's own
``predict_proba`` and ``predict`` on probe rows at load time, so it can never change answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from scipy.special import expit

log = logging.getLogger(__name__)

ProbaFn = Callable[[np.ndarray], np.ndarray]
IMAGE_SCHEMA = "image/mnist-28x28"
_PROBE_ROWS = 64
_PROBE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Prediction:
    """Row-wise results: class index per row and probabilities (None if the model has none)."""

    indices: np.ndarray
    probabilities: np.ndarray | None


@dataclass(frozen=True)
class ServedModel:
    """A verified artifact plus what is precomputed for serving it."""

    name: str
    version: str
    manifest: dict[str, Any]
    estimator: Any
    n_features: int
    classes: np.ndarray
    labels: list[Any]  # JSON-ready class labels, same order as ``classes``
    value_range: tuple[float, float] | None
    accepts_images: bool
    fast_path: bool = False
    _proba: ProbaFn | None = field(default=None, repr=False)

    @classmethod
    def from_artifact(cls, name: str, version: str, estimator: Any, manifest: dict) -> ServedModel:
        """Build from a loaded artifact; raises ValueError when it cannot be served."""
        schema = manifest.get("input_schema") or {}
        n_features = int(schema.get("features") or getattr(estimator, "n_features_in_", 0))
        if n_features <= 0:
            raise ValueError("the manifest input_schema does not give the number of features")
        classes = np.asarray(getattr(estimator, "classes_", manifest.get("classes") or []))
        if classes.size == 0:
            raise ValueError("the model has no classes_: only classifiers are served")
        value_range = schema.get("range")
        proba, fast = _probability_function(estimator, n_features, value_range)
        return cls(
            name=name,
            version=version,
            manifest=manifest,
            estimator=estimator,
            n_features=n_features,
            classes=classes,
            labels=classes.tolist(),
            value_range=tuple(value_range) if value_range else None,
            accepts_images=schema.get("type") == IMAGE_SCHEMA,
            fast_path=fast,
            _proba=proba,
        )

    @property
    def has_probabilities(self) -> bool:
        return self._proba is not None

    def predict(self, rows: np.ndarray) -> Prediction:
        """Predict a validated (n, n_features) finite float array."""
        if self._proba is not None:
            probabilities = self._proba(rows)
            return Prediction(probabilities.argmax(axis=1), probabilities)
        with sklearn.config_context(assume_finite=True):
            labels = self.estimator.predict(rows)
        return Prediction(np.searchsorted(self.classes, labels), None)


def _probability_function(
    estimator: Any, n_features: int, value_range: list | None
) -> tuple[ProbaFn | None, bool]:
    """The cheapest correct probability function for ``estimator`` and whether it is compiled."""
    if not hasattr(estimator, "predict_proba"):
        return None, False

    def generic(rows: np.ndarray) -> np.ndarray:
        with sklearn.config_context(assume_finite=True):
            return estimator.predict_proba(rows)

    compiled = _compile(estimator)
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
