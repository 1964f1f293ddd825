"""Where a job's artifact goes: the signer checked before any work, the write translated after.

Training and export both end in a signed artifact. Both must fail in a second, not after
an hour of Spark, when the signing key is unusable or the version already exists; and both
report a failed write the same way (exit 5), with an existing version as a usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import artifacts
from spark_jobs.errors import ArtifactWriteError, UsageError


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
