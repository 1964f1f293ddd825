"""Signature schemes. Each scheme has a Signer (writes one signature file into an artifact
directory) and a Verifier (checks an in-memory snapshot of the directory)."""

from .hmac_scheme import HmacSigner, HmacVerifier
from .keys import SCHEMES, generate_keys, load_signer, load_verifier
from .openssf import OpenSSFSigner, OpenSSFVerifier

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
