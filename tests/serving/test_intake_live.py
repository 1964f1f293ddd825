"""What an anonymous client can make a worker do before a thread runs (issue 27, items 1-3).

Against the real Gunicorn with the buffering worker: chunked bodies trickled slowly, bodies on
open endpoints, over-limit and odd Content-Length values, hundreds of stalled large uploads,
and bursts of requests without credentials.
"""

from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import threading
import time
from collections import Counter

import numpy as np
import pytest
import requests
from PIL import Image
from urllib3 import encode_multipart_formdata

from .auth_files import write_credentials
from .live import live_server, wait_until

WORKERS, THREADS = 2, 2
READ_TIMEOUT = 4
BUDGET = 32 * 1024 * 1024


@pytest.fixture(scope="module")
def creds(tmp_path_factory):
    return write_credentials(tmp_path_factory.mktemp("intake-creds"))


@pytest.fixture(scope="module")
def server(session_store, creds, tmp_path_factory):
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": str(WORKERS),
        "SERVING_THREADS": str(THREADS),
        "SERVING_READ_TIMEOUT": str(READ_TIMEOUT),
        "SERVING_RELOAD_INTERVAL": "0",
        "SERVING_ACCESS_LOG": "false",
        **creds.env(),
    }
    log = tmp_path_factory.mktemp("intake") / "server.log"
    with live_server(env, log) as live:
        yield live


def _connect(port: int, sent: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if sent:
        sock.sendall(sent)
    return sock


def _reply(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    sock.settimeout(timeout)
    started, reply = time.monotonic(), b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            reply += chunk
    return reply, time.monotonic() - started


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def _healthz_fast(base: str) -> float:
    started = time.monotonic()
    response = requests.get(base + "/healthz", timeout=5, headers={"Connection": "close"})
    assert response.status_code == 200
    return time.monotonic() - started


CHUNKED_PREDICT = (
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@pytest.mark.slow
@pytest.mark.serial  # a 1 s bound on /healthz: not beside another test's load
@pytest.mark.parametrize("factor", [1, 4])
def test_trickled_chunked_bodies_never_stop_probes_and_get_408(server, factor):
    """Item 1: chunked bodies trickled a byte at a time are buffered by the event loop."""
    count = WORKERS * THREADS * factor
    socks = [_connect(server.port, CHUNKED_PREDICT) for _ in range(count)]
    started = time.monotonic()
    replies: dict[int, tuple[bytes, float]] = {}

    def trickle(n: int, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            for _ in range(READ_TIMEOUT * 3):
                if select.select([sock], [], [], 0.5)[0]:
                    break  # answered: stop sending, so the answer is not lost to a reset
                sock.sendall(b"1\r\n[\r\n")  # one byte of body per chunk, every half second
        replies[n] = _reply(sock, READ_TIMEOUT * 3)

    threads = [threading.Thread(target=trickle, args=(n, s)) for n, s in enumerate(socks)]
    for thread in threads:
        thread.start()
    slowest = 0.0
    while time.monotonic() - started < READ_TIMEOUT + 2:
        slowest = max(slowest, _healthz_fast(server.base))
        time.sleep(0.25)
    for thread in threads:
        thread.join(timeout=60)
    for sock in socks:
        sock.close()
    assert slowest < 1.0, f"/healthz took {slowest:.2f}s beside {count} chunked tricklers"
    assert len(replies) == count
    for reply, _ in replies.values():
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_a_body_on_an_open_endpoint_is_refused_before_it_is_sent(server):
    """Item 1: probes and other open endpoints read no body; the head alone is refused."""
    for head in (
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
        b"GET /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n",
    ):
        with _connect(server.port, head) as sock:  # and the body never comes
            reply, waited = _reply(sock, READ_TIMEOUT * 2)
        assert _status(reply) == 413, reply[:300]
        assert waited < READ_TIMEOUT, "answered only at the read timeout"
        problem = json.loads(reply.partition(b"\r\n\r\n")[2])
        assert problem["detail"] == "this endpoint takes no request body"


def test_an_over_limit_body_is_refused_from_its_head(server):
    """Item 2: the route's cap applies as soon as the head is known (JSON: max_json_bytes)."""
    head = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (3 * 1024 * 1024)
    )
    with _connect(server.port, head) as sock:
        reply, waited = _reply(sock, READ_TIMEOUT * 2)
    assert _status(reply) == 413, reply[:300]
    assert b"SERVING_MAX_JSON_BYTES" in reply
    assert waited < READ_TIMEOUT


def test_leading_zeros_in_content_length_are_buffered_like_gunicorn_reads_them(
    server, creds, session_store
):
    """Item 1: a Content-Length of 20+ digits is still the body's length, read in the loop."""
    body = json.dumps({"pixels": session_store.images[0].tolist()}).encode()
    head = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer %s\r\nConnection: close\r\n"
        b"Content-Length: %s\r\n\r\n" % (creds.api_key.encode(), b"0" * 30 + b"%d" % len(body))
    )
    with _connect(server.port, head + body) as sock:
        reply, _ = _reply(sock, 30)
    assert _status(reply) == 200, reply[:300]
    assert b'"digit"' in reply


def test_chunked_request_is_served_whole(server, creds, session_store):
    """A chunked body that arrives in full is de-chunked by Gunicorn from the loop's buffer."""
    body = json.dumps({"pixels": session_store.images[0].tolist()}).encode()
    parts = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    def chunks():
        yield from parts

    response = requests.post(
        server.base + "/predict",
        data=chunks(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {creds.api_key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == int(session_store.labels[0])


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 4\r\nContent-Length: 5\r\n",
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked, gzip\r\n",
        b"Content-Length: +4\r\n",
    ],
)
def test_ambiguous_framing_is_a_400_before_any_body(server, framing):
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n"
    with _connect(server.port, head) as sock:
        reply, waited = _reply(sock, READ_TIMEOUT * 2)
    assert _status(reply) == 400, reply[:300]
    assert waited < READ_TIMEOUT


@pytest.mark.slow
@pytest.mark.serial  # worker RSS: not beside another test's load
def test_stalled_large_uploads_stay_within_the_budget(session_store, creds, tmp_path):
    """Item 2: 200 connections each announcing an 8 MiB upload and sending 1 MiB of it."""
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": "1",
        "SERVING_READ_TIMEOUT": "20",
        "SERVING_BUFFER_BUDGET_BYTES": str(BUDGET),
        "SERVING_RELOAD_INTERVAL": "0",
        "SERVING_ACCESS_LOG": "false",
        **creds.env(),
    }
    head = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\n"
        b"Content-Length: %d\r\n\r\n" % (8 * 1024 * 1024 - 1)
    )
    part = b"\0" * (1024 * 1024)
    with live_server(env, tmp_path / "server.log") as server:
        (pid,) = server.worker_pids()
        requests.get(server.base + "/healthz", timeout=5)
        before = server.worker_rss_kb()[pid]
        socks, refused = [], 0
        for _ in range(200):
            sock = _connect(server.port, head)
            socks.append(sock)
            if select.select([sock], [], [], 0.2)[0]:  # refused from the head alone
                reply, _ = _reply(sock, 5)
                refused += _status(reply) == 503 and b"Retry-After: 1" in reply
                continue
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                sock.sendall(part)
        time.sleep(1.0)  # the loop has read what was sent
        grown_kb = server.worker_rss_kb()[pid] - before
        body = json.dumps({"pixels": session_store.images[0].tolist()})
        response = requests.post(
            server.base + "/predict",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {creds.api_key}",
            },
            timeout=10,
        )
        for sock in socks:
            sock.close()
    print(f"200 stalled 8 MiB uploads: worker grew {grown_kb} kB, {refused} refused from the head")
    assert response.status_code == 200, response.text
    assert refused >= 190, f"only {refused} of 200 stalled uploads were refused"
    margin_kb = 48 * 1024  # Python objects, socket buffers, one response
    assert grown_kb < BUDGET // 1024 + margin_kb, f"worker grew {grown_kb} kB"


