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

What is not buffered is still bounded: a chunked body, a body over the limit (the application
answers 413 from the header, without reading it) and, with TLS terminated in Gunicorn, the
whole request (the bytes are encrypted on the event loop) are read by the thread with a kernel
receive/send timeout of ``SERVING_READ_TIMEOUT`` on the socket.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import struct
import time
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker

from .settings import Settings

#: Header blocks larger than this go to Gunicorn's parser as they are, which refuses them
#: (its own limits: 4094-byte request line, 100 fields of 8190 bytes).
MAX_HEADER_BYTES = 64 * 1024
_RECV_BYTES = 256 * 1024
_END_OF_HEADERS = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,19})[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
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


class BufferingWorker(ThreadWorker):
    """gthread, with each request read in full by the event loop before a thread serves it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = Settings.from_env()
        self.read_timeout = settings.read_timeout
        self.max_body = settings.max_body_bytes
        self.buffering: dict[object, float] = {}  # connection → deadline, in arrival order

    def enqueue_req(self, conn) -> None:
        """Called for every request: a new connection, or a kept-alive one that became readable."""
        _kernel_timeouts(conn.sock, self.read_timeout)
        if self.cfg.is_ssl:
            super().enqueue_req(conn)  # encrypted here: the thread reads, under kernel timeouts
            return
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.inbox = bytearray(held)
        conn.sock.setblocking(False)
        if request_complete(conn.inbox, self.max_body):
            self._dispatch(conn)
            return
        self.buffering[conn] = time.monotonic() + self.read_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn, _sock) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._forget(conn)
            self._close(conn)
            return
        conn.inbox += data
        if request_complete(conn.inbox, self.max_body):
            self._forget(conn)
            self._dispatch(conn)

    def _dispatch(self, conn) -> None:
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
