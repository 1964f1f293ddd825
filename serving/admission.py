"""Admission control: a worker holds a bounded number of requests and sheds the rest at once.

Without it an overloaded pod queues requests in Gunicorn's thread pool and the kernel backlog
until clients time out, and every client waits. Here each buffered worker
(:mod:`serving.worker`) runs at most ``threads`` requests, lets at most
``SERVING_MAX_IN_FLIGHT`` minus that many wait for a thread, each for at most
``SERVING_ADMISSION_WAIT`` seconds, and answers everything beyond with ``503`` and
``Retry-After`` straight from its event loop — no thread, no model, no parsing.

:class:`Gate` is the bookkeeping, free of sockets so it can be tested on its own; the worker
calls it from its event loop only, so it needs no lock. Probes never pass through it: a
readiness or liveness check that an overloaded pod refuses would get it restarted or hide
why it is unready. The gate is handed to the application in the WSGI environ, where
``/readyz`` reads :meth:`Gate.shedding` (a pod that sheds load asks the Service for less).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from flask import Flask, json, request

from .errors import PROBLEM_BASE, PROBLEM_JSON, Overloaded

#: Paths that orchestrators and scrapers poll: never counted, delayed or refused.
PROBE_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/ping", "/health"}
)
#: WSGI environ keys the worker sets for the application.
ARRIVED = "serving.arrived"  # time.monotonic() when the worker saw the request begin
VERDICT = "serving.admission.verdict"  # a rejection reason the application must answer
GATE = "serving.admission.gate"  # the worker's Gate, for readiness
RETRY_AFTER_SECONDS = int(dict(Overloaded.headers)["Retry-After"])
OVERLOADED, WAIT_TIMEOUT, DEADLINE = "overloaded", "wait_timeout", "deadline"


class Decision(Enum):
    RUN = "run"
    WAIT = "wait"
    REJECT = "reject"


class Gate:
    """Counts one worker's requests: running, waiting (FIFO, each until a deadline), refused."""

    def __init__(
        self,
        limit: int,
        threads: int,
        wait: float,
        unready_for: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.running_limit = min(threads, limit)
        self.wait = wait
        self.unready_for = unready_for
        self.clock = clock
        self.running = 0
        self.waiting: deque[tuple[float, Any]] = deque()  # (give up at, item), oldest first
        self.last_rejected = -math.inf
        self.on_reject: Callable[[str], None] = lambda reason: None

    @property
    def held(self) -> int:
        return self.running + len(self.waiting)

    def offer(self, item: Any) -> Decision:
        """Admit ``item`` to a thread, queue it, or refuse it (counted as ``overloaded``)."""
        if self.running < self.running_limit and not self.waiting:
            self.running += 1
            return Decision.RUN
        if self.wait > 0 and self.held < self.limit:
            self.waiting.append((self.clock() + self.wait, item))
            return Decision.WAIT
        self.reject(OVERLOADED)
        return Decision.REJECT

    def release(self) -> Any | None:
        """A running request finished: the oldest waiting item, which now holds its thread."""
        if self.waiting:
            return self.waiting.popleft()[1]
        self.running -= 1
        return None

    def expire(self) -> list[Any]:
        """Waiting items whose wait is over, removed and counted as ``wait_timeout``."""
        now = self.clock()
        expired = []
        while self.waiting and self.waiting[0][0] <= now:
            expired.append(self.waiting.popleft()[1])
            self.reject(WAIT_TIMEOUT)
        return expired

    def next_expiry(self) -> float | None:
        return self.waiting[0][0] if self.waiting else None

    def reject(self, reason: str) -> None:
        self.last_rejected = self.clock()
        self.on_reject(reason)

    def shedding(self) -> bool:
        """Whether readiness should say no: every slot is held, or a request was refused lately."""
        if self.unready_for <= 0:
            return False
        return self.held >= self.limit or self.clock() - self.last_rejected < self.unready_for


def is_probe(path: str) -> bool:
    return path in PROBE_PATHS


def overloaded_response(path: str, keep_alive: bool) -> bytes:
    """The whole ``503`` HTTP/1.1 response the event loop writes for a refused request.

    The same problem+json body as :class:`serving.errors.Overloaded` renders in the
    application, which answers the requests the event loop cannot (TLS, unbuffered bodies).
    """
    body = json.dumps(
        {
            "type": PROBLEM_BASE + Overloaded.slug,
            "title": Overloaded.title,
            "status": Overloaded.status,
            "detail": OVERLOADED_DETAIL,
            "instance": path,
            "error": OVERLOADED_DETAIL,
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER_SECONDS}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


OVERLOADED_DETAIL = (
    "the server is at its limit of requests in flight (SERVING_MAX_IN_FLIGHT); "
    f"retry after {RETRY_AFTER_SECONDS} s, preferably on another replica"
)


def install(app: Flask, open_paths: Iterable[str] = PROBE_PATHS) -> None:
    """Answer in the application the requests the worker refused but could not answer itself."""
    exempt = frozenset(open_paths)

    def refuse_if_told() -> None:
        reason = request.environ.get(VERDICT)
        if reason and request.path not in exempt:
            raise Overloaded(OVERLOADED_DETAIL)

    app.before_request(refuse_if_told)


def shedding() -> bool:
    """Whether the worker serving this request is shedding load (False outside a buffered one)."""
    gate = request.environ.get(GATE)
    return gate is not None and gate.shedding()
