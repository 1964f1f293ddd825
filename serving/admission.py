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
from http import HTTPStatus
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
BUFFER_BUDGET = "buffer_budget"  # refused before its body was read: the worker held too much
#: Readiness says no only after refusals went on this long, each within this much of the last:
#: a burst (however large) is not an overload.
SUSTAINED_SECONDS = 1.0
#: How long after the line last overflowed it keeps only the newest waiter per thread.
OVERFLOW_MEMORY_SECONDS = 1.0


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
        # When the line last overflowed: demand above capacity, not a burst or a fixed number
        # of clients waiting their turn (their line never overflows). For a second after that
        # the line holds one waiter per thread, the newest: a newcomer takes the place of the
        # oldest waiter, which is refused (and that counts as an overflow too), so the thread
        # that frees up next serves the most recent request and an admitted request's latency
        # stays near its service time instead of growing with the line. A thread that falls
        # idle for a moment does not end it: the line would fill up behind it again.
        self.overflowed_at = -math.inf
        self._dropped: list[Any] = []  # waiters whose place a newcomer took, to be refused
        self.last_rejected = -math.inf  # the last refusal that counts toward readiness
        self.refusing_since = math.inf  # when the current run of such refusals began
        self.on_reject: Callable[[str], None] = lambda reason: None

    @property
    def held(self) -> int:
        return self.running + len(self.waiting)

    def offer(self, item: Any, counted: Callable[[], bool] = lambda: True) -> Decision:
        """Admit ``item`` to a thread, queue it, or refuse it (counted as ``overloaded``).

        ``counted`` is asked only on a refusal: whether it counts toward readiness (the
        worker says so for requests with valid credentials).
        """
        now = self.clock()
        if self.running < self.running_limit and not self.waiting:
            self.running += 1
            return Decision.RUN
        if self.wait > 0 and self.overflowed(now):
            # overload: the newest request takes the place of the oldest, which is refused
            while len(self.waiting) >= self.running_limit:
                self._dropped.append(self.waiting.popleft()[1])
                self.overflowed_at = now
            self.waiting.append((now + self.wait, item))
            return Decision.WAIT
        if self.wait > 0 and self.held < self.limit:
            self.waiting.append((now + self.wait, item))
            return Decision.WAIT
        self.overflowed_at = now
        self.reject(OVERLOADED, counted())
        return Decision.REJECT

    def overflowed(self, now: float | None = None) -> bool:
        """Whether the line overflowed (or a waiter was displaced) in the last second."""
        now = self.clock() if now is None else now
        return now - self.overflowed_at < OVERFLOW_MEMORY_SECONDS

    def release(self) -> Any | None:
        """A running request finished: the oldest waiting item, which now holds its thread."""
        if self.waiting:
            return self.waiting.popleft()[1]
        self.running -= 1
        return None

    def expire(self, counted: Callable[[Any], bool] = lambda item: True) -> list[Any]:
        """Waiting items whose wait is over or whose place a newcomer took, to be refused."""
        now = self.clock()
        expired, self._dropped = self._dropped, []
        for item in expired:
            self.reject(OVERLOADED, counted(item))
        while self.waiting and self.waiting[0][0] <= now:
            item = self.waiting.popleft()[1]
            expired.append(item)
            self.reject(WAIT_TIMEOUT, counted(item))
        return expired

    def next_expiry(self) -> float | None:
        if self._dropped:
            return self.clock()
        return self.waiting[0][0] if self.waiting else None

    def reject(self, reason: str, counted: bool = True) -> None:
        """Count a refusal; ``counted`` ones (valid credentials) also feed readiness."""
        self.on_reject(reason)
        if not counted:
            return
        now = self.clock()
        if now - self.last_rejected > SUSTAINED_SECONDS:
            self.refusing_since = now  # a new run of refusals begins
        self.last_rejected = now

    def shedding(self) -> bool:
        """Whether readiness should say no: a sustained overload, lately.

        That is: counted refusals have gone on for :data:`SUSTAINED_SECONDS` (no gap longer
        than that), and the last one is under ``unready_for`` seconds old. A burst, or
        refusals of clients without valid credentials, never make a pod unready.
        """
        if self.unready_for <= 0:
            return False
        recent = self.clock() - self.last_rejected < self.unready_for
        return recent and self.last_rejected - self.refusing_since >= SUSTAINED_SECONDS


def is_probe(path: str) -> bool:
    return path in PROBE_PATHS


def overloaded_response(path: str, keep_alive: bool) -> bytes:
    """The whole ``503`` HTTP/1.1 response the event loop writes for a refused request.

    The same problem+json body as :class:`serving.errors.Overloaded` renders in the
    application, which answers the requests the event loop cannot (pipelined ones).
    """
    return problem_response(
        Overloaded.status,
        Overloaded.title,
        Overloaded.slug,
        OVERLOADED_DETAIL,
        path,
        keep_alive,
        (("Retry-After", str(RETRY_AFTER_SECONDS)),),
    )


def problem_response(
    status: int,
    title: str,
    slug: str,
    detail: str,
    path: str,
    keep_alive: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """A whole HTTP/1.1 problem+json response, as :mod:`serving.errors` renders one."""
    body = json.dumps(
        {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": path,
            "error": detail,
        }
    ).encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        f"Content-Type: {PROBLEM_JSON}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


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
