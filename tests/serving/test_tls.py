"""Gunicorn serves HTTPS with SERVING_TLS_CERT_FILE/KEY_FILE (a self-signed pair made here)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .auth_files import write_credentials
from .live import running_server

pytestmark = pytest.mark.slow


def self_signed(directory, common_name: str = "127.0.0.1"):
    """A P-256 key and a certificate for 127.0.0.1/localhost, valid for one day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture(scope="module")
def https_server(_session_store, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = self_signed(directory)
    creds = write_credentials(directory / "creds")
    env = {
        "SERVING_MODEL_STORE": str(_session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(_session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "SERVING_TLS_CERT_FILE": str(cert_file),
        "SERVING_TLS_KEY_FILE": str(key_file),
        "WEB_CONCURRENCY": "1",
        **creds.env(),
    }
    with running_server(env, directory / "server.log", ca_file=cert_file) as base:
        yield base, cert_file, creds


def test_https_with_the_certificate_as_trust_root(https_server, digit):
    base, cert_file, creds = https_server
    assert base.startswith("https://")
    response = requests.post(
        base + "/predict",
        json={"pixels": digit[0].tolist()},
        headers={"Authorization": f"Bearer {creds.api_key}"},
        verify=str(cert_file),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == digit[1]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_auth_still_applies_over_tls(https_server):
    base, cert_file, _ = https_server
    response = requests.post(base + "/predict", verify=str(cert_file), timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="model-server"'
    metrics = requests.get(base + "/metrics", verify=str(cert_file), timeout=10).text
    assert 'model_server_auth_failures_total{reason="missing"}' in metrics  # multiprocess mode


def test_untrusted_certificate_is_rejected_by_clients(https_server):
    base, _, _ = https_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(base + "/healthz", timeout=10)  # system trust store does not know it


def test_plain_http_is_not_served(https_server):
    base, _, _ = https_server
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(base.replace("https://", "http://") + "/healthz", timeout=10)


def test_modern_tls_is_negotiated(https_server):
    base, cert_file, _ = https_server
    host, port = base.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(cert_file))
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
