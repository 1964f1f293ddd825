"""Score a request's validated input with its runtime model, the same way for every protocol.

The request's deadline is checked first (504 rather than work nobody waits for); the model's
refusal of rows that passed validation (:class:`artifacts.runtime.errors.Refused`) is the
client's 400; the predictions are counted in the metrics.
"""

from __future__ import annotations

import logging
from typing import Any

from artifacts.runtime import Model, Prediction
from artifacts.runtime.errors import Refused

from . import deadline, tracing
from .errors import ModelRefused
from .metrics import Metrics

log = logging.getLogger(__name__)


def predict(model: Model, inputs: Any, metrics: Metrics | None) -> Prediction:
    """Run the model; an estimator's refusal of a validated frame is the client's 400.

    Not at all if the request's deadline passed while its body was read and parsed (504).
    """
    deadline.check()
    try:
        with tracing.step("predict"):
            prediction = model.predict(inputs)
    except Refused as exc:
        log.warning("model %s/%s refused a frame: %s", model.name, model.version, exc)
        raise ModelRefused(f"the model could not score these rows: {exc}") from None
    if metrics is not None:
        metrics.record_predictions(model, prediction)
    return prediction
