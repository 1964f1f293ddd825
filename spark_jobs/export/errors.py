"""The exporter's exception hierarchy.

One base class so the training job can catch every export failure at its boundary and
exit with a single, meaningful code, while tests and callers can still tell an
unmappable model (nothing to retry) from a mapping that produced different numbers.
"""

from __future__ import annotations

from typing import Any


class ExportError(Exception):
    """Base class: the Spark model could not be exported to scikit-learn."""


class UnsupportedStage(ExportError):
    """A stage, or a setting on a stage, has no exact scikit-learn equivalent.

    The message names the stage (class and uid) and the offending setting, so the user
    knows what to change in the training pipeline.
    """


class ParityError(ExportError):
    """Spark and the exported estimator disagree on held-out rows.

    ``parity`` carries the measured figures (rows, label agreement, maximum
    probability error) so the failure can be logged or reported as-is.
    """

    def __init__(self, message: str, parity: dict[str, Any]) -> None:
        super().__init__(message)
        self.parity = parity