def _burst(port: int, count: int, request: bytes) -> list[int]:
    """``count`` connections opened first, then the same request sent on each at once."""
    socks = [_connect(port) for _ in range(count)]
    try:
        for sock in socks:
            sock.sendall(request)
        return [_status(_reply(sock, 30)[0]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.slow
@pytest.mark.serial  # readiness under a measured overload: not beside another test's load
def test_anonymous_bursts_leave_the_pod_ready_and_real_overload_does_not(
    session_store, creds, tmp_path
):
    """Item 3: 40 requests without credentials every 4 s never make /readyz say 503; a
    sustained overload by 16 clients with a valid key does."""
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": "1",
        "SERVING_RELOAD_INTERVAL": "0",
        "SERVING_ACCESS_LOG": "false",
        **creds.env(),
    }
    big = Image.fromarray((session_store.images[0].reshape(28, 28) * 255).astype(np.uint8))
    png = io.BytesIO()
    big.resize((1400, 1400), Image.NEAREST).save(png, format="PNG")
    body, content_type = encode_multipart_formdata({"file": ("d.png", png.getvalue(), "image/png")})
    anonymous = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (content_type.encode(), len(body))
    ) + body
    keyed = {"Content-Type": content_type, "Authorization": f"Bearer {creds.api_key}"}
    with live_server(env, tmp_path / "server.log") as server:
        url = server.base + "/predict"
        ready: list[int] = []
        probing = threading.Event()
        probing.set()

        def probe() -> None:
            while probing.is_set():
                ready.append(requests.get(server.base + "/readyz", timeout=5).status_code)
                time.sleep(0.25)

        prober = threading.Thread(target=probe)
        prober.start()
        anonymous_statuses: list[int] = []
        for _ in range(4):
            anonymous_statuses += _burst(server.port, 40, anonymous)
            time.sleep(4)
        probing.clear()
        prober.join(timeout=30)
        answers = Counter(anonymous_statuses)
        print(f"anonymous bursts: /readyz {dict(Counter(ready))}, answers {dict(answers)}")
        assert set(anonymous_statuses) <= {401, 503}, anonymous_statuses
        assert 503 in anonymous_statuses  # the bursts were refused: they did overload it
        assert set(ready) == {200}, ready

        stop = time.monotonic() + 6
        overloaded: list[int] = []

        def hammer() -> None:
            with requests.Session() as session:
                while time.monotonic() < stop:
                    session.post(url, data=body, headers=keyed, timeout=10)

        # more clients than a worker holds (8): its line overflows, a real overload
        hammers = [threading.Thread(target=hammer) for _ in range(16)]
        for thread in hammers:
            thread.start()
        while time.monotonic() < stop:
            overloaded.append(requests.get(server.base + "/readyz", timeout=5).status_code)
            time.sleep(0.25)
        for thread in hammers:
            thread.join(timeout=30)
        assert 503 in overloaded, overloaded
        assert wait_until(lambda: requests.get(server.base + "/readyz", timeout=5).ok, 30)
