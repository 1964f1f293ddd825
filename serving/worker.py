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
held in line exactly like plain ones.

No thread ever reads a request body from the socket. The loop follows ``Content-Length`` and
chunked bodies alike (:mod:`serving.framing`, with Gunicorn's parsing rules, so both agree on
where a request ends), and applies the body limit of the request's route
(:mod:`serving.intake`) as soon as its head is known: an open endpoint takes no body, JSON gets
``SERVING_MAX_JSON_BYTES``, uploads ``SERVING_MAX_BODY_BYTES``; a larger body is answered
``413`` and the connection closed before the body is read. Malformed framing is answered
``400`` the same way. All the bytes the loop holds for requests still arriving count against
one budget per worker (``SERVING_BUFFER_BUDGET_BYTES``); a request that would exceed it is
answered ``503`` with ``Retry-After`` and closed, and the last quarter of the budget is kept for
small requests, so stalled large uploads cannot starve ordinary clients.

The same event loop does admission control (:mod:`serving.admission`): a complete request
gets a thread if one of ``threads`` is free, else waits in a bounded FIFO for one, else is
answered ``503`` with ``Retry-After`` right there — so a thread never sits in a hidden queue,
and the executor always has one spare thread for probes. A refusal counts toward readiness
only when the refused request carried valid credentials: anonymous bursts cannot make a pod
unready. The time the worker saw a request
begin goes to the application as the start of its deadline (:mod:`serving.deadline`).
"""

from __future__ import annotations

import contextlib
import os
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

from . import intake as intake_module
from .admission import (
    ARRIVED,
    BUFFER_BUDGET,
    GATE,
    RETRY_AFTER_SECONDS,
    VERDICT,
    Decision,
    Gate,
    is_probe,
    overloaded_response,
    problem_response,
)
from .errors import Overloaded
from .framing import BadFraming, ChunkedBody, FramingError, Head, TooLarge, parse_head
from .settings import Settings

#: Header blocks larger than this go to Gunicorn's parser as they are, which refuses them
#: (its own limits: 4094-byte request line, 100 fields of 8190 bytes).
MAX_HEADER_BYTES = 64 * 1024
#: Requests up to this size may use the whole buffer budget; larger ones only three quarters.
SMALL_REQUEST_BYTES = 64 * 1024
_RECV_BYTES = 256 * 1024
#: How long a half-closed connection is drained for its client's FIN (as gthread's linger).
LINGER_SECONDS = 2.0
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 36\r\n\r\n"
    b"request not received in time; retry\n"
)


class OverBudget(Exception):
    """Holding more of this request would pass the worker's buffer budget."""


def request_complete(data: bytes | bytearray, max_body: int) -> bool:
    """Whether ``data`` holds one whole request, for a route whose body limit is ``max_body``.

    Complete means: the header block has ended and the whole body (``Content-Length`` or
    chunked) is here, or the request is one the event loop answers without reading more
    (over the limit, malformed framing), or the header block outgrew
    :data:`MAX_HEADER_BYTES` (Gunicorn's parser rejects it).
    """
    try:
        return Framer(max_body).advance(data) is not None
    except FramingError:
        return True


class Framer:
    """Where the request at the start of a buffer ends, followed as its bytes arrive.

    :meth:`advance` returns the offset just past the request once it is all here, else None;
    it raises :class:`serving.framing.FramingError` for a request to be answered at once.
    ``limit_for`` gives the body limit of a request from its head.
    """

    def __init__(self, limit_for: int | Callable[[Head], int]) -> None:
        self.limit_for = limit_for if callable(limit_for) else (lambda head: limit_for)
        self.head: Head | None = None
        self.body: ChunkedBody | None = None
        self.end: int | None = None  # where the request ends, once known

    def advance(self, data: bytes | bytearray) -> int | None:
        if self.head is None:
            head = parse_head(data)
            if head is None:
                return len(data) if len(data) > MAX_HEADER_BYTES else None
            self.head = head
            if head.refused:
                raise BadFraming(
                    "the request line or the body's framing headers are malformed "
                    "(Content-Length, Transfer-Encoding)"
                )
            limit = self.limit_for(head)
            if head.length > limit:
                raise TooLarge(limit)
            if head.chunked:
                self.body = ChunkedBody(head.end, limit)
            else:
                self.end = head.end + head.length
        if self.body is not None and self.end is None:
            self.end = self.body.feed(data)
        if self.end is None or len(data) < self.end:
            return None
        return self.end

    @property
    def expected(self) -> int | None:
        """The request's whole size as soon as its head says it (not for chunked bodies)."""
        return self.end if self.body is None else None

    def routing(self, data: bytes | bytearray) -> Routing:
        """Path, wholeness and persistence of the request :meth:`advance` found complete."""
        if self.head is None or self.head.refused:
            return Routing("", False, False)
        return Routing(self.head.path, self.end == len(data), self.head.keep_alive)


class Routing(NamedTuple):
    """What the event loop needs to know of a buffered request to route or refuse it."""

    path: str  # "" when the request line does not parse (Gunicorn's parser will refuse it)
    whole: bool  # the data is exactly this one request, body included: answerable right here
    keep_alive: bool


