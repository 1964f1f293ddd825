"""The exporter's exception hierarchy, rooted in the jobs' own ``ExportError`` (exit 4).

There is one ``ExportError``: the job's, so an export failure raised deep in a converter
reaches the process boundary as the exit code it means without being re-wrapped, while
tests and callers can still tell an unmappable model (nothing to retry) from a mapping that
produced different numbers.
"""

from __future__ import annotations

from typing import Any

from spark_jobs.errors import ExportError

__all__ = ["ExportError", "ParityError", "UnsupportedStage"]


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
