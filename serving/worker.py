"""A Gunicorn worker that no slow client can freeze: requests are read in full before a thread runs.

Gunicorn's ``gthread`` worker hands every accepted connection to a thread, which then blocks in
``recv()`` until the request headers arrive. A handful of clients that send half a request line
and stall occupy every thread, and ``/healthz`` queues behind them for as long as they like
(Gunicorn 27 waits up to 5 s for the *first* byte on the poller, but not for the rest). The
``sync`` worker is worse: one such client stops the whole worker until the master kills it.

:class:`BufferingWorker` keeps gthread's thread pool, keep-alive handling and graceful shutdown,
and changes one step: before a request goes to a thread, the worker's event loop reads it
without blocking into memory — the headers, and a ``Content-Length`` body up to
``SERVING_MAX_BODY_BYTES`` — much like nginx's request buffering. A client that has not sent all
of it within ``SERVING_READ_TIMEOUT`` seconds is answered ``408`` and closed; until then it only
costs a socket and its bytes so far. Threads only ever see complete requests, so a thread is
busy exactly as long as the application runs.

With TLS terminated in Gunicorn the event loop also does the TLS handshake and decrypts the
request (non-blocking, as it reads plain ones), so HTTPS requests are buffered, admitted and
held in line exactly like plain ones. What is not buffered is still bounded: a chunked body and
a body over the limit (the application answers 413 from the header, without reading it) are
read by the thread with a kernel receive/send timeout of ``SERVING_READ_TIMEOUT`` on the
socket.

The same event loop does admission control (:mod:`serving.admission`): a complete request
gets a thread if one of ``threads`` is free, else waits in a bounded FIFO for one, else is
answered ``503`` with ``Retry-After`` right there — so a thread never sits in a hidden queue,
and the executor always has one spare thread for probes. The time the worker saw a request
begin goes to the application as the start of its deadline (:mod:`serving.deadline`).
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from concurrent import futures
from functools import partial
from typing import NamedTuple

from gunicorn import http
from gunicorn import sock as gunicorn_sock
from gunicorn.workers.gthread import ThreadWorker

from .admission import ARRIVED, GATE, VERDICT, Decision, Gate, is_probe, overloaded_response
from .settings import Settings

#: Header blocks larger than this go to Gunicorn's parser as they are, which refuses them
#: (its own limits: 4094-byte request line, 100 fields of 8190 bytes).
MAX_HEADER_BYTES = 64 * 1024
_RECV_BYTES = 256 * 1024
_END_OF_HEADERS = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,19})[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
_CONNECTION_CLOSE = re.compile(rb"^connection[ \t]*:[^\r\n]*\bclose\b", re.I | re.M)
_REQUEST_LINE = re.compile(rb"^[A-Z]+ ([^ ?#]*)[^ ]* HTTP/1\.([01])\r?$")
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 36\r\n\r\n"
    b"request not received in time; retry\n"
)


def request_complete(data: bytes | bytearray, max_body: int) -> bool:
    """Whether ``data`` holds one whole request (or as much as this worker will buffer).

    Complete means: the header block has ended, and either there is no ``Content-Length``
    body, or all of it is here. A chunked or over-limit body counts as complete at the end
    of the headers (the thread reads or refuses the rest), and so does a header block that
    outgrows :data:`MAX_HEADER_BYTES` (Gunicorn's parser rejects it).
    """
    end = data.find(_END_OF_HEADERS)
    if end < 0:
        return len(data) > MAX_HEADER_BYTES
    head = bytes(data[:end])
    if _TRANSFER_ENCODING.search(head):
        return True
    lengths = _CONTENT_LENGTH.findall(head)
    if len(lengths) != 1:
        return True  # none, or conflicting ones that the parser refuses
    length = int(lengths[0])
    return length > max_body or len(data) >= end + len(_END_OF_HEADERS) + length


class Head(NamedTuple):
    """What the event loop needs to know of a buffered request to route or refuse it."""

    path: str  # "" when the request line does not parse (Gunicorn's parser will refuse it)
    whole: bool  # the data is exactly this one request, body included: answerable right here
    keep_alive: bool


def request_head(data: bytes | bytearray) -> Head:
    """Read the path, completeness and persistence of a request :func:`request_complete` passed."""
    end = data.find(_END_OF_HEADERS)
    if end < 0:
        return Head("", False, False)
    head = bytes(data[:end])
    line = _REQUEST_LINE.match(head.split(b"\n", 1)[0])
    if line is None:
        return Head("", False, False)
    lengths = _CONTENT_LENGTH.findall(head)
    size = int(lengths[0]) if len(lengths) == 1 else 0
    whole = (
        len(lengths) <= 1
        and not _TRANSFER_ENCODING.search(head)
        and len(data) == end + len(_END_OF_HEADERS) + size
    )
    keep_alive = line.group(2) == b"1" and not _CONNECTION_CLOSE.search(head)
    return Head(line.group(1).decode("latin-1"), whole, keep_alive)


class BufferingWorker(ThreadWorker):
    """gthread, with each request read in full by the event loop before a thread serves it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = Settings.from_env()
        self.read_timeout = settings.read_timeout
        self.max_body = settings.max_body_bytes
        self.buffering: dict[object, float] = {}  # connection → deadline, in arrival order
        self.gate = Gate(  # Gunicorn's threads: a --threads flag may override the setting
            settings.in_flight_limit_for(self.cfg.threads),
            self.cfg.threads,
            settings.admission_wait,
            settings.shed_unready_seconds,
        )
        self.serving = threading.local()  # the connection a thread is serving

    def get_thread_pool(self) -> futures.ThreadPoolExecutor:
        """One thread more than admission lets requests use: probes never queue behind models."""
        return futures.ThreadPoolExecutor(max_workers=self.cfg.threads + 1)

    def load_wsgi(self) -> None:
        """Wrap the application: it learns when each request arrived and what admission said."""
        super().load_wsgi()
        app = self.wsgi
        self.gate.on_reject = _rejection_counter(app)

        def admitted_app(environ, start_response):
            conn = getattr(self.serving, "conn", None)  # None: HTTP/2 (not enabled here)
            environ[GATE] = self.gate
            if conn is not None:
                environ[ARRIVED] = conn.arrived
                if conn.verdict:
                    environ[VERDICT] = conn.verdict
            return app(environ, start_response)

        self.wsgi = admitted_app

    def handle_request(self, req, conn):
        self.serving.conn = conn
        try:
            return super().handle_request(req, conn)
        finally:
            self.serving.conn = None

    def enqueue_req(self, conn) -> None:
        """Called for every request: a new connection, or a kept-alive one that became readable."""
        conn.arrived = time.monotonic()
        conn.admitted, conn.verdict = False, None
        _kernel_timeouts(conn.sock, self.read_timeout)
        conn.handshaking = False
        if self.cfg.is_ssl and not conn.initialized:
            try:
                conn.sock = self._tls_wrap(conn.sock)
            except (OSError, ValueError) as exc:  # e.g. a certificate file gone mid-rotation
                self.log.warning("TLS setup failed for a new connection: %s", exc)
                self._close(conn)
                return
            conn.initialized = conn.handshaking = True  # gthread must not wrap it again
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.inbox = bytearray(held)
        conn.sock.setblocking(False)
        if not conn.handshaking and request_complete(conn.inbox, self.max_body):
            self._dispatch(conn)
            return
        self.buffering[conn] = time.monotonic() + self.read_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        if conn.handshaking or _pending(conn.sock):
            self._readable(conn, conn.sock)  # TLS may hold bytes the selector cannot see

    def _tls_wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        """The connection as a server-side TLS socket whose handshake the event loop drives.

        The context is Gunicorn's own (certificate, key, CA, ciphers, ALPN), built per
        connection as Gunicorn builds it, so a renewed certificate is served without a restart.
        """
        context = gunicorn_sock.ssl_context(self.cfg)
        return context.wrap_socket(
            sock,
            server_side=True,
            do_handshake_on_connect=False,
            suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
        )

    def _readable(self, conn, _sock) -> None:
        """Progress on a connection being buffered: the TLS handshake, then the request bytes."""
        complete = False
        try:
            if conn.handshaking:
                conn.sock.do_handshake()
                conn.handshaking = False
                self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
            while not complete:  # until the socket (and TLS's own buffer) has no more bytes
                data = conn.sock.recv(_RECV_BYTES)
                if not data:  # the client went away
                    break
                conn.inbox += data
                complete = request_complete(conn.inbox, self.max_body)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return  # wait for the next readable event
        except ssl.SSLWantWriteError:  # the handshake has to send first
            self.poller.modify(conn.sock, selectors.EVENT_WRITE, partial(self._readable, conn))
            return
        except OSError:  # reset, or a failed handshake (ssl.SSLError): nothing to answer
            pass
        self._forget(conn)
        if complete:
            self._dispatch(conn)
        else:
            self._close(conn)

    def _dispatch(self, conn) -> None:
        """A request is here in full: probes go to a thread, the rest through admission."""
        conn.head = request_head(conn.inbox)
        if is_probe(conn.head.path):
            self._to_thread(conn)
            return
        decision = self.gate.offer(conn)
        if decision is Decision.RUN:
            conn.admitted = True
            self._to_thread(conn)
        elif decision is Decision.REJECT:
            self._refuse(conn, "overloaded")
        # Decision.WAIT: the gate holds it until a thread is free or its wait is over

    def _refuse(self, conn, reason: str) -> None:
        """Answer 503 from here when the buffer holds exactly the request; else via a thread."""
        if not conn.head.whole:  # unread body or pipelined requests: the thread reads them
            conn.verdict = reason
            self._to_thread(conn)
            return
        keep_alive = conn.head.keep_alive and self.alive and self.cfg.keepalive
        keep_alive = keep_alive and len(self.keepalived_conns) < self.max_keepalived
        conn.inbox = bytearray()
        try:
            conn.sock.send(overloaded_response(conn.head.path, keep_alive))
        except OSError:
            keep_alive = False  # gone, or a full send buffer: not worth more effort
        if not keep_alive:
            self._close(conn)
            return
        conn.sock.setblocking(False)
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
        )

    def finish_request(self, conn, fs) -> None:
        """A thread is done: its slot goes to the oldest waiting request, if any."""
        if conn.admitted:
            conn.admitted = False
            waiting = self.gate.release()
            if waiting is not None:
                waiting.admitted = True
                self._to_thread(waiting)
        super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wake up in time to refuse requests whose admission wait is over."""
        expiry = self.gate.next_expiry()
        if expiry is not None:
            timeout = max(0.0, min(timeout, expiry - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        for conn in self.gate.expire():
            self._refuse(conn, "wait_timeout")

    def _to_thread(self, conn) -> None:
        """Give the buffered bytes to Gunicorn's parser and the connection to a thread."""
        conn.sock.setblocking(True)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.inbox))
        conn.inbox = bytearray()
        conn.data_ready = True  # gthread would otherwise wait for the (already read) first byte
        super().enqueue_req(conn)

    def murder_pending(self) -> None:
        """Also close, with a 408, connections whose request did not arrive in time."""
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.buffering.items()):
            if deadline > now:
                break  # insertion order is deadline order
            self._forget(conn)
            with contextlib.suppress(OSError):
                conn.sock.send(_TIMED_OUT)
            self._close(conn)

    def _forget(self, conn) -> None:
        del self.buffering[conn]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()


def _rejection_counter(app) -> Callable[[str], None]:
    """``reason → None`` that counts a refusal in the application's metrics (if it has any)."""
    from .state import EXTENSION_KEY

    state = getattr(app, "extensions", {}).get(EXTENSION_KEY)
    if state is None or state.metrics is None:
        return lambda reason: None
    return state.metrics.record_rejection


def _pending(sock: socket.socket) -> bool:
    """Whether a TLS socket holds decrypted bytes already (a plain socket never does)."""
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0


def _kernel_timeouts(sock: socket.socket, seconds: float) -> None:
    """SO_RCVTIMEO/SO_SNDTIMEO: a blocking read or write in a thread gives up after ``seconds``.

    Unlike ``settimeout`` these survive the ``setblocking(True)`` gthread calls before
    reading, and they apply under TLS too (the SSL layer reads through the same socket).
    """
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    except OSError:
        pass  # a socket that is already gone fails on its next use anyway
