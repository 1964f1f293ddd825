"""`hmac-sha256`: the seed article's shared-secret signature, with SHA-256.

The signature file is JSON: the scheme, a key id, the sha256 of every covered file, and an
HMAC-SHA256 over the canonical JSON of those three. Verification checks the MAC first (wrong key or
a forged signature file), then every digest (a changed, added or removed file).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from ..errors import DigestMismatch, LayoutError, SignatureInvalid, SignatureMissing
from ..layout import HMAC_SIGNATURE_FILE, content_files, sha256_hex

SCHEME = "hmac-sha256"
_HEX = re.compile(r"[0-9a-f]+")
MIN_SECRET_BYTES = 32


def key_id(secret: bytes) -> str:
    """A short public fingerprint of the secret, so errors can say 'signed with another key'."""
    return hashlib.sha256(b"spark-model-server key id\0" + secret).hexdigest()[:16]


def _statement(kid: str, digests: dict[str, str]) -> bytes:
    body = {"scheme": SCHEME, "key_id": kid, "files": dict(sorted(digests.items()))}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _mac(secret: bytes, statement: bytes) -> str:
    return hmac.new(secret, statement, hashlib.sha256).hexdigest()


class HmacSigner:
    scheme = SCHEME
    signature_file = HMAC_SIGNATURE_FILE

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.key_id = key_id(secret)

    def __repr__(self) -> str:  # never show the secret
        return f"HmacSigner(key_id={self.key_id})"

    def sign(self, directory: Path) -> None:
        """Write signature.hmac covering every non-signature file in `directory`."""
        directory = Path(directory)
        digests = {
            p.name: sha256_hex(p.read_bytes())
            for p in sorted(directory.iterdir())
            if p.name not in (HMAC_SIGNATURE_FILE, "model.sig")
        }
        statement = _statement(self.key_id, digests)
        doc = {
            "scheme": SCHEME,
            "key_id": self.key_id,
            "files": dict(sorted(digests.items())),
            "mac": _mac(self._secret, statement),
        }
        (directory / HMAC_SIGNATURE_FILE).write_text(json.dumps(doc, indent=2) + "\n")


class HmacVerifier:
    scheme = SCHEME
    signature_file = HMAC_SIGNATURE_FILE

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.key_id = key_id(secret)

    def __repr__(self) -> str:
        return f"HmacVerifier(key_id={self.key_id})"

    def verify(self, files: dict[str, bytes]) -> None:
        """Raise unless `files` (name → bytes) carry a valid signature from our secret."""
        raw = files.get(HMAC_SIGNATURE_FILE)
        if raw is None:
            raise SignatureMissing(f"no {HMAC_SIGNATURE_FILE}: the artifact is not HMAC-signed")
        doc = _parse(raw)
        statement = _statement(doc["key_id"], doc["files"])
        if not hmac.compare_digest(_mac(self._secret, statement), doc["mac"]):
            if doc["key_id"] != self.key_id:
                raise SignatureInvalid(
                    f"signature made with another key (key id {doc['key_id']}, "
                    f"ours is {self.key_id})"
                )
            raise SignatureInvalid("HMAC does not match: the signature file was altered")
        _check_digests(doc["files"], content_files(files))


def _parse(raw: bytes) -> dict:
    try:
        doc = json.loads(raw)
        ok = (
            doc.get("scheme") == SCHEME
            and isinstance(doc.get("key_id"), str)
            and _is_hex(doc.get("mac"), 64)
            and isinstance(doc.get("files"), dict)
            and all(_is_hex(v, 64) for v in doc["files"].values())
        )
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise SignatureInvalid(f"{HMAC_SIGNATURE_FILE} is malformed or truncated")
    return doc


def _is_hex(value: object, length: int) -> bool:
    """A lowercase hex string of exactly `length` characters (compare_digest needs ASCII)."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None and len(value) == length


def _check_digests(signed: dict[str, str], actual: dict[str, bytes]) -> None:
    extra = sorted(set(actual) - set(signed))
    if extra:
        raise LayoutError(f"files not covered by the signature: {', '.join(extra)}")
    missing = sorted(set(signed) - set(actual))
    if missing:
        raise DigestMismatch(f"signed files are missing: {', '.join(missing)}")
    for name, data in actual.items():
        if not hmac.compare_digest(sha256_hex(data), signed[name]):
            raise DigestMismatch(f"{name} was modified after signing (sha256 differs)")
