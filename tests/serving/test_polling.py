"""The per-process poller behind hot reload and credential rotation."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter

from serving.polling import Poller
from tests.serving.live import wait_until


class _Flaky(Poller):
    thread_name = "test-poller"
    error_outcome = "error"

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self.calls = 0
        self.started_in: list[str] = []
        self.reloads = Counter("t", "t", ["outcome"], registry=CollectorRegistry())

    def poll_once(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("first poll fails")

    def started(self) -> None:
        self.started_in.append(threading.current_thread().name)


def test_a_failed_poll_is_counted_and_the_poller_keeps_going(caplog):
    poller = _Flaky(0.01)
    try:
        assert poller.ensure_polling() is None  # a before_request hook must return None
        poller.ensure_polling()
        assert wait_until(lambda: poller.calls >= 3, 10)
    finally:
        poller.stop()
    assert poller.started_in == [threading.current_thread().name]  # once per process
    assert [t.name for t in threading.enumerate()].count("test-poller") <= 1
    assert poller.reloads.labels("error")._value.get() == 1
    assert "poll failed" in caplog.text


def test_interval_zero_never_starts_a_thread():
    poller = _Flaky(0)
    poller.ensure_polling()
    assert poller.started_in == []
    assert poller.calls == 0
