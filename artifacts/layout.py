"""What an artifact directory may contain, and reading it safely into memory.

Loading works on an in-memory snapshot of the directory: the bytes that are verified are the
bytes that get unpickled, so swapping a file after verification cannot smuggle code in.
"""

from __future__ import annotations

import errno
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
#: Upper bound on manifest.json (4 MiB; real ones are tens of KiB). It is read, and for the
#: serving registry parsed, before its signature is checked, so its size is the attacker's.
MAX_MANIFEST_BYTES = 4 << 20
#: Upper bound on a signature file (1 MiB; real ones are a few KiB), read before verification.
MAX_SIGNATURE_BYTES = 1 << 20
#: Files with a tighter bound than the artifact's total.
FILE_LIMITS = {
    MANIFEST_FILE: MAX_MANIFEST_BYTES,
    HMAC_SIGNATURE_FILE: MAX_SIGNATURE_BYTES,
    OPENSSF_SIGNATURE_FILE: MAX_SIGNATURE_BYTES,
}


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
        files[entry.name] = read_bounded(Path(entry.path), min(budget, file_limit(entry.name)))
        total += len(files[entry.name])
    return files


def file_limit(name: str) -> int:
    """The most bytes the artifact file ``name`` may have."""
    return FILE_LIMITS.get(name, MAX_ARTIFACT_BYTES)


def read_bounded(path: Path, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes, as every read before verification must.

    Opened without following a symlink (also one swapped in after a scan) and without blocking
    on a FIFO; its size is checked on the open file before a byte is read, so a sparse or huge
    file costs nothing, and a file that grows while being read is refused (artifacts are
    immutable).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LayoutError(f"{path} is a symlink; refusing to follow it") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise LayoutError(f"{path} is not a regular file")
        if st.st_size > limit:
            raise LayoutError(f"{path} has {st.st_size} bytes; at most {limit} are read")
        data = fh.read(st.st_size + 1)  # not `limit`: read(n) reserves n bytes up front
    if len(data) > st.st_size:
        raise LayoutError(f"{path} grew while being read")
    return data


def content_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files a signature covers: everything except signature files."""
    return {name: data for name, data in files.items() if name not in SIGNATURE_FILES}
