"""Key files: generating them, and turning a path into a Signer or Verifier.

`auto` looks at the file: a PEM EC private key signs with openssf, a PEM public key verifies
with openssf, anything else is an HMAC secret. The server should hold only a public key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import KeyFileError, UnsupportedScheme
from .hmac_scheme import MIN_SECRET_BYTES, HmacSigner, HmacVerifier
from .openssf import OpenSSFSigner, OpenSSFVerifier

SCHEMES = ("hmac-sha256", "openssf")


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None


def _kind(data: bytes) -> str:
    head = data.lstrip()[:64]
    if head.startswith(b"-----BEGIN") and b"PRIVATE KEY" in head:
        return "private"
    if head.startswith(b"-----BEGIN") and b"PUBLIC KEY" in head:
        return "public"
    return "secret"


def _resolve(scheme: str, kind: str, path: Path) -> str:
    if scheme not in ("auto", *SCHEMES):
        raise UnsupportedScheme(f"unknown signature scheme {scheme!r}; use one of {SCHEMES}")
    if scheme == "auto":
        return "hmac-sha256" if kind == "secret" else "openssf"
    if scheme == "hmac-sha256" and kind != "secret":
        raise KeyFileError(f"{path} is a PEM key, not an HMAC secret")
    return scheme


def _secret(data: bytes, path: Path) -> bytes:
    secret = data.strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(
            f"HMAC secret in {path} is too short ({len(secret)} bytes; need at least "
            f"{MIN_SECRET_BYTES}); generate one with "
            "`python -m artifacts keygen --scheme hmac-sha256`"
        )
    return secret


def _check_ec(data: bytes, path: Path, private: bool) -> None:
    try:
        if private:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a valid unencrypted PEM key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise KeyFileError(f"{path} is not an elliptic-curve key (openssf needs ECDSA P-256)")


def load_signer(path: str | os.PathLike, scheme: str = "auto") -> HmacSigner | OpenSSFSigner:
    """A signer for the key at `path`: a PEM EC private key (openssf) or an HMAC secret file."""
    path = Path(path)
    data = _read(path)
    kind = _kind(data)
    chosen = _resolve(scheme, kind, path)
    if chosen == "hmac-sha256":
        return HmacSigner(_secret(data, path))
    if kind != "private":
        raise KeyFileError(f"{path} is not a private key; signing needs the private half")
    _check_ec(data, path, private=True)
    return OpenSSFSigner(path)


def load_verifier(path: str | os.PathLike, scheme: str = "auto") -> HmacVerifier | OpenSSFVerifier:
    """A verifier for the key at `path`: a PEM EC public key (openssf) or an HMAC secret file."""
    path = Path(path)
    data = _read(path)
    kind = _kind(data)
    chosen = _resolve(scheme, kind, path)
    if chosen == "hmac-sha256":
        return HmacVerifier(_secret(data, path))
    if kind != "public":
        raise KeyFileError(
            f"{path} is not a public key; give the verifier the public half "
            "(keep the private key with the training job)"
        )
    _check_ec(data, path, private=False)
    return OpenSSFVerifier(path)


def _write_private(path: Path, data: bytes) -> None:
    """Create a file readable only by its owner; refuse to overwrite an existing key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def generate_keys(scheme: str, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Create a new key (openssf: signing-key.pem + verify-key.pem; hmac: hmac.key)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if scheme == "hmac-sha256":
        path = out / "hmac.key"
        _write_private(path, secrets.token_hex(32).encode() + b"\n")
        return {"secret": path}
    if scheme != "openssf":
        raise UnsupportedScheme(f"unknown signature scheme {scheme!r}; use one of {SCHEMES}")
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private(out / "signing-key.pem", private)
    (out / "verify-key.pem").write_bytes(public)
    return {"private": out / "signing-key.pem", "public": out / "verify-key.pem"}
