"""Gunicorn serves HTTPS with SERVING_TLS_CERT_FILE/KEY_FILE (a self-signed pair made here)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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
        # Eight requests at once queue behind one thread: room to wait on a loaded CI machine.
        "SERVING_ADMISSION_WAIT": "10",
        "SERVING_MAX_IN_FLIGHT": "8",
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


def _predict(base: str, cert_file, creds, digit, session=None) -> requests.Response:
    return (session or requests).post(
        base + "/predict",
        json={"pixels": digit[0].tolist()},
        headers={"Authorization": f"Bearer {creds.api_key}"},
        verify=str(cert_file),
        timeout=20,
    )


def test_concurrent_https_requests_wait_for_the_thread_instead_of_a_503(https_server, digit):
    """One worker with one thread: eight clients at once all get answers. The event loop
    decrypts each request and admission holds it in line (in-flight 8), as for plain HTTP;
    when the thread decrypted requests itself, admission could not hold one and refused it."""
    base, cert_file, creds = https_server
    start = threading.Barrier(8)

    def one(_) -> int:
        start.wait(timeout=20)
        return _predict(base, cert_file, creds, digit).status_code

    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            assert list(pool.map(one, range(8))) == [200] * 8


def test_stalled_tls_clients_hold_no_thread(https_server, digit):
    """A connection that never starts the handshake and one that stops halfway through its
    request cost a socket each, not the worker's only thread: another client is answered."""
    base, cert_file, creds = https_server
    host, port = base.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(cert_file))
    with (
        socket.create_connection((host, int(port)), timeout=10) as silent,
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as halfway,
    ):
        halfway.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        response = _predict(base, cert_file, creds, digit)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 5  # not after the stalled ones' 15 s read timeout
        assert silent.fileno() >= 0


def test_keep_alive_over_tls_serves_many_requests_on_one_connection(https_server, digit):
    base, cert_file, creds = https_server
    with requests.Session() as session:
        answers = [_predict(base, cert_file, creds, digit, session) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["digit"] for a in answers} == {digit[1]}


def test_a_certificate_unreadable_mid_rotation_closes_new_connections_not_the_worker(
    https_server, digit
):
    """The TLS context is built per connection (a renewed certificate needs no restart); while
    the file is missing, new connections are closed with a warning and the worker lives on."""
    base, cert_file, creds = https_server
    log = cert_file.parent / "server.log"
    aside = cert_file.with_suffix(".aside")
    cert_file.rename(aside)
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(base + "/healthz", verify=str(aside), timeout=10)
    finally:
        aside.rename(cert_file)
    assert _predict(base, cert_file, creds, digit).status_code == 200
    text = log.read_text()
    assert "TLS setup failed for a new connection" in text
    assert text.count("Booting worker") == 1  # the same worker answered before and after
