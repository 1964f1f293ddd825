"""Init container: download a model store tarball, unpack it safely, verify every artifact.

Runs in the serving image (it has Python and the `artifacts` package). Configured by env:
FETCH_URL (.tar.gz of <name>/<version>/ directories: https://, or http:// only together with
FETCH_SHA256, the tarball's pin; the pin is recommended either way),
FETCH_DEST (the store, an emptyDir), SERVING_VERIFY_KEY_FILE and SERVING_SIGNATURE_SCHEME.
Exits 1 with one line on stderr if anything is wrong, so the pod never starts on a bad artifact.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

import artifacts

log = logging.getLogger("fetch-artifact")
MAX_BYTES = 2 * 1024**3
CHUNK = 1 << 20


class FetchError(Exception):
    """Anything that should stop the pod from starting."""


def download(url: str, target: Path, expected_sha256: str) -> None:
    """Stream `url` to `target`, bounded in size, and check the sha256 pin (if any)."""
    check_source(url, expected_sha256)
    digest, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=60) as resp, target.open("wb") as out:  # noqa: S310
        while chunk := resp.read(CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                raise FetchError(f"{url} is larger than {MAX_BYTES} bytes")
            digest.update(chunk)
            out.write(chunk)
    if expected_sha256 and digest.hexdigest() != expected_sha256.lower():
        raise FetchError(f"sha256 mismatch: got {digest.hexdigest()}, expected {expected_sha256}")


def check_source(url: str, expected_sha256: str) -> None:
    """https://, or http:// with a sha256 pin: a tarball nobody on the path can swap unnoticed.

    The signatures are verified regardless, but without either an attacker on the path could
    serve an older, validly signed store (a rollback) or a different model's signed artifact.
    """
    pin = expected_sha256.strip().lower()
    if pin and (len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin)):
        raise FetchError("FETCH_SHA256 must be 64 hex digits (sha256sum of the tarball)")
    if url.startswith("https://"):
        return
    if url.startswith("http://"):
        if not pin:
            raise FetchError(
                "plain http:// needs FETCH_SHA256 (model.download.sha256): use https:// or pin "
                "the tarball's sha256"
            )
        return
    raise FetchError(f"FETCH_URL must be https:// (or http:// with a sha256 pin), got {url!r}")


def safe_extract(tarball: Path, into: Path) -> None:
    """Extract regular files and directories only; refuse absolute paths, '..' and links."""
    with tarfile.open(tarball, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            parts = PurePosixPath(member.name).parts
            if member.name.startswith("/") or ".." in parts:
                raise FetchError(f"unsafe path in tarball: {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise FetchError(f"tarball entry {member.name!r} is not a file or directory")
        for member in members:
            target = into.joinpath(*PurePosixPath(member.name).parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)


def fetch(url: str, sha256: str, dest: Path, key_file: Path, scheme: str) -> list[str]:
    """Download, unpack into a scratch dir beside `dest`, verify, then move into `dest`."""
    verifier = artifacts.load_verifier(key_file, scheme=scheme)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".fetch-") as scratch:
        scratch_dir = Path(scratch)
        tarball = scratch_dir / "store.tar.gz"
        download(url, tarball, sha256)
        unpacked = scratch_dir / "store"
        unpacked.mkdir()
        safe_extract(tarball, unpacked)
        refs = artifacts.list_artifacts(unpacked)
        if not refs:
            raise FetchError(f"{url} holds no <name>/<version>/ artifact")
        for ref in refs:
            artifacts.verify(ref.path, verifier)
        for model_dir in sorted(p for p in unpacked.iterdir() if p.is_dir()):
            shutil.copytree(model_dir, dest / model_dir.name, dirs_exist_ok=True)
    return [f"{ref.name}/{ref.version}" for ref in refs]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    env = os.environ
    try:
        fetched = fetch(
            env["FETCH_URL"],
            env.get("FETCH_SHA256", ""),
            Path(env.get("FETCH_DEST", "/models")),
            Path(env["SERVING_VERIFY_KEY_FILE"]),
            env.get("SERVING_SIGNATURE_SCHEME", "auto"),
        )
    except KeyError as exc:
        log.error("error: environment variable %s is not set", exc)
        return 1
    except (FetchError, artifacts.ArtifactError, OSError, tarfile.TarError) as exc:
        log.error("error: %s", exc)
        return 1
    log.info("verified and installed %s", ", ".join(fetched))
    return 0


if __name__ == "__main__":
    sys.exit(main())
