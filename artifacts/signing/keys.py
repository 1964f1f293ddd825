"""Key files: generating them, and turning a path into a Signer or Verifier.

A key file is classified strictly, by what it *is*, never by what it is not:

- an HMAC secret only in its own format, ``hmac-sha256:<base64url of >= 32 random bytes>``
  (what ``keygen --scheme hmac-sha256`` writes); the hex secrets written by earlier releases are
  accepted only when the scheme is named explicitly (``hmac-sha256``);
- an EC private or public key in PEM (a UTF-8 BOM, comment lines or other text around the PEM
  block are tolerated) or DER; an X.509 certificate counts as its public key.

Anything else is refused with a one-line error. In particular a public key or a certificate,
whose bytes anyone may know, can never become an HMAC secret — that confusion would let anyone
forge a signature. ``auto`` therefore picks the scheme from an unambiguous classification.

EC keys are parsed by :mod:`.ec_keys`, imported only for a file that is not an HMAC secret: a
server verifying HMAC signatures never imports ``cryptography`` (memory, start-up time).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KeyFileError, UnsupportedScheme
from .hmac_scheme import MIN_SECRET_BYTES, HmacSigner, HmacVerifier
from .material import KeyMaterial

if TYPE_CHECKING:  # imported when an EC key is used: model_signing is a large import
    from .openssf import OpenSSFSigner, OpenSSFVerifier

SCHEMES = ("hmac-sha256", "openssf")
HMAC_PREFIX = "hmac-sha256:"
_HMAC_FORMAT = re.compile(r"hmac-sha256:([A-Za-z0-9_-]+={0,2})")
_LEGACY_HEX = re.compile(r"[0-9a-fA-F]{64,}")
_MAX_KEY_FILE_BYTES = 64 * 1024


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > _MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path} is {size} bytes; no key file is that large")
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None


def _hmac_secret(data: bytes, path: Path, *, legacy_ok: bool) -> bytes | None:
    """The secret if `data` is in an HMAC secret format, else None."""
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    match = _HMAC_FORMAT.fullmatch(text)
    if match:
        try:
            secret = base64.urlsafe_b64decode(match[1] + "=" * (-len(match[1]) % 4))
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{path}: the HMAC secret is not valid base64url") from None
    elif legacy_ok and _LEGACY_HEX.fullmatch(text):
        secret = text.encode()  # earlier releases used the hex text itself as the key
    else:
        return None
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(
            f"HMAC secret in {path} is too short ({len(secret)} bytes; need at least "
            f"{MIN_SECRET_BYTES}); generate one with "
            "`python -m artifacts keygen --scheme hmac-sha256`"
        )
    return secret


def classify(path: str | os.PathLike, scheme: str = "auto") -> KeyMaterial:
    """Read and classify a key file; refuses anything that is not unambiguously one kind."""
    if scheme not in ("auto", *SCHEMES):
        raise UnsupportedScheme(f"unknown signature scheme {scheme!r}; use one of {SCHEMES}")
    path = Path(path)
    data = _read(path)
    secret = _hmac_secret(data, path, legacy_ok=scheme == "hmac-sha256")
    if secret is not None:
        material = KeyMaterial("secret", secret)
    else:
        from .ec_keys import parse_key

        material = parse_key(data, path)
    if material is None:
        raise KeyFileError(
            f"{path} is neither an HMAC secret ({HMAC_PREFIX}…, written by `python -m artifacts "
            "keygen --scheme hmac-sha256`) nor an EC key or certificate in PEM/DER"
        )
    wanted = {"hmac-sha256": ("secret",), "openssf": ("private", "public")}.get(scheme)
    if wanted and material.kind not in wanted:
        what = "an HMAC secret" if material.kind == "secret" else f"a {material.kind} EC key"
        raise KeyFileError(f"{path} is {what}, not a key for the {scheme} scheme")
    return material


def load_signer(path: str | os.PathLike, scheme: str = "auto") -> HmacSigner | OpenSSFSigner:
    """A signer for the key at `path`: a PEM EC private key (openssf) or an HMAC secret file."""
    material = classify(path, scheme)
    if material.kind == "secret":
        return HmacSigner(material.data)
    if material.kind != "private":
        raise KeyFileError(f"{path} is not a private key; signing needs the private half")
    from .openssf import OpenSSFSigner

    return OpenSSFSigner(material.data)


def load_verifier(path: str | os.PathLike, scheme: str = "auto") -> HmacVerifier | OpenSSFVerifier:
    """A verifier for the key at `path`: a PEM EC public key or certificate (openssf) or an HMAC
    secret file."""
    material = classify(path, scheme)
    if material.kind == "secret":
        return HmacVerifier(material.data)
    if material.kind != "public":
        raise KeyFileError(
            f"{path} is not a public key; give the verifier the public half "
            "(keep the private key with the training job)"
        )
    from .openssf import OpenSSFVerifier

    return OpenSSFVerifier(material.data)


def format_secret(secret: bytes) -> bytes:
    """The on-disk form of an HMAC secret."""
    return (HMAC_PREFIX + base64.urlsafe_b64encode(secret).decode().rstrip("=") + "\n").encode()


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
        _write_private(path, format_secret(secrets.token_bytes(32)))
        return {"secret": path}
    if scheme != "openssf":
        raise UnsupportedScheme(f"unknown signature scheme {scheme!r}; use one of {SCHEMES}")
    from .ec_keys import new_key_pair

    private, public = new_key_pair()
    _write_private(out / "signing-key.pem", private)
    (out / "verify-key.pem").write_bytes(public)
    return {"private": out / "signing-key.pem", "public": out / "verify-key.pem"}
