"""Per-request deadlines: work whose answer nobody waits for any more is not started.

A request's clock starts when the worker saw it begin (:data:`serving.admission.ARRIVED`,
set by the buffered worker; elsewhere when the application gets it), so time spent waiting for
a thread counts. Its budget is ``SERVING_REQUEST_TIMEOUT`` seconds, or less when the client
says so with ``X-Request-Timeout: <seconds>`` (never more: the server's maximum caps it). A
request whose deadline has passed is answered ``504`` before parsing and again right before
the model call (:func:`check`), so an overloaded server does not spend CPU on answers that
would arrive too late. A model call that has started is not interrupted.
"""

from __future__ import annotations

import math
import time

from flask import Flask, g, has_request_context, request

from .admission import ARRIVED, DEADLINE, PROBE_PATHS
from .errors import DeadlineExceeded, InvalidTimeout
from .settings import Settings
from .state import server_state

HEADER = "X-Request-Timeout"


def budget(raw: str | None, maximum: float) -> float:
    """Seconds this request may take: the header's value capped by ``maximum``."""
    if raw is None:
        return maximum
    try:
        seconds = float(raw.strip())
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidTimeout(
            f"{HEADER} must be a positive number of seconds (e.g. 2.5), got {raw[:40]!r}"
        )
    return min(seconds, maximum)


def install(app: Flask, settings: Settings) -> None:
    """Give every request but the probes a deadline, and refuse it if that is already gone."""

    def start_clock() -> None:
        if request.path in PROBE_PATHS:
            return
        seconds = budget(request.headers.get(HEADER), settings.request_timeout)
        g.deadline = request.environ.get(ARRIVED, time.monotonic()) + seconds
        g.deadline_budget = seconds
        check()

    app.before_request(start_clock)


def check() -> None:
    """Raise :class:`DeadlineExceeded` (504) if the current request's deadline has passed."""
    if not has_request_context():
        return
    deadline = g.get("deadline")
    if deadline is None or time.monotonic() < deadline:
        return
    metrics = server_state().metrics
    if metrics is not None:
        metrics.record_rejection(DEADLINE)
    raise DeadlineExceeded(
        f"the request's deadline of {g.deadline_budget:g} s passed before its model ran "
        f"(SERVING_REQUEST_TIMEOUT, or the client's {HEADER}); the server is busy: "
        "retry later or with a longer timeout"
    )
