"""Hold one Python task on a Spark executor until the test lets it go: a fault at a known moment.

A test that kills an executor "while a task runs" must not guess when that is: a task that
finishes a moment before the kill turns the fault into a clean executor loss, and the job then
succeeds on a replacement executor. :class:`TaskHold` makes the moment certain. The job is
submitted with ``spark.python.daemon.module`` (Spark's setting for the module that forks an
executor's Python workers) naming this module, so each executor starts it instead of
``pyspark.daemon``. It runs PySpark's own daemon with one change: once a task's input has
reached a Python worker, the task is numbered (one file per task in the hold directory), and
the ``after + 1``-th task waits there until the test creates the ``release`` file. That task
is running on the executor and cannot finish, so a kill is certain to lose it; every other
task, including the retry of the held one, runs as usual.

Only Python tasks pass through here (``mapInArrow``, ``mapInPandas``, Python UDFs); JVM-only
stages are neither numbered nor held. Nothing in the product knows about it: the module reaches
the executors only through the test's ``spark.executorEnv.PYTHONPATH``. It wraps
``pyspark.daemon.worker``, which the daemon calls once per task; should PySpark stop doing
that, no task is ever held and the test fails waiting for one instead of passing without
its fault.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from pyspark import daemon

HOLD_DIR, HOLD_AFTER = "SPARK_TEST_HOLD_DIR", "SPARK_TEST_HOLD_AFTER"
HELD, RELEASE = "held", "release"
#: A held worker whose test never released it (the test process died) gives up after this.
MAX_HOLD_SECONDS = 900
#: The directory that holds the top-level ``tests`` package, put on the executors' path.
ROOT = Path(__file__).resolve().parents[__name__.count(".")]


@dataclass
class TaskHold:
    """Test side: the submit options that install the hold, and its state on disk.

    Use it as a context manager around the job: leaving releases the held task, so no Python
    worker outlives the test waiting for it.
    """

    root: Path
    after: int = 0  # Python tasks let through before the one that is held

    def submit_args(self) -> list[str]:
        """``./spark-submit.sh`` options: executors run this module as their Python daemon."""
        self.root.mkdir(parents=True, exist_ok=True)
        return [
            "--conf", f"spark.python.daemon.module={__name__}",
            "--conf", f"spark.executorEnv.PYTHONPATH={ROOT}",
            "--conf", f"spark.executorEnv.{HOLD_DIR}={self.root}",
            "--conf", f"spark.executorEnv.{HOLD_AFTER}={self.after}",
        ]  # fmt: skip

    def held(self) -> bool:
        """Whether the ``after + 1``-th task is running and waiting for :meth:`release`."""
        return (self.root / HELD).exists()

    def tasks(self) -> int:
        """Python tasks that have reached a worker so far (the held one included)."""
        return len(list(self.root.glob("task-*")))

    def release(self) -> None:
        (self.root / RELEASE).touch()

    def __enter__(self) -> TaskHold:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _task_arrived(sock: socket.socket) -> bool:
    """Block until the executor sends this worker a task (True) or closes it (False)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except OSError:
        return False


def _number(root: Path) -> int:
    """This task's number: the first free ``task-N`` file, created atomically."""
    n = 1
    while True:
        try:
            os.close(os.open(root / f"task-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return n
        except FileExistsError:
            n += 1


def _wait_for_release(root: Path) -> None:
    """Mark the task held; wait for the test's release, the daemon's end or the time cap."""
    (root / HELD).write_text(str(os.getpid()))
    daemon = os.getppid()
    deadline = time.monotonic() + MAX_HOLD_SECONDS
    while not (root / RELEASE).exists() and os.getppid() == daemon:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)


def holding(worker, root: Path, after: int):
    """``pyspark.daemon.worker`` with the ``after + 1``-th task held before it runs."""

    def held_worker(sock: socket.socket, authenticated: bool) -> int:
        if _task_arrived(sock) and _number(root) == after + 1:
            _wait_for_release(root)
        return worker(sock, authenticated)

    return held_worker


if __name__ == "__main__":
    daemon.worker = holding(daemon.worker, Path(os.environ[HOLD_DIR]), int(os.environ[HOLD_AFTER]))
    daemon.manager()
