"""Predict-only failures; the rest are ``spark_jobs.errors`` (usage 2, bad data 3)."""

from __future__ import annotations

from spark_jobs.errors import SparkJobError


class ModelRefused(SparkJobError):
    """The artifact failed verification (signature, digests, identity, version skew) or cannot
    be scored; nothing was read or written."""

    exit_code = 6


class OutputWriteError(SparkJobError):
    """The predictions could not be written or moved into place."""

    exit_code = 5
