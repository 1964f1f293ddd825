"""The job's exception hierarchy.

Every failure the job anticipates is a ``SparkJobError`` carrying the process exit code that
``main`` turns it into, so a shell script (or a Kubernetes Job's restart policy) can tell a typo
in the arguments from bad data from an export that failed its parity check.
"""

from __future__ import annotations


class SparkJobError(Exception):
    """Base class for anticipated job failures; ``exit_code`` is what ``main`` exits with."""

    exit_code = 1


class UsageError(SparkJobError):
    """Arguments or configuration are wrong (bad option, missing signing key, existing version)."""

    exit_code = 2


class DataError(SparkJobError):
    """The input data cannot be used; the message names the source and the row or file."""

    exit_code = 3


class ExportError(SparkJobError):
    """The trained model could not be exported to scikit-learn, or failed its parity check."""

    exit_code = 4


class ArtifactWriteError(SparkJobError):
    """The signed artifact could not be written to the model store."""

    exit_code = 5
