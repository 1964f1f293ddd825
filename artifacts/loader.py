"""Verify, then load. The order is the security property of the whole project:

1. snapshot the directory into memory (layout checked: no symlinks, no odd names);
2. verify the signature over those exact bytes;
3. parse the now-authenticated manifest and check every file's sha256 against it;
4. check library versions against the manifest;
5. only then gunzip and unpickle — from the same in-memory bytes.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import manifest as manifest_mod
from . import skew
from .errors import (
    DigestMismatch,
    IdentityMismatch,
    LayoutError,
    NoVerificationKey,
    VersionSkew,
    WrongKind,
)
from .layout import (
    KIND_ESTIMATOR,
    MANIFEST_FILE,
    MODEL_FILE,
    REQUIRED_FILES,
    content_files,
    sha256_hex,
    snapshot,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedArtifact:
    estimator: Any
    manifest: dict[str, Any]
    path: Path


def _verified_snapshot(path: Path, verifier: Any, insecure_skip_verify: bool):
    if verifier is None and not insecure_skip_verify:
        raise NoVerificationKey(
            f"refusing to load {path}: no verification key configured. Configure the public key "
            "(openssf) or HMAC secret the artifact was signed with"
        )
    files = snapshot(path)
    if verifier is None:
        log.warning(
            "INSECURE: loading %s WITHOUT signature verification (insecure_skip_verify=True); "
            "never do this outside local development",
            path,
        )
    else:
        verifier.verify(files)
    doc = manifest_mod.parse(files.get(MANIFEST_FILE))
    _check_identity(path, doc)
    _check_manifest_digests(doc, files)
    return files, doc


def _check_identity(path: Path, doc: dict) -> None:
    """Bind the signature to the place: `<name>/<version>` must be what the manifest says."""
    where = (path.parent.name, path.name)
    signed = (doc.get("name"), doc.get("version"))
    if where != signed:
        raise IdentityMismatch(
            f"{path} holds the signed artifact {signed[0]}/{signed[1]}; an artifact must sit in "
            "the directory <name>/<version> its manifest names (copied or renamed artifacts are "
            "refused)"
        )


def _check_manifest_digests(doc: dict, files: dict[str, bytes]) -> None:
    covered = {n: d for n, d in content_files(files).items() if n != MANIFEST_FILE}
    listed = doc["files"]
    extra = sorted(set(covered) - set(listed))
    if extra:
        raise LayoutError(f"files not listed in the manifest: {', '.join(extra)}")
    for fname, entry in listed.items():
        if fname not in covered:
            raise DigestMismatch(f"{fname} is listed in the manifest but missing")
        if sha256_hex(covered[fname]) != entry["sha256"]:
            raise DigestMismatch(f"{fname} does not match the sha256 in the manifest")
    for required in REQUIRED_FILES[manifest_mod.kind(doc)]:
        if required not in listed:
            raise DigestMismatch(f"the manifest does not list {required}")


def verify(path: str | os.PathLike, verifier: Any) -> dict[str, Any]:
    """Check signature and digests without unpickling anything; returns the manifest."""
    _, doc = _verified_snapshot(Path(path), verifier, insecure_skip_verify=False)
    return doc


def _unpickle(data: bytes) -> Any:
    import joblib  # here, not at import: `model-server`'s start-up check needs no unpickler

    try:
        from sklearn.exceptions import InconsistentVersionWarning
    except ImportError:  # pragma: no cover - scikit-learn is a hard dependency
        InconsistentVersionWarning = UserWarning  # noqa: N806
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as gz:
                return joblib.load(gz)
        except InconsistentVersionWarning as exc:
            raise VersionSkew(str(exc)) from None


def load(
    path: str | os.PathLike,
    *,
    verifier: Any,
    skew_policy: skew.Policy = "error",
    insecure_skip_verify: bool = False,
) -> LoadedArtifact:
    """Verify an artifact and return its estimator and manifest. See the module docstring."""
    path = Path(path)
    files, doc = _verified_snapshot(path, verifier, insecure_skip_verify)
    if manifest_mod.kind(doc) != KIND_ESTIMATOR:
        raise WrongKind(
            f"{path} is a {manifest_mod.kind(doc)} artifact, not an estimator; load it with "
            "artifacts.recommender.load_recommender"
        )
    skew.check(doc.get("framework") or {}, skew_policy)
    estimator = _unpickle(files[MODEL_FILE])
    return LoadedArtifact(estimator=estimator, manifest=doc, path=path)
