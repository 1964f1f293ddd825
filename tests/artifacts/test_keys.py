"""Key files: auto-detection, wrong kinds, and secrets that never leak into reprs."""

from __future__ import annotations

import pytest

import artifacts
from artifacts.signing import HmacSigner, HmacVerifier, OpenSSFSigner, OpenSSFVerifier


def test_auto_detects_each_kind(tmp_path):
    ec = artifacts.generate_keys("openssf", tmp_path / "ec")
    secret = artifacts.generate_keys("hmac-sha256", tmp_path / "h")["secret"]
    assert isinstance(artifacts.load_signer(ec["private"]), OpenSSFSigner)
    assert isinstance(artifacts.load_verifier(ec["public"]), OpenSSFVerifier)
    assert isinstance(artifacts.load_signer(secret), HmacSigner)
    assert isinstance(artifacts.load_verifier(secret), HmacVerifier)


def test_public_key_cannot_sign(tmp_path):
    ec = artifacts.generate_keys("openssf", tmp_path)
    with pytest.raises(artifacts.KeyFileError, match="not a private key"):
        artifacts.load_signer(ec["public"])


def test_pem_is_not_an_hmac_secret(tmp_path):
    ec = artifacts.generate_keys("openssf", tmp_path)
    with pytest.raises(artifacts.KeyFileError, match="not a key for the hmac-sha256 scheme"):
        artifacts.load_verifier(ec["public"], scheme="hmac-sha256")


def test_garbage_pem_is_rejected(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(artifacts.KeyFileError, match="not a valid"):
        artifacts.load_verifier(bad)


def test_unknown_scheme(tmp_path):
    (tmp_path / "k").write_text("x" * 64)
    with pytest.raises(artifacts.UnsupportedScheme):
        artifacts.load_verifier(tmp_path / "k", scheme="rot13")
    with pytest.raises(artifacts.UnsupportedScheme):
        artifacts.generate_keys("rot13", tmp_path)


def test_secret_never_in_repr(tmp_path):
    path = artifacts.generate_keys("hmac-sha256", tmp_path)["secret"]
    secret = path.read_text().strip()
    for obj in (artifacts.load_signer(path), artifacts.load_verifier(path)):
        assert secret not in repr(obj)
        assert secret not in str(vars(obj).get("key_id"))
