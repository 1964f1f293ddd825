"""`openssf`: the OpenSSF model-signing format (PyPI `model-signing`) with an ECDSA P-256 key.

Signatures are ordinary Sigstore bundles, so the upstream `model_signing verify key` command
accepts our artifacts. Verification runs on a private copy of the in-memory snapshot, so the
bytes that were verified are exactly the bytes the loader later unpickles.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from model_signing import hashing, signing, verifying

from ..errors import DigestMismatch, LayoutError, SignatureInvalid, SignatureMissing
from ..layout import OPENSSF_SIGNATURE_FILE, SIGNATURE_FILES

SCHEME = "openssf"


def _hashing_config() -> hashing.Config:
    # Both signature files are excluded so a dual-signed artifact verifies under either scheme;
    # git paths are NOT ignored: any extra file must fail verification.
    return hashing.Config().set_ignored_paths(paths=sorted(SIGNATURE_FILES), ignore_git_paths=False)


class OpenSSFSigner:
    scheme = SCHEME
    signature_file = OPENSSF_SIGNATURE_FILE

    def __init__(self, private_pem: bytes) -> None:
        self._private_pem = bytes(private_pem)

    def __repr__(self) -> str:  # never show the key
        return "OpenSSFSigner(ecdsa-p256)"

    def sign(self, directory: Path) -> None:
        directory = Path(directory)
        with tempfile.TemporaryDirectory(prefix="sign-") as tmp:
            key_path = _private_file(Path(tmp) / "key.pem", self._private_pem)
            config = signing.Config().use_elliptic_key_signer(private_key=key_path)
            config.set_hashing_config(_hashing_config())
            config.sign(directory, directory / OPENSSF_SIGNATURE_FILE)


class OpenSSFVerifier:
    scheme = SCHEME
    signature_file = OPENSSF_SIGNATURE_FILE

    def __init__(self, public_pem: bytes) -> None:
        self._public_pem = bytes(public_pem)

    def __repr__(self) -> str:
        return "OpenSSFVerifier(ecdsa-p256)"

    def verify(self, files: dict[str, bytes]) -> None:
        if OPENSSF_SIGNATURE_FILE not in files:
            raise SignatureMissing(
                f"no {OPENSSF_SIGNATURE_FILE}: the artifact is not signed with the openssf scheme"
            )
        with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            model_dir = Path(tmp) / "model"
            model_dir.mkdir(mode=0o700)
            for name, data in files.items():
                (model_dir / name).write_bytes(data)
            signature = model_dir / OPENSSF_SIGNATURE_FILE
            key_path = _private_file(Path(tmp) / "verify-key.pem", self._public_pem)
            config = verifying.Config().use_elliptic_key_verifier(public_key=key_path)
            try:
                config.verify(model_dir, signature)
            except Exception as exc:  # noqa: BLE001 - the library raises many kinds; all mean "invalid"
                raise _translate(exc) from None


def _private_file(path: Path, data: bytes) -> Path:
    """Write key material (normalised PEM) where only this process can read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _translate(exc: Exception) -> Exception:
    """Map model-signing's exceptions onto our hierarchy with a one-line reason."""
    text = " ".join(str(exc).split())
    if "Extra files" in text:
        names = re.search(r"Extra files found in model '[^']*': ([^'\]\"]+)", text)
        return LayoutError(f"files not covered by the signature: {names[1] if names else text}")
    changed = re.findall(r"Hash mismatch for \\?'([^'\\]+)", text)
    if changed:
        return DigestMismatch(f"{', '.join(changed)} modified after signing (sha256 differs)")
    if "Missing files" in text:
        return DigestMismatch(f"signed files are missing: {text}")
    return SignatureInvalid(f"openssf signature does not verify with this public key ({text})")
