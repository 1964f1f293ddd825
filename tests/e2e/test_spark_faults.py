"""Spark side: an executor SIGKILLed mid-job on a real standalone cluster.

The cluster is the run's shared one (master and worker on 127.0.0.1, tests/spark_cluster.py);
the job goes through ./spark-submit.sh like a user's. Killing an executor leaves the daemons
up, and the test only looks at the application it submitted.

Once the executor has finished some tasks of the training job it is killed; the worker
launches a replacement and the driver retries the lost tasks, so the job must complete
with a verifiable artifact. (A job that fails outright leaves nothing half-written: that is
proven by the bad-data and export refusal tests, which fail deterministically.)
"""

from __future__ import annotations

import logging

import pytest

import artifacts
from tests.serving.live import wait_until
from tests.spark_cluster import submitted
from tests.spark_jobs.test_cli import SCRIPT

pytestmark = [pytest.mark.slow, pytest.mark.spark]
log = logging.getLogger(__name__)


def test_executor_killed_mid_job_is_retried_on_a_replacement(
    tmp_path, session_store, standalone_cluster
):
    hmac_key = session_store.key_file
    store = tmp_path / "store"
    cluster = standalone_cluster
    before = cluster.apps()
    command = [
        SCRIPT, "train", *cluster.submit_args, "--conf", "spark.task.maxFailures=4",
        "--limit", "1500", "--model", "lr", "--max-iter", "30", "--output", str(store),
        "--version", "retry", "--signing-key", str(hmac_key),
    ]  # fmt: skip
    with submitted(command, tmp_path / "job.log") as job:
        busy = wait_until(
            lambda: job.poll() is not None or cluster.finished_tasks(cluster.apps() - before) >= 12,
            300,
        )
        assert busy, "no executor task finished within 300s"
        assert job.poll() is None, "the job ended before an executor could be killed"
        cluster.kill_executor(cluster.apps() - before)
        code = job.wait(timeout=600)
    relaunched = len(cluster.executor_logs(cluster.apps() - before))
    log_text = (tmp_path / "job.log").read_text(errors="replace")
    log.warning("executor killed mid-job: job exit %s, %d executor(s) launched", code, relaunched)
    # spark.task.maxFailures=4 and a worker that relaunches executors: the lost tasks must be
    # retried on the replacement and the job must finish with a verifiable artifact
    assert code == 0, log_text[-3000:]
    assert relaunched >= 2, "the worker must have launched a replacement executor"
    manifest = artifacts.verify(store / "mnist" / "retry", artifacts.load_verifier(hmac_key))
    assert manifest["parity"]["passed"] is True
