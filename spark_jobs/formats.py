"""The data formats the jobs read, and how ``--format auto`` tells one from a path.

Only names and paths: nothing here starts Spark or reads a settings object, so the training
settings (an artifact's default name), the readers in ``spark_jobs.sources`` and batch
scoring can all ask it.
"""

from __future__ import annotations

import os
from pathlib import Path

from spark_jobs.errors import UsageError

FORMATS = ("auto", "idx", "csv", "parquet", "table", "libsvm", "images", "mnist-sample")
IMAGE_FORMATS = ("idx", "images", "mnist-sample")
"""Formats whose rows are 28x28 images."""
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def detect(path: str) -> str:
    """Guess the format from a path: extension for files, contents for local folders."""
    lower = path.lower().rstrip("/")
    base = lower.rsplit("/", 1)[-1]
    for suffix, fmt in ((".parquet", "parquet"), (".libsvm", "libsvm"), (".svm", "libsvm")):
        if base.endswith(suffix):
            return fmt
    if base.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if "idx" in base or "ubyte" in base:
        return "idx"
    if os.path.isdir(path):
        return _detect_folder(Path(path))
    raise UsageError(f"cannot tell the format of {path!r}; pass --format")


def _detect_folder(folder: Path) -> str:
    names = [p.name.lower() for p in folder.rglob("*") if p.is_file()]
    if any(n.endswith(".parquet") for n in names):
        return "parquet"
    if any(n.endswith(_IMAGE_SUFFIXES) for n in names):
        return "images"
    if any(n.endswith((".csv", ".csv.gz")) for n in names):
        return "csv"
    raise UsageError(f"cannot tell the format of folder {str(folder)!r}; pass --format")
