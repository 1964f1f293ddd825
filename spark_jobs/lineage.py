"""Lineage for the manifest: where the data came from, what it hashed to, what fitted it.

Training and export both record it: the data's digest, a stage's parameters, the Spark.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_CHUNK = 1 << 20


def local_path(uri: str) -> Path | None:
    """The local filesystem path behind ``uri``, or None for remote (hdfs://, s3a://…) data."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else uri)
    return None


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def digest(uri: str) -> str | None:
    """sha256 of a local file, or of a local folder's sorted (relative path, file digest) list.

    Remote sources and globs return None: hashing them would mean a second full read.
    """
    path = local_path(uri)
    if path is None or not path.exists():
        return None
    if path.is_file():
        return _file_digest(path)
    combined = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = child.relative_to(path).as_posix()
        if any(part.startswith((".", "_")) for part in rel.split("/")):
            continue  # Hadoop ignores hidden and _SUCCESS-style files too
        combined.update(f"{rel}\0{_file_digest(child)}\n".encode())
    return combined.hexdigest()


def params(stage: Any) -> dict:
    """A Spark stage's JSON-able parameters; NaN (the Imputer's missingValue) as 'NaN'."""
    found = {}
    for param, value in stage.extractParamMap().items():
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        if isinstance(value, int | float | str | bool | list):
            found[param.name] = value
    return found


def spark_facts(spark: Any) -> dict:
    """The Spark that ran the job: version, master and application id."""
    conf = spark.sparkContext.getConf()
    return {
        "version": spark.version,
        "master": conf.get("spark.master", "unknown"),
        "app_id": spark.sparkContext.applicationId,
    }


def record(data: dict, *, rows: dict, params: dict, model_params: dict, spark: Any) -> dict:
    """A trained model's lineage: its data (with the digest), rows, parameters and Spark."""
    return {
        "data": {**data, "sha256": digest(data["source"])},
        "rows": rows,
        "params": params,
        "model_params": model_params,
        "spark": spark_facts(spark),
    }
