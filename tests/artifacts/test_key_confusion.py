"""Key confusion: public key material must never become an HMAC secret.

An attacker knows the server's public key (and the signer's certificate). If any form of those
bytes were taken as an HMAC secret, the attacker could sign a malicious pickle with it. For each
variant of a public key file, an artifact HMAC-signed with the file's exact bytes must be refused
under every scheme setting, and its marker pickle must never run.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import artifacts
from artifacts.signing import HmacSigner, OpenSSFVerifier
from artifacts.signing.keys import classify

from .conftest import TABULAR, malicious_model_bytes


def _certificate_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "model signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _public_pem(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _variants(key) -> dict[str, bytes]:
    pem = _public_pem(key)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cert = _certificate_pem(key)
    return {
        "pem-with-bom": b"\xef\xbb\xbf" + pem,
        "pem-with-comment": b"# production verify key, rotated 2026-11\n" + pem,
        "pem-crlf": pem.replace(b"\n", b"\r\n"),
        "pem-indented": b"   \n\t" + pem,
        "certificate": cert,
        "certificate-with-text": b"Subject: CN=model signer\n" + cert,
        "der-public-key": der,
        "der-certificate": x509.load_pem_x509_certificate(cert).public_bytes(
            serialization.Encoding.DER
        ),
    }


def _load_with(key_file, scheme, path):
    return artifacts.load(path, verifier=artifacts.load_verifier(key_file, scheme=scheme))


VARIANTS = [
    "pem-with-bom",
    "pem-with-comment",
    "pem-crlf",
    "pem-indented",
    "certificate",
    "certificate-with-text",
    "der-public-key",
    "der-certificate",
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scheme", ["auto", "hmac-sha256", "openssf"])
def test_public_key_bytes_never_verify_an_hmac_forgery(tmp_path, ec_key, variant, scheme):
    key_file = tmp_path / "verify-key"
    key_file.write_bytes(_variants(ec_key)[variant])
    marker = tmp_path / "PWNED"
    # The attacker: any estimator, signed with the public file's bytes as if they were a secret.
    path = artifacts.save(
        {"not": "a model"},
        tmp_path / "store",
        "mnist",
        version="9",
        signer=HmacSigner(key_file.read_bytes()),
        input_schema=TABULAR,
    )
    (path / "model.joblib.gz").write_bytes(malicious_model_bytes(marker))
    with pytest.raises(artifacts.ArtifactError):
        _load_with(key_file, scheme, path)
    assert not marker.exists(), "a forged HMAC signature made with public bytes was accepted"


@pytest.mark.parametrize("variant", VARIANTS)
def test_public_key_variants_are_read_as_what_they_are(tmp_path, ec_key, variant):
    key_file = tmp_path / "k"
    key_file.write_bytes(_variants(ec_key)[variant])
    material = classify(key_file)
    assert material.kind == "public"
    assert material.data == _public_pem(ec_key)
    assert isinstance(artifacts.load_verifier(key_file), OpenSSFVerifier)
    with pytest.raises(artifacts.KeyFileError, match="not a key for the hmac-sha256 scheme"):
        artifacts.load_verifier(key_file, scheme="hmac-sha256")


def test_certificate_verifies_what_its_key_signed(tmp_path, ec_key, estimator):
    private = tmp_path / "signing-key.pem"
    private.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert = tmp_path / "signer.crt"
    cert.write_bytes(_certificate_pem(ec_key))
    path = artifacts.save(
        estimator,
        tmp_path / "store",
        "demo",
        version="1",
        signer=artifacts.load_signer(private),
        input_schema=TABULAR,
    )
    loaded = artifacts.load(path, verifier=artifacts.load_verifier(cert, scheme="openssf"))
    assert loaded.manifest["name"] == "demo"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x" * 64, "neither an HMAC secret"),
        (b"correct horse battery staple correct horse battery", "neither an HMAC secret"),
        (b"hmac-sha256:c2hvcnQ\n", "too short"),
        (b"hmac-sha256:" + b"A" * 43 + b"\n-----BEGIN PUBLIC KEY-----\n", "truncated or malformed"),
        (b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "not a valid"),
        (b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n", "truncated"),
        (b"\x00\x01\x02binary junk" * 8, "neither an HMAC secret"),
        (b"", "neither an HMAC secret"),
    ],
)
def test_unrecognised_key_files_are_refused_with_one_line(tmp_path, content, message):
    key_file = tmp_path / "k"
    key_file.write_bytes(content)
    for scheme in ("auto", "openssf", "hmac-sha256"):
        with pytest.raises(artifacts.KeyFileError, match=message) as info:
            artifacts.load_verifier(key_file, scheme=scheme)
        assert "\n" not in str(info.value)


def test_rsa_key_is_refused(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "rsa.pem"
    key_file.write_bytes(_public_pem(key))
    with pytest.raises(artifacts.KeyFileError, match="not an elliptic-curve key"):
        artifacts.load_verifier(key_file)


def test_two_pem_blocks_are_refused(tmp_path, ec_key):
    key_file = tmp_path / "k"
    key_file.write_bytes(_public_pem(ec_key) + _certificate_pem(ec_key))
    with pytest.raises(artifacts.KeyFileError, match="2 PEM blocks"):
        artifacts.load_verifier(key_file)


def test_keygen_secret_has_its_own_format(tmp_path):
    path = artifacts.generate_keys("hmac-sha256", tmp_path)["secret"]
    text = path.read_text()
    assert text.startswith("hmac-sha256:")
    assert text.endswith("\n")
    material = classify(path)
    assert material.kind == "secret"
    assert len(material.data) == 32


def test_legacy_hex_secret_needs_the_scheme_named(tmp_path, estimator):
    legacy = tmp_path / "hmac.key"
    legacy.write_text("ab" * 32 + "\n")
    with pytest.raises(artifacts.KeyFileError, match="neither an HMAC secret"):
        artifacts.load_verifier(legacy)
    signer = artifacts.load_signer(legacy, scheme="hmac-sha256")
    assert signer.key_id == HmacSigner(("ab" * 32).encode()).key_id  # the earlier key bytes
    path = artifacts.save(
        estimator, tmp_path / "s", "demo", version="1", signer=signer, input_schema=TABULAR
    )
    artifacts.verify(path, artifacts.load_verifier(legacy, scheme="hmac-sha256"))


def test_oversized_key_file_is_refused_before_reading(tmp_path):
    key_file = tmp_path / "k"
    key_file.write_bytes(b"-" * (65 * 1024))
    with pytest.raises(artifacts.KeyFileError, match="no key file is that large"):
        artifacts.load_verifier(key_file)
