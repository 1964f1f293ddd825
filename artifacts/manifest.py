"""manifest.json: what the artifact is, how it was made, and the sha256 of every other file.

The manifest is covered by the signature, so once the signature verifies, everything here can be
trusted — including the per-file digests the loader re-checks before unpickling.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from . import schema as schema_mod
from .errors import ManifestInvalid
from .layout import KIND_ESTIMATOR, KINDS, MANIFEST_FILE, check_name, sha256_hex

FORMAT = "spark-model-server/artifact"
FORMAT_VERSION = 1
REQUIRED = ("format", "format_version", "name", "version", "created", "framework", "files")


def framework_versions() -> dict[str, str | None]:
    """Versions of the libraries that decide whether a pickle loads and predicts the same."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "joblib", "scipy", "pyspark"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def build(
    *,
    name: str,
    version: str,
    estimator: object,
    files: dict[str, bytes],
    input_schema: schema_mod.InputSchema | dict[str, Any],
    classes: list | None,
    output_schema: schema_mod.OutputSchema | dict[str, Any] | None = None,
    metrics: dict | None,
    parity: dict | None,
    lineage: dict | None,
) -> dict[str, Any]:
    """Assemble a manifest for `files` (name → bytes; signatures and the manifest excluded)."""
    cls = type(estimator)
    if output_schema is None and classes:
        output_schema = schema_mod.OutputSchema(schema_mod.CLASSIFICATION, classes=tuple(classes))
    return {
        **envelope(name=name, version=version, files=files, metrics=metrics, parity=parity,
                   lineage=lineage),
        "estimator": f"{cls.__module__}.{cls.__qualname__}",
        "input_schema": schema_mod.as_dict(input_schema),
        "output_schema": None if output_schema is None else schema_mod.as_dict(output_schema),
        "classes": classes,
    }  # fmt: skip


def envelope(
    *,
    name: str,
    version: str,
    files: dict[str, bytes],
    metrics: dict | None,
    parity: dict | None,
    lineage: dict | None,
    framework: dict[str, str] | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The keys every kind of artifact's manifest has: format, identity, creation time (now
    unless ``created``), framework versions, figures, and the digest of every file."""
    when = (created or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "created": when,
        "framework": framework_versions() if framework is None else framework,
        "metrics": metrics or {},
        "parity": parity,
        "lineage": lineage or {},
        "files": {
            fname: {"sha256": sha256_hex(data), "size": len(data)}
            for fname, data in sorted(files.items())
        },
    }


def dumps(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def parse(raw: bytes | None) -> dict[str, Any]:
    """Parse and structurally check a manifest; raises ManifestInvalid with the reason."""
    if raw is None:
        raise ManifestInvalid(f"{MANIFEST_FILE} is missing")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ManifestInvalid(f"{MANIFEST_FILE} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestInvalid(f"{MANIFEST_FILE} must hold a JSON object")
    missing = [key for key in REQUIRED if key not in doc]
    if missing:
        raise ManifestInvalid(f"{MANIFEST_FILE} lacks required fields: {', '.join(missing)}")
    if doc["format"] != FORMAT or doc["format_version"] != FORMAT_VERSION:
        raise ManifestInvalid(
            f"unsupported artifact format {doc['format']!r} v{doc['format_version']!r}"
        )
    files = doc["files"]
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
    ):
        raise ManifestInvalid(f"{MANIFEST_FILE} 'files' must map file names to sha256 digests")
    for fname in files:
        check_name(fname, "file name in manifest")
    if kind(doc) not in KINDS:
        raise ManifestInvalid(f"unknown artifact kind {doc.get('kind')!r}; known: {KINDS}")
    return doc


def kind(doc: dict[str, Any]) -> str:
    """What the artifact holds: an estimator (the default, older artifacts) or a recommender."""
    return doc.get("kind", KIND_ESTIMATOR)
