"""A real Spark standalone cluster for tests: one master and one worker on 127.0.0.1.

The daemons are the installed pyspark's own, started with ``spark-class``. Starting them costs
two JVMs and the worker's registration (10-30 s on two busy cores), so one cluster serves the
whole run through the session fixture in tests/conftest.py. Every job submitted to it gets its
own application directory under ``work``; tests look only at the applications they started
(``new_apps``), never at the whole work dir, so they stay independent of order.

The worker has one core, so at most one executor runs at a time; a test that kills an executor
(tests/e2e/test_spark_faults.py) leaves the daemons running and the worker relaunches one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import free_port, stop

#: Flags for the short-lived JVMs a test starts (spark-submit's launcher and driver, the
#: cluster's daemons and executors): the serial collector and the C1 compiler only. A JVM
#: that lives a minute on two busy cores never pays back C2's compile threads.
FAST_JVM = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"


@contextmanager
def submitted(command: list[str], log_path: Path) -> Iterator[subprocess.Popen]:
    """Run a ``./spark-submit.sh`` command in its own process group, output in ``log_path``.

    On leaving, a job still running is killed with its whole group (the wrapper, its
    spark-submit JVM and the Python driver), so no stray application keeps the shared
    cluster's only core. The job signs nothing with the runner's key from the environment.
    """
    env = {k: v for k, v in os.environ.items() if k != "SPARK_JOBS_SIGNING_KEY"}
    env.update(PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env.update(SPARK_LAUNCHER_OPTS=FAST_JVM, SPARK_SUBMIT_OPTS=FAST_JVM)
    with log_path.open("w") as job_log:
        job = subprocess.Popen(
            command, stdout=job_log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield job
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()


def spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


@dataclass
class StandaloneCluster:
    """A running master + worker; ``submit_args`` are the wrapper options that target it."""

    root: Path
    port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    worker_ui_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def submit_args(self) -> list[str]:
        """``./spark-submit.sh`` options for a job on this cluster (driver on 127.0.0.1)."""
        return [
            "--master", self.master,
            "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
            "--conf", f"spark.executor.extraJavaOptions={FAST_JVM}",
        ]  # fmt: skip

    def start(self, timeout: float = 120) -> StandaloneCluster:
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
        env.update(PYSPARK_PYTHON=sys.executable, SPARK_DAEMON_JAVA_OPTS=FAST_JVM)
        daemons = {
            "master": ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                       "--port", str(self.port), "--webui-port", str(self.ui_port)],
            "worker": ["org.apache.spark.deploy.worker.Worker", self.master, "--host",
                       "127.0.0.1", "--webui-port", str(self.worker_ui_port), "--cores", "1",
                       "--memory", "1g", "--work-dir", str(self.work)],
        }  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            for name, args in daemons.items():
                with (self.root / f"{name}.log").open("w") as log:
                    self.procs.append(
                        subprocess.Popen(
                            [spark_class(), *args], stdout=log, stderr=subprocess.STDOUT, env=env
                        )
                    )
            self._wait_for_worker(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)

    def healthy(self) -> bool:
        """Both daemons running and the master sees an ALIVE worker."""
        if not self.procs or any(proc.poll() is not None for proc in self.procs):
            return False
        try:
            return self._alive_workers() > 0
        except OSError:
            return False

    def apps(self) -> set[str]:
        """Application ids that have had an executor on the worker so far."""
        return {path.name for path in self.work.glob("app-*")} if self.work.exists() else set()

    def executor_logs(self, apps: set[str]) -> list[Path]:
        """stderr of every executor the worker launched for ``apps``."""
        return [path for app in sorted(apps) for path in (self.work / app).glob("*/stderr")]

    def finished_tasks(self, apps: set[str]) -> int:
        """Tasks the executors of ``apps`` have reported finished so far (from their stderr)."""
        logs = self.executor_logs(apps)
        return sum(path.read_text(errors="replace").count("Finished task") for path in logs)

    def running_tasks(self, apps: set[str]) -> int:
        """Tasks the executors of ``apps`` have started and not (yet) reported finished."""
        logs = [p.read_text(errors="replace") for p in self.executor_logs(apps)]
        return sum(text.count("Running task") - text.count("Finished task") for text in logs)

    def executor_pids(self, apps: set[str]) -> list[int]:
        """Executor JVMs of ``apps`` still running (their cwd is their dir under ``work``)."""
        dirs = {str((self.work / app).resolve()) for app in apps}
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if b"CoarseGrainedExecutorBackend" in cmdline and str(Path(cwd).parent) in dirs:
                found.append(int(entry))
        return found

    def kill_executor(self, apps: set[str]) -> None:
        """SIGKILL the one executor ``apps`` have (the worker has one core)."""
        victims = self.executor_pids(apps)
        assert len(victims) == 1, victims
        os.kill(victims[0], signal.SIGKILL)

    def _alive_workers(self) -> int:
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=2) as response:
            state = json.load(response)
        return sum(w.get("state") == "ALIVE" for w in state.get("workers", []))

    def _wait_for_worker(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(f"{proc.args[1]} exited with {proc.returncode}")
            try:
                if self._alive_workers():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no ALIVE worker registered at {self.master}")
