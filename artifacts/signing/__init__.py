"""Signature schemes. Each scheme has a Signer (writes one signature file into an artifact
directory) and a Verifier (checks an in-memory snapshot of the directory).

The OpenSSF scheme's classes are imported on first use: its ``model_signing`` stack is a large
import that a server verifying HMAC signatures never needs (start-up time, memory per worker).
"""

from typing import Any

from .hmac_scheme import HmacSigner, HmacVerifier
from .keys import SCHEMES, generate_keys, load_signer, load_verifier

__all__ = [
    "SCHEMES",
    "HmacSigner",
    "HmacVerifier",
    "OpenSSFSigner",
    "OpenSSFVerifier",
    "generate_keys",
    "load_signer",
    "load_verifier",
]


def __getattr__(name: str) -> Any:
    if name in ("OpenSSFSigner", "OpenSSFVerifier"):
        from . import openssf

        return getattr(openssf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
