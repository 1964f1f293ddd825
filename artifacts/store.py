"""A model store: `<store>/<name>/<version>/` directories, written atomically, never overwritten.

A new version is assembled and signed in a hidden temporary directory beside its final place
and renamed into place in one step, so readers (a serving process polling the store) never see
a half-written artifact, and a failure leaves nothing behind.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from . import manifest as manifest_mod
from .errors import ArtifactExists, ArtifactNotFound, InvalidName, SignerMissing
from .layout import (
    LATEST,
    MANIFEST_FILE,
    MODEL_FILE,
    SIGNATURE_FILES,
    check_name,
    check_version,
)


@dataclass(frozen=True, order=True)
class ArtifactRef:
    """Where one version lives; saying nothing yet about whether it verifies."""

    name: str
    version: str
    path: Path


def default_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def dump_model(estimator: object) -> bytes:
    """joblib + gzip, with a fixed gzip mtime so identical models give identical bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        joblib.dump(estimator, gz)
    return buf.getvalue()


def _default_classes(estimator: object) -> list | None:
    classes = getattr(estimator, "classes_", None)
    return None if classes is None else [c.item() if hasattr(c, "item") else c for c in classes]


def save(
    estimator: object,
    store: str | os.PathLike,
    name: str,
    *,
    signer: Any,
    input_schema: Any,
    version: str | None = None,
    classes: list | None = None,
    output_schema: Any = None,
    metrics: dict | None = None,
    parity: dict | None = None,
    lineage: dict | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a signed artifact and return its directory. See docs/CONTRACTS.md."""
    if signer is None:
        raise SignerMissing("save() needs a signer: unsigned artifacts are never written")
    check_name(name, "model name")
    version = check_version(version or default_version())
    files = {MODEL_FILE: dump_model(estimator)}
    for fname, data in (extra_files or {}).items():
        check_name(fname, "extra file name")
        if fname in (MODEL_FILE, MANIFEST_FILE, *SIGNATURE_FILES):
            raise InvalidName(f"extra file {fname!r} would replace a reserved artifact file")
        files[fname] = bytes(data)
    doc = manifest_mod.build(
        name=name,
        version=version,
        estimator=estimator,
        files=files,
        input_schema=input_schema,
        classes=classes if classes is not None else _default_classes(estimator),
        output_schema=output_schema,
        metrics=metrics,
        parity=parity,
        lineage=lineage,
    )
    files[MANIFEST_FILE] = manifest_mod.dumps(doc)
    return _write_atomically(Path(store) / name, version, files, signer)


def _write_atomically(parent: Path, version: str, files: dict[str, bytes], signer: Any) -> Path:
    final = parent / version
    if final.exists():
        raise ArtifactExists(f"{final} already exists; versions are immutable, choose another")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".incoming-{version}-", dir=parent))
    try:
        for fname, data in files.items():
            _write_synced(tmp / fname, data)
        signer.sign(tmp)
        os.chmod(tmp, 0o755)  # noqa: S103 - mkdtemp is 0700; artifacts are public, signed data
        try:
            os.rename(tmp, final)  # atomic; fails if `final` appeared meanwhile (non-empty)
        except OSError:
            raise ArtifactExists(f"{final} was created concurrently; not overwriting") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def natural_version_key(version: str) -> tuple:
    """Sort '2' before '10' and timestamps chronologically."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", version))


def _is_artifact_dir(path: Path) -> bool:
    """A version directory with a ``manifest.json`` entry of any kind: one that is a symlink or
    not a regular file is listed too, so that loading refuses it by name instead of skipping it."""
    return (
        not path.name.startswith(".")
        and path.is_dir()
        and not path.is_symlink()
        and os.path.lexists(path / MANIFEST_FILE)
    )


def list_artifacts(store: str | os.PathLike) -> list[ArtifactRef]:
    """Every `<name>/<version>` in the store, sorted by name then version (oldest first)."""
    root = Path(store)
    if not root.is_dir():
        raise ArtifactNotFound(f"model store {root} does not exist or is not a directory")
    refs = []
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        versions = [p for p in model_dir.iterdir() if _is_artifact_dir(p)]
        for vdir in sorted(versions, key=lambda p: natural_version_key(p.name)):
            refs.append(ArtifactRef(model_dir.name, vdir.name, vdir))
    return refs


def resolve(store: str | os.PathLike, name: str, version: str = LATEST) -> ArtifactRef:
    """Find one version (or the newest by natural version order) of a model in a store."""
    check_name(name, "model name")
    candidates = [ref for ref in list_artifacts(store) if ref.name == name]
    if not candidates:
        raise ArtifactNotFound(f"no model named {name!r} in {store}")
    if version == LATEST:
        return candidates[-1]
    for ref in candidates:
        if ref.version == version:
            return ref
    known = ", ".join(ref.version for ref in candidates)
    raise ArtifactNotFound(f"model {name!r} has no version {version!r} (have: {known})")
