"""tests/spark_hold.py: the held task is exactly the chosen one, and PySpark still calls it.

The executor-kill tests rely on it (tests/spark_jobs/test_predict_standalone.py,
tests/e2e/test_spark_faults.py); here it runs without Spark, on a socket pair standing in for
the executor's connection to a forked Python worker.
"""

from __future__ import annotations

import inspect
import socket
import threading

from pyspark import daemon

from tests.serving.live import wait_until
from tests.spark_hold import TaskHold, holding


class Worker:
    """Stands in for ``pyspark.daemon.worker``: counts the tasks it was handed."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, sock: socket.socket, authenticated: bool) -> int:
        self.runs += 1
        sock.recv(1)  # consume the task's first byte, as the real worker reads the task
        return 0


def test_the_chosen_task_waits_for_the_release_and_no_other(tmp_path):
    hold = TaskHold(tmp_path / "hold", after=1)
    hold.submit_args()  # creates the directory, as before a submit
    worker = Worker()
    held_worker = holding(worker, hold.root, hold.after)
    executor, python = socket.socketpair()
    with executor, python, hold:
        executor.sendall(b"1")
        assert held_worker(python, False) == 0  # task 1 runs at once
        assert (worker.runs, hold.tasks(), hold.held()) == (1, 1, False)

        executor.sendall(b"2")
        second = threading.Thread(target=held_worker, args=(python, True))
        second.start()
        assert wait_until(hold.held, 10), "task 2 must be held"
        assert (worker.runs, hold.tasks()) == (1, 2), "a held task does not run"
        hold.release()
        second.join(10)
        assert not second.is_alive()
        assert worker.runs == 2

        executor.sendall(b"3")
        assert held_worker(python, True) == 0  # held once only: a retry runs
        assert (worker.runs, hold.tasks()) == (3, 3)


def test_a_worker_whose_executor_hangs_up_is_not_numbered(tmp_path):
    hold = TaskHold(tmp_path / "hold", after=0)
    hold.submit_args()
    worker = Worker()
    executor, python = socket.socketpair()
    executor.close()
    with python:
        holding(worker, hold.root, hold.after)(python, True)
    assert (worker.runs, hold.tasks(), hold.held()) == (1, 0, False)


def test_pyspark_daemon_still_calls_its_module_level_worker_per_task():
    """The private behaviour the hold wraps: ``manager()`` looks ``worker`` up as a global
    and calls it with (sock, authenticated). Should PySpark change it, fail here first."""
    assert list(inspect.signature(daemon.worker).parameters) == ["sock", "authenticated"]
    assert "worker" in daemon.manager.__code__.co_names
