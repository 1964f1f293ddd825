"""Training lineage for the manifest: where the data came from and what it hashed to."""

from __future__ import annotations

import hashlib
from pathlib import Path
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
