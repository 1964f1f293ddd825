"""Stalled clients against the real Gunicorn must not take /healthz down (issue 11, item 3)."""

from __future__ import annotations

import contextlib
import re
import select
import socket
import time

import pytest
import requests

from serving.worker import MAX_HEADER_BYTES, request_complete

from .live import accepted_by, live_server, wait_until

WORKERS, THREADS = 2, 2
STALLED = WORKERS * THREADS
READ_TIMEOUT = 4


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", False),
        (b"POST /p HTTP/1.1\r\ncontent-length:4\r\n\r\nabcd", True),
        (b"POST /p HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", True),  # over the limit: 413
        (b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n", False),  # buffered
        (b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", True),
        (b"POST /p HTTP/1.1\r\nContent-Length: 0000000000000000000004\r\n\r\nab", False),
        (b"POST /p HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", True),  # 400
        (b"GET /" + b"a" * MAX_HEADER_BYTES, True),  # parser refuses it
    ],
)
def test_request_complete(data, complete):
    assert request_complete(data, max_body=1000) is complete


@pytest.fixture(scope="module")
def server(session_store, tmp_path_factory):
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "WEB_CONCURRENCY": str(WORKERS),
        "SERVING_THREADS": str(THREADS),
        "SERVING_READ_TIMEOUT": str(READ_TIMEOUT),
        "SERVING_AUTH_ENABLED": "false",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
    }
    log = tmp_path_factory.mktemp("slow-clients") / "server.log"
    with live_server(env, log) as live:
        yield live


def _stall(port: int, sent: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(sent)
    return sock


def _taken(workers: list[int], sock: socket.socket) -> bool:
    """A worker holds the connection, or already answered it (a 408 once READ_TIMEOUT passed)."""
    return accepted_by(workers, sock.getsockname()[1]) or bool(select.select([sock], [], [], 0)[0])


PARTIAL_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PARTIAL_BODY = (
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 4000\r\n\r\n{"pixels": ['
)


@pytest.mark.slow
@pytest.mark.serial  # a 1 s bound on /healthz: not beside another test's load
@pytest.mark.parametrize("sent", [PARTIAL_HEADERS, PARTIAL_BODY], ids=["headers", "body"])
def test_stalled_clients_do_not_block_healthz(server, sent):
    with contextlib.ExitStack() as stack:
        stalled = [  # twice workers x threads
            stack.enter_context(_stall(server.port, sent)) for _ in range(STALLED * 2)
        ]
        workers = server.worker_pids()
        held = wait_until(lambda: all(_taken(workers, sock) for sock in stalled), 30)
        assert held, "every stalled connection is held by a worker, none left in the backlog"
        for _ in range(10):  # fresh connections, so both workers are asked
            started = time.monotonic()
            response = requests.get(
                f"{server.base}/healthz", timeout=1.0, headers={"Connection": "close"}
            )
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0


@pytest.mark.slow
def test_stalled_client_gets_408_after_read_timeout(server):
    sock = _stall(server.port, PARTIAL_HEADERS)
    with sock:
        started = time.monotonic()
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert READ_TIMEOUT - 0.5 <= waited < READ_TIMEOUT + 5


@pytest.mark.slow
def test_trickled_request_is_served(server, session_store):
    """A slow but complete request is buffered and then served normally (keep-alive too)."""
    body = b'{"instances": [[0.1, 0.2, 0.3, 0.4]]}'
    head = (
        b"POST /predict?model=tabular HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for request in (head + body, head + body):
            for start in range(0, len(request), 16):
                sock.sendall(request[start : start + 16])
                time.sleep(0.01)
            reply = _read_response(sock)
            assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
            assert b'"predictions"' in reply


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers and its Content-Length body) from a kept-alive socket."""
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(65536)
    head, _, body = reply.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.slow
@pytest.mark.parametrize(
    ("worker_class", "expected"),
    [("buffered", "serving.worker.BufferingWorker"), ("sync", "sync")],
)
def test_settings_say_what_runs(session_store, tmp_path, worker_class, expected):
    """sync with SERVING_THREADS=4 stays sync (Gunicorn would silently switch to gthread)."""
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "WEB_CONCURRENCY": "1",
        "SERVING_WORKER_CLASS": worker_class,
        "SERVING_THREADS": "4",
        "SERVING_AUTH_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
    }
    with live_server(env, tmp_path / "server.log", probe="/healthz") as live:
        log = live.log()
    assert f"Using worker: {expected}\n" in log, log[-2000:]
