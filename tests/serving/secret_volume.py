"""A directory laid out like a Kubernetes Secret volume, updated the way the kubelet does it.

The kubelet writes each version into a new hidden timestamped directory, points the ``..data``
symlink at it with one rename, and exposes every key as ``<key> -> ..data/<key>``; the paths the
server is given are those outer symlinks, which never change themselves.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

_versions = itertools.count()


def _write_version(root: Path, files: dict[str, str | bytes]) -> Path:
    version = root / f"..2026_11_30_00_00_00.{next(_versions)}"
    version.mkdir()
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (version / name).write_bytes(data)
    return version


def create(root: Path, files: dict[str, str | bytes]) -> dict[str, Path]:
    """Mount ``files``; the paths to configure (the outer symlinks) by key."""
    root.mkdir(parents=True)
    version = _write_version(root, files)
    (root / "..data").symlink_to(version.name)
    for name in files:
        (root / name).symlink_to(f"..data/{name}")
    return {name: root / name for name in files}


def update(root: Path, files: dict[str, str | bytes], *, keep_stat_of: str | None = None) -> None:
    """Atomically swap in a new version holding ``files`` (same keys), and drop the old one.

    ``keep_stat_of`` copies that file's mtime onto its replacement, so only content and inode
    tell the versions apart.
    """
    old = (root / "..data").resolve()
    version = _write_version(root, files)
    if keep_stat_of is not None:
        stat = (old / keep_stat_of).stat()
        os.utime(version / keep_stat_of, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    staging = root / "..data_tmp"
    staging.symlink_to(version.name)
    os.replace(staging, root / "..data")
    shutil.rmtree(old)
