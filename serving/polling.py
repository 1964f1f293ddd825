"""A background poller per process, started by the first request after a fork.

Gunicorn forks workers without the master's threads, so a poller started at import or in the
master would not run in any worker. :meth:`Poller.ensure_polling` is installed as a
``before_request`` hook instead: the first request a process answers starts that process's
daemon thread, which calls :meth:`Poller.poll_once` every ``interval`` seconds and outlives any
one failed poll. The model store (:mod:`serving.reload`) and the credentials files
(:mod:`serving.auth.rotation`) are polled this way.
"""

from __future__ import annotations

import logging
import os
import threading

from prometheus_client import Counter


class Poller:
    """Calls :meth:`poll_once` every ``interval`` seconds (0 or less: never) in each process."""

    thread_name = "poller"
    #: Logged with the traceback when a poll raises; the poller keeps going.
    failure_message = "poll failed"
    #: The ``reloads`` counter outcome a failed poll counts, if any.
    error_outcome: str | None = None
    log = logging.getLogger(__name__)

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._poller_pid: int | None = None
        self._stop = threading.Event()
        self.reloads: Counter | None = None

    def poll_once(self) -> object:
        raise NotImplementedError

    def wants_polling(self) -> bool:
        return self.interval > 0

    def ensure_polling(self) -> None:
        """Start this process's poller if it has none (a ``before_request`` hook: returns None)."""
        if not self.wants_polling() or self._poller_pid == os.getpid():
            return
        with self._lock:
            if self._poller_pid == os.getpid():
                return
            self._poller_pid = os.getpid()
            thread = threading.Thread(target=self._poll_forever, name=self.thread_name, daemon=True)
            thread.start()
        self.started()

    def started(self) -> None:
        """Called once per process, right after its poller thread started."""

    def stop(self) -> None:
        self._stop.set()

    def _poll_forever(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # the poller must outlive any one failure
                self.log.exception(self.failure_message)
                if self.error_outcome is not None:
                    self._count(self.error_outcome)

    def _count(self, outcome: str) -> None:
        if self.reloads is not None:
            self.reloads.labels(outcome).inc()
