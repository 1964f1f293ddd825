"""Spark side: an executor SIGKILLed mid-job on a real standalone cluster.

The cluster is the run's shared one (master and worker on 127.0.0.1, tests/spark_cluster.py);
the job goes through ./spark-submit.sh like a user's. Killing an executor leaves the daemons
up, and the test only looks at the application it submitted.

The executor is killed while it runs a task of the training job: the job's first Python
task (an augmentation task, after the read and split stages' tasks have finished) is held on
the executor until the kill (tests/spark_hold.py), so it cannot finish first. The worker
launches a replacement and the driver retries the lost task, so the job must complete with a
verifiable artifact. (A job that fails outright leaves nothing half-written: that is proven by
the bad-data and export refusal tests, which fail deterministically, and by the predict job's
executor-kill test in tests/spark_jobs/test_predict_standalone.py.)
"""

from __future__ import annotations

import logging
import re

import pytest

import artifacts
from tests.serving.live import wait_until
from tests.spark_cluster import submitted
from tests.spark_hold import TaskHold
from tests.spark_jobs.wrapper import SCRIPT

pytestmark = [pytest.mark.slow, pytest.mark.spark]
log = logging.getLogger(__name__)


def test_executor_killed_mid_job_is_retried_on_a_replacement(
    tmp_path, session_store, standalone_cluster
):
    hmac_key = session_store.key_file
    store = tmp_path / "store"
    cluster = standalone_cluster
    before = cluster.apps()
    hold = TaskHold(tmp_path / "hold")
    command = [
        SCRIPT, "train", *cluster.submit_args, *hold.submit_args(),
        "--conf", "spark.task.maxFailures=4", "--limit", "1500", "--augment", "2",
        "--model", "lr", "--max-iter", "30", "--output", str(store), "--version", "retry",
        "--signing-key", str(hmac_key),
    ]  # fmt: skip
    log_path = tmp_path / "job.log"
    with submitted(command, log_path) as job, hold:
        wait_until(lambda: job.poll() is not None or hold.held(), 300)
        assert hold.held(), f"no Python task was held\n{log_path.read_text()[-3000:]}"
        assert job.poll() is None, "a job with a held task cannot have ended"
        cluster.kill_executor(cluster.apps() - before)
        code = job.wait(timeout=600)
    relaunched = len(cluster.executor_logs(cluster.apps() - before))
    log_text = log_path.read_text(errors="replace")
    log.warning("executor killed mid-job: job exit %s, %d executor(s) launched", code, relaunched)
    # spark.task.maxFailures=4 and a worker that relaunches executors: the lost task must be
    # retried on the replacement and the job must finish with a verifiable artifact
    assert code == 0, log_text[-3000:]
    assert re.search(r"WARN TaskSetManager: Lost task \S+ in stage", log_text), log_text[-3000:]
    assert relaunched >= 2, "the worker must have launched a replacement executor"
    manifest = artifacts.verify(store / "mnist" / "retry", artifacts.load_verifier(hmac_key))
    assert manifest["parity"]["passed"] is True
