"""EC keys and certificates (openssf scheme): parsing PEM/DER, generating a P-256 pair.

Its own module so that ``cryptography`` is imported only when a key file is not an HMAC secret
(see :mod:`.keys`, which classifies key files and imports this on demand).
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import KeyFileError
from .material import KeyMaterial

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh ECDSA P-256 key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _private_pem(key), _public_pem(key.public_key())


def _public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def parse_key(data: bytes, path: Path) -> KeyMaterial | None:
    """A PEM (anywhere in the file) or DER key/certificate, normalised to plain PEM."""
    blocks = _PEM_BLOCK.findall(data)
    if b"-----BEGIN" in data and not blocks:
        raise KeyFileError(f"{path} contains a truncated or malformed PEM block")
    if len(blocks) > 1:
        raise KeyFileError(f"{path} holds {len(blocks)} PEM blocks; give exactly one key")
    if blocks:
        label, _ = blocks[0]
        pem = _PEM_BLOCK.search(data)[0] + b"\n"
        return _load_pem(label.decode(), pem, path)
    return _load_der(data, path)


def _load_pem(label: str, pem: bytes, path: Path) -> KeyMaterial:
    try:
        if label == "CERTIFICATE":
            key = x509.load_pem_x509_certificate(pem).public_key()
        elif "PRIVATE KEY" in label:
            key = serialization.load_pem_private_key(pem, password=None)
        elif "PUBLIC KEY" in label:
            key = serialization.load_pem_public_key(pem)
        else:
            raise KeyFileError(f"{path} holds a PEM {label!r}, not a key or certificate")
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a valid unencrypted PEM key: {exc}") from None
    return _material(key, path)


def _load_der(data: bytes, path: Path) -> KeyMaterial | None:
    for loader in (
        serialization.load_der_public_key,
        lambda raw: serialization.load_der_private_key(raw, password=None),
        lambda raw: x509.load_der_x509_certificate(raw).public_key(),
    ):
        try:
            key = loader(data)
        except (ValueError, TypeError):
            continue
        return _material(key, path)
    return None


def _material(key: object, path: Path) -> KeyMaterial:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return KeyMaterial("private", _private_pem(key))
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyMaterial("public", _public_pem(key))
    raise KeyFileError(f"{path} is not an elliptic-curve key (openssf needs ECDSA P-256)")