def request_head(data: bytes | bytearray) -> Routing:
    """Read the path, completeness and persistence of a request :func:`request_complete` passed."""
    framer = Framer(len(data))
    with contextlib.suppress(FramingError):
        framer.advance(data)
    return framer.routing(data)


class BufferingWorker(ThreadWorker):
    """gthread, with each request read in full by the event loop before a thread serves it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = Settings.from_env()
        self.read_timeout = settings.read_timeout
        self.max_body = settings.max_body_bytes
        self.budget = settings.buffer_budget_for(self.cfg.workers)
        self.held_bytes = 0  # bytes of requests being buffered, across all connections
        self.buffering: dict[object, float] = {}  # connection → deadline, in arrival order
        self.lingering: dict[socket.socket, float] = {}  # half-closed socket → when to give up
        self.gate = Gate(  # Gunicorn's threads: a --threads flag may override the setting
            settings.in_flight_limit_for(self.cfg.threads),
            self.cfg.threads,
            settings.admission_wait,
            settings.shed_unready_seconds,
        )
        self.intake: intake_module.Intake | None = None
        self.tls_context: tuple[tuple, ssl.SSLContext] | None = None  # (files' mtimes, context)
        self.serving = threading.local()  # the connection a thread is serving

    def get_thread_pool(self) -> futures.ThreadPoolExecutor:
        """One thread more than admission lets requests use: probes never queue behind models."""
        return futures.ThreadPoolExecutor(max_workers=self.cfg.threads + 1)

    def load_wsgi(self) -> None:
        """Wrap the application: it learns when each request arrived and what admission said."""
        super().load_wsgi()
        app = self.wsgi
        self.gate.on_reject = _rejection_counter(app)
        self.intake = intake_module.of(app)

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
        conn.framer = Framer(self._body_limit)
        conn.reserved = 0
        conn.sock.setblocking(False)
        self.buffering[conn] = time.monotonic() + self.read_timeout
        if not conn.handshaking and held and self._progress(conn):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        if conn.handshaking or _pending(conn.sock):
            self._readable(conn, conn.sock)  # TLS may hold bytes the selector cannot see

    def _tls_wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        """The connection as a server-side TLS socket whose handshake the event loop drives.

        The context is Gunicorn's own (certificate, key, CA, ciphers, ALPN), rebuilt only
        when one of its files changed, so a renewed certificate is served without a restart
        and a flood of new connections costs the loop a few ``stat`` calls each.
        """
        stamp = _mtimes(self.cfg.certfile, self.cfg.keyfile, self.cfg.ca_certs)
        if self.tls_context is None or self.tls_context[0] != stamp:
            self.tls_context = (stamp, gunicorn_sock.ssl_context(self.cfg))
        return self.tls_context[1].wrap_socket(
            sock,
            server_side=True,
            do_handshake_on_connect=False,
            suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
        )

    def _readable(self, conn, _sock) -> None:
        """Progress on a connection being buffered: the TLS handshake, then the request bytes."""
        try:
            if conn.handshaking:
                conn.sock.do_handshake()
                conn.handshaking = False
                self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
            while True:  # until the socket (and TLS's own buffer) has no more bytes
                data = conn.sock.recv(_RECV_BYTES)
                if not data:  # the client went away
                    break
                conn.inbox += data
                if self._progress(conn):
                    return
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return  # wait for the next readable event
        except ssl.SSLWantWriteError:  # the handshake has to send first
            self.poller.modify(conn.sock, selectors.EVENT_WRITE, partial(self._readable, conn))
            return
        except OSError:  # reset, or a failed handshake (ssl.SSLError): nothing to answer
            pass
        self._forget(conn)
        self._close(conn)

    def _progress(self, conn) -> bool:
        """Account for new bytes; True once the connection has left the buffering stage.

        It leaves it dispatched (the request is here in full) or answered and closed (framing
        refused, body over its limit, budget exhausted).
        """
        try:
            end = conn.framer.advance(conn.inbox)
            expected = conn.framer.expected
            self._hold(conn, max(len(conn.inbox), expected or 0))
        except FramingError as exc:
            self._answer(conn, exc)
            return True
        except OverBudget:
            self._answer_over_budget(conn)
            return True
        if end is None:
            return False
        self._forget(conn)
        self._dispatch(conn)
        return True

    def _body_limit(self, head: Head) -> int:
        if self.intake is None:  # not our application: one limit for every route
            return self.max_body
        content_type = head.get("Content-Type")
        binary = "INFERENCE-HEADER-CONTENT-LENGTH" in head.fields
        return self.intake.body_limit(head.method, head.path, content_type, binary)

    def _hold(self, conn, size: int) -> None:
        """Count ``size`` bytes as held for ``conn``, or raise :class:`OverBudget`."""
        more = size - conn.reserved
        if more <= 0:
            return
        allowed = self.budget if size <= SMALL_REQUEST_BYTES else self.budget * 3 // 4
        if self.held_bytes + more > allowed:
            raise OverBudget
        self.held_bytes += more
        conn.reserved = size

    def _answer(self, conn, error: FramingError) -> None:
        """Answer a request the loop refuses from its framing alone, and close the connection."""
        detail = error.detail
        if isinstance(error, TooLarge) and self.intake is not None:
            detail = self.intake.too_large(error.limit)  # names the setting to change
        head = conn.framer.head
        self._forget(conn)
        self._send_and_close(
            conn,
            problem_response(
                error.status, error.title, error.slug, detail, head.path if head else ""
            ),
        )

    def _answer_over_budget(self, conn) -> None:
        head = conn.framer.head
        self.gate.on_reject(BUFFER_BUDGET)
        self._forget(conn)
        detail = (
            f"the server holds as many bytes of incoming requests as it may "
            f"({self.budget} per worker, SERVING_BUFFER_BUDGET_BYTES); retry after "
            f"{RETRY_AFTER_SECONDS} s, preferably on another replica"
        )
        retry = (("Retry-After", str(RETRY_AFTER_SECONDS)),)
        response = problem_response(
            Overloaded.status,
            Overloaded.title,
            Overloaded.slug,
            detail,
            head.path if head else "",
            False,
            retry,
        )
        self._send_and_close(conn, response)

    def _send_and_close(self, conn, response: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sock.send(response)  # small: fits a send buffer; a stalled client loses it
        self._close(conn)

    def _dispatch(self, conn) -> None:
        """A request is here in full: probes go to a thread, the rest through admission."""
        conn.head = conn.framer.routing(conn.inbox)  # framed once, as the bytes arrived
        if is_probe(conn.head.path):
            self._to_thread(conn)
            return
        decision = self.gate.offer(conn, counted=lambda: self._credentialed(conn))
        if decision is Decision.RUN:
            conn.admitted = True
            self._to_thread(conn)
        elif decision is Decision.REJECT:
            self._refuse(conn, "overloaded")
        # Decision.WAIT: the gate holds it until a thread is free or its wait is over

    def _credentialed(self, conn) -> bool:
        """Whether refusing ``conn`` counts toward readiness: it carries valid credentials."""
        if self.intake is None:
            return True
        head = conn.framer.head
        return self.intake.credentialed(head.get("Authorization") if head else "")

    def _refuse(self, conn, reason: str) -> None:
        """Answer 503 from here when the buffer holds exactly the request; else via a thread."""
        if not conn.head.whole:  # pipelined requests: the thread reads them
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
        """A thread is done: its slot goes to the oldest waiting request, if any.

        A connection that is not kept alive is closed gracefully (RFC 9112 §9.6: FIN, then
        reading until the client closes, so unread bytes do not turn into a reset that
        truncates the answer) without blocking this loop: gthread lingers up to 2 s per
        connection right here, so clients that asked for ``Connection: close`` and then kept
        their end open stalled every probe of the worker for seconds.
        """
        if conn.admitted:
            conn.admitted = False
            waiting = self.gate.release()
            if waiting is not None:
                waiting.admitted = True
                self._to_thread(waiting)
        if not fs.cancelled() and fs.exception() is None and fs.result() is False:
            self.nr_conns -= 1
            self._linger(conn.sock)
            return
        super().finish_request(conn, fs)

    def _linger(self, sock: socket.socket) -> None:
        """Half-close ``sock`` and drain it from the event loop until EOF or a deadline."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, partial(self._drain, sock))
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                sock.close()
            return
        self.lingering[sock] = time.monotonic() + LINGER_SECONDS

    def _drain(self, sock: socket.socket, _fileobj=None) -> None:
        try:
            while data := sock.recv(_RECV_BYTES):
                del data  # discarded: the answer has gone; only the client's FIN matters
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return
        except OSError:
            pass
        self._unlinger(sock)

    def _unlinger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wake up in time to refuse requests whose admission wait is over."""
        expiry = self.gate.next_expiry()
        if expiry is not None:
            timeout = max(0.0, min(timeout, expiry - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        for conn in self.gate.expire(counted=self._credentialed):
            self._refuse(conn, "overloaded")

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
        for sock, deadline in list(self.lingering.items()):
            if deadline > now:
                break  # insertion order is deadline order
            self._unlinger(sock)
        for conn, deadline in list(self.buffering.items()):
            if deadline > now:
                break  # insertion order is deadline order
            self._forget(conn)
            self._send_and_close(conn, _TIMED_OUT)

    def _forget(self, conn) -> None:
        """The connection leaves the buffering stage: its bytes no longer count as held."""
        self.held_bytes -= conn.reserved
        conn.reserved = 0
        self.buffering.pop(conn, None)
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


def _mtimes(*paths: str | None) -> tuple:
    """The modification times of the files a TLS context is built from (None for unset)."""
    stamp = []
    for path in paths:
        try:
            stamp.append(os.stat(path).st_mtime_ns if path else None)
        except OSError:
            stamp.append(None)  # gone: building the context says why
    return tuple(stamp)


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
