"""Spark side: an executor SIGKILLed mid-job on a real standalone cluster.

Master and worker are the installed pyspark's daemons on 127.0.0.1, started with the helpers
of tests/spark_jobs/test_standalone.py; the job goes through ./spark-submit.sh like a user's.
Once the executor has finished some tasks of the training job it is killed; the worker
launches a replacement and the driver retries the lost tasks. The job must then either
complete with a verifiable artifact, or fail with a one-line error and leave nothing
half-written in the store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import artifacts
from tests.serving.live import wait_until
from tests.spark_jobs.test_cli import SCRIPT
from tests.spark_jobs.test_standalone import _free_port, _spark_class, _stop, _wait_for_worker

pytestmark = [pytest.mark.slow, pytest.mark.spark]
log = logging.getLogger(__name__)


@contextlib.contextmanager
def standalone_cluster(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(master URL, worker dir) of a one-worker cluster; both daemons stopped by pid."""
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    env["PYSPARK_PYTHON"] = sys.executable
    work = tmp_path / "work"
    daemons = {
        "master": ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                   "--port", str(port), "--webui-port", str(ui)],
        "worker": ["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                   "--host", "127.0.0.1", "--webui-port", str(worker_ui), "--cores", "1",
                   "--memory", "1g", "--work-dir", str(work)],
    }  # fmt: skip
    procs = []
    try:
        for name, args in daemons.items():
            with (tmp_path / f"{name}.log").open("w") as log:
                procs.append(
                    subprocess.Popen(
                        [_spark_class(), *args], stdout=log, stderr=subprocess.STDOUT, env=env
                    )
                )
        _wait_for_worker(ui, procs[0], time.monotonic() + 120)
        yield f"spark://127.0.0.1:{port}", work
    finally:
        for proc in reversed(procs):
            _stop(proc)


def executor_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"CoarseGrainedExecutorBackend" in cmdline:
                found.append(int(entry))
    return found


def finished_tasks(work: Path) -> int:
    return sum(
        len(re.findall(r"Finished task", path.read_text(errors="replace")))
        for path in work.glob("app-*/*/stderr")
    )


def test_executor_killed_mid_job_is_retried_or_fails_cleanly(tmp_path, session_store):
    hmac_key = session_store.key_file
    store = tmp_path / "store"
    with standalone_cluster(tmp_path) as (master, work):
        env = {k: v for k, v in os.environ.items() if k != "SPARK_JOBS_SIGNING_KEY"}
        env.update({"PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"})
        command = [
            SCRIPT, "train", "--master", master, "--conf", "spark.executor.memory=768m",
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.task.maxFailures=4",
            "--limit", "1500", "--model", "lr", "--max-iter", "30", "--output", str(store),
            "--version", "retry", "--signing-key", str(hmac_key),
        ]  # fmt: skip
        with (tmp_path / "job.log").open("w") as job_log:
            job = subprocess.Popen(command, stdout=job_log, stderr=subprocess.STDOUT, env=env)
        try:
            busy = wait_until(lambda: job.poll() is not None or finished_tasks(work) >= 12, 300)
            assert busy, "no executor task finished within 300s"
            assert job.poll() is None, "the job ended before an executor could be killed"
            victims = executor_pids()
            assert len(victims) == 1, victims
            os.kill(victims[0], signal.SIGKILL)
            code = job.wait(timeout=600)
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()
        relaunched = len(list(work.glob("app-*/*/stderr")))
    log_text = (tmp_path / "job.log").read_text(errors="replace")
    log.warning("executor killed mid-job: job exit %s, %d executor(s) launched", code, relaunched)
    if code == 0:
        manifest = artifacts.verify(store / "mnist" / "retry", artifacts.load_verifier(hmac_key))
        assert manifest["parity"]["passed"] is True
        assert relaunched >= 2, "the worker must have launched a replacement executor"
    else:
        last = log_text.strip().splitlines()[-1]
        assert "error" in last.lower(), log_text[-3000:]
        leftovers = list(store.rglob("*")) if store.exists() else []
        assert leftovers == [], f"half-written files in the store: {leftovers}"
    assert "SIGKILL" in log_text or "lost" in log_text.lower() or relaunched >= 2, log_text[-3000:]
