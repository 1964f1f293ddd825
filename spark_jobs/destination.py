"""Where a job's artifact goes: its identity and signer checked before any work, the write
translated after, and the options that say where (store, version, key, scheme).

Training and export both end in a signed artifact. Both must fail in a second, not after
an hour of Spark, when the signing key is unusable or the version already exists; and both
report a failed write the same way (exit 5), with an existing version as a usage error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import artifacts
from spark_jobs.errors import ArtifactWriteError, UsageError
from spark_jobs.options import option

ENV_SIGNING_KEY = "SPARK_JOBS_SIGNING_KEY"
ARTIFACT = "artifact"
SCHEMES = ("auto", "openssf", "hmac-sha256")


def default_version() -> str:
    """A sortable UTC timestamp, the artifact contract's default version format."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_identity(name: str, version: str) -> None:
    """Refuse a model name or version the artifact store would refuse, before any work.

    The rules are the store's own (``artifacts.check_name``/``check_version``: no path
    separators, no ``..``, not ``latest``), so a bad ``--version`` fails in a second instead
    of after training.
    """
    try:
        artifacts.check_name(name, "model name")
        artifacts.check_version(version)
    except artifacts.InvalidName as exc:
        raise UsageError(f"--name/--version: {exc}") from None


# The artifact options every job that writes one declares alike (``group``: its --help group).


def store_option(group: str | None = None) -> Any:
    return option(
        "model-store",
        group=group,
        help="model store directory",
        doc="The model store the artifact is written into, as `<name>/<version>/`.",
    )


def version_option(group: str | None = None) -> Any:
    return option(
        group=group,
        factory=default_version,
        help="artifact version (default: UTC timestamp)",
        doc="Artifact version; default the UTC time, `YYYYMMDDTHHMMSSZ`.",
    )


def signing_key_option(group: str | None = None) -> Any:
    return option(
        group=group,
        help=f"private PEM or HMAC secret (env {ENV_SIGNING_KEY})",
        doc="Signing key file: a private PEM (openssf) or an HMAC secret; else "
        f"`{ENV_SIGNING_KEY}`.",
    )


def scheme_option(group: str | None = None) -> Any:
    return option(
        "auto",
        group=group,
        choices=SCHEMES,
        doc="Signature scheme: auto (from the key), openssf or hmac-sha256.",
    )


def signer_for(signing_key: str | None, scheme: str, artifact_dir: Path) -> Any:
    """The loaded signer, once the target version is known to be free; else UsageError."""
    try:
        signer = artifacts.load_signer(signing_key, scheme=scheme)
    except (artifacts.ArtifactError, OSError, ValueError) as exc:
        raise UsageError(f"signing key {signing_key}: {exc}") from exc
    if artifact_dir.exists():
        raise UsageError(f"{artifact_dir} already exists; pick another --version")
    return signer


def write_artifact(estimator: Any, store: str, name: str, **fields: Any) -> Path:
    """``artifacts.save`` with its failures as job errors (exists → 2, anything else → 5)."""
    try:
        return artifacts.save(estimator, store, name, **fields)
    except artifacts.ArtifactExists as exc:
        raise UsageError(str(exc)) from exc
    except (artifacts.ArtifactError, OSError) as exc:
        raise ArtifactWriteError(f"cannot write the artifact: {exc}") from exc


def write_recommender(factors: Any, store: str, name: str, **fields: Any) -> Path:
    """``artifacts.recommender.save_recommender`` with the same translation of its failures."""
    from artifacts.recommender import save_recommender

    try:
        return save_recommender(store, name, factors, **fields)
    except artifacts.ArtifactExists as exc:
        raise UsageError(str(exc)) from exc
    except (artifacts.ArtifactError, OSError) as exc:
        raise ArtifactWriteError(f"cannot write the artifact: {exc}") from exc
