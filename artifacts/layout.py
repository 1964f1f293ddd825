"""What an artifact directory may contain, and reading it safely into memory.

Loading works on an in-memory snapshot of the directory: the bytes that are verified are the
bytes that get unpickled, so swapping a file after verification cannot smuggle code in.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from .errors import ArtifactNotFound, InvalidName, LayoutError

#: The version name that always means "the newest"; never a stored version.
LATEST = "latest"
MODEL_FILE = "model.joblib.gz"
MANIFEST_FILE = "manifest.json"
HMAC_SIGNATURE_FILE = "signature.hmac"
OPENSSF_SIGNATURE_FILE = "model.sig"
SIGNATURE_FILES = frozenset({HMAC_SIGNATURE_FILE, OPENSSF_SIGNATURE_FILE})

#: Artifact kinds (manifest ``kind``; absent means an estimator, for artifacts written before).
KIND_ESTIMATOR = "estimator"
KIND_RECOMMENDER = "recommender"
KINDS = (KIND_ESTIMATOR, KIND_RECOMMENDER)
#: A recommender's pickle-free files (see artifacts/recommender.py).
IDS_FILE = "ids.json"
RECOMMENDER_ARRAYS = (
    "user_factors.npy",
    "item_factors.npy",
    "seen_indptr.npy",
    "seen_items.npy",
    "popularity.npy",
)
REQUIRED_FILES = {
    KIND_ESTIMATOR: (MODEL_FILE,),
    KIND_RECOMMENDER: (*RECOMMENDER_ARRAYS, IDS_FILE),
}

#: Names of models, versions and files: no separators, no leading dot, bounded length.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Upper bound on one artifact's total size read into memory (2 GiB).
MAX_ARTIFACT_BYTES = 2 << 30


def check_name(value: str, what: str) -> str:
    """Return `value` if it is a safe single path component, else raise InvalidName."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value) or ".." in value:
        raise InvalidName(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' "
            "(no path separators, not starting with '.')"
        )
    return value


def check_version(value: str) -> str:
    """A version a new artifact may be saved under: a safe name, and not ``latest``."""
    check_name(value, "version")
    if value == LATEST:
        raise InvalidName(f"version {LATEST!r} is reserved (it means the newest); pick another")
    return value


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(path: Path) -> dict[str, bytes]:
    """Read every file of an artifact directory into memory after checking the layout.

    Refuses symlinks (the directory itself or any entry), sub-directories, special files and
    unsafe names, before reading a single byte of content.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ArtifactNotFound(f"artifact not found: {path}") from None
    if stat.S_ISLNK(st.st_mode):
        raise LayoutError(f"{path} is a symlink; artifacts must be real directories")
    if not stat.S_ISDIR(st.st_mode):
        raise ArtifactNotFound(f"{path} is not an artifact directory")
    files: dict[str, bytes] = {}
    total = 0
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        check_name(entry.name, "file name")
        if entry.is_symlink():
            raise LayoutError(f"{entry.name} in {path} is a symlink; refusing to follow it")
        if not entry.is_file(follow_symlinks=False):
            raise LayoutError(f"{entry.name} in {path} is not a regular file")
        budget = MAX_ARTIFACT_BYTES - total
        if entry.stat(follow_symlinks=False).st_size > budget:
            raise LayoutError(f"{path} is larger than {MAX_ARTIFACT_BYTES} bytes")
        files[entry.name] = _read_nofollow(Path(entry.path), budget)
        total += len(files[entry.name])
    return files


def _read_nofollow(path: Path, limit: int) -> bytes:
    """Read at most `limit` bytes of a file, refusing (at open time) to follow a symlink swapped
    in after the scan; a file that grew past the limit since it was listed is refused."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LayoutError(f"{path.parent} is larger than {MAX_ARTIFACT_BYTES} bytes")
    return data


def content_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files a signature covers: everything except signature files."""
    return {name: data for name, data in files.items() if name not in SIGNATURE_FILES}
