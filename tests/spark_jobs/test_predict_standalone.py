"""``./spark-submit.sh predict`` on the run's shared standalone cluster (tests/spark_cluster.py).

The predictions must come from the worker's executor (its stderr exists under the work dir),
equal the served model's, and a dry run prints the Kubernetes form of the same command.
"""

from __future__ import annotations

import re
import shlex

import numpy as np
import pandas as pd
import pytest

import artifacts
from artifacts.runtime import tabular
from tests.serving.live import wait_until
from tests.spark_cluster import submitted
from tests.spark_hold import TaskHold
from tests.support.predict_rows import SCHEMA, table

from . import predict_store
from .predict_store import served
from .wrapper import SCRIPT, output, submit

pytestmark = [pytest.mark.slow, pytest.mark.spark]
store, parquet = predict_store.store, predict_store.parquet  # module-scoped fixtures


def test_standalone_cluster_scores_a_parquet_table(
    tmp_path, hmac_key, store, parquet, standalone_cluster
):
    cluster = standalone_cluster
    before = cluster.apps()
    out = tmp_path / "predictions"
    result = submit(
        "predict", *cluster.submit_args,
        "--model", f"{store}/species", "--verify-key", str(hmac_key),
        "--data", str(parquet), "--output", str(out), "--keep", "id", "--batch-size", "100",
        env={"SPARK_LOCAL_IP": "127.0.0.1"},
    )  # fmt: skip
    assert result.returncode == 0, output(result)[-3000:]
    assert "stage=score done" in output(result)
    assert cluster.executor_logs(cluster.apps() - before), "tasks ran in the executor"
    got = pd.read_parquet(out).sort_values("id").reset_index(drop=True)
    model = served(store, "species", hmac_key)
    expected = model.predict(tabular.conform(table(250).drop(columns="id"), SCHEMA))
    assert got["prediction"].tolist() == model.answers(expected)
    np.testing.assert_allclose(np.vstack(got["probability"]), expected.probabilities, atol=1e-9)
    assert artifacts.verify(store / "species" / "1", artifacts.load_verifier(hmac_key))


FILES, ROWS_PER_FILE = 4, 250  # one scoring task per file


def test_executor_killed_mid_job_leaves_no_output(tmp_path, hmac_key, store, standalone_cluster):
    """SIGKILL the only executor while a scoring task runs, once some have finished, with no
    task retries.

    The third scoring task is held on the executor until the kill (tests/spark_hold.py), so it
    cannot finish first, and the two before it have written their part of the output. The job
    fails with a one-line error and leaves nothing: no output and no hidden incoming directory
    beside it. (Retries on a replacement executor are proven by the training job's
    executor-kill test in tests/e2e/test_spark_faults.py.)
    """
    data = tmp_path / "rows"
    data.mkdir()
    rows = table(FILES * ROWS_PER_FILE, seed=2)
    for i in range(FILES):  # one partition per file (maxPartitionBytes below)
        rows.iloc[i * ROWS_PER_FILE : (i + 1) * ROWS_PER_FILE].to_parquet(data / f"{i:02}.parquet")
    out = tmp_path / "predictions"
    cluster = standalone_cluster
    before = cluster.apps()
    hold = TaskHold(tmp_path / "hold", after=2)
    command = [
        SCRIPT, "predict", *cluster.submit_args, *hold.submit_args(),
        "--conf", "spark.task.maxFailures=1", "--conf", "spark.sql.files.maxPartitionBytes=1024",
        "--model", f"{store}/species", "--verify-key", str(hmac_key), "--data", str(data),
        "--output", str(out), "--keep", "id",
    ]  # fmt: skip
    log_path = tmp_path / "job.log"
    with submitted(command, log_path) as job, hold:
        wait_until(lambda: job.poll() is not None or hold.held(), 300)
        assert hold.held(), f"no third scoring task was held\n{log_path.read_text()[-3000:]}"
        assert hold.tasks() == 3, "the held task is the third: two scoring tasks ran before it"
        assert job.poll() is None, "a job with a held task cannot have ended"
        cluster.kill_executor(cluster.apps() - before)
        code = job.wait(timeout=600)
    log_text = log_path.read_text(errors="replace")
    assert code == 5, log_text[-3000:]  # OutputWriteError: scoring failed
    assert re.search(r"ERROR spark_jobs: predict failed: scoring \S+ failed: ", log_text)
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_k8s_dry_run_command_line():
    result = submit(
        "predict", "--dry-run", "--master", "k8s://https://10.0.0.1:6443",
        "--k8s-image", "ghcr.io/example/spark-model-server-spark:0.1.0", "--namespace", "ml",
        "--model", "/mnt/store/species", "--verify-key", "/etc/keys/hmac.key",
        "--data", "s3a://bucket/rows.parquet", "--output", "s3a://bucket/predictions",
        "--keep", "id",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cmd = shlex.split(result.stdout)
    assert "spark-model-server-predict" in cmd
    assert cmd[cmd.index("--deploy-mode") + 1] == "cluster"
    primary = "local:///opt/spark-model-server/spark_jobs/predict/main.py"
    assert cmd[cmd.index(primary) + 1 :] == [
        "--model", "/mnt/store/species", "--verify-key", "/etc/keys/hmac.key",
        "--data", "s3a://bucket/rows.parquet", "--output", "s3a://bucket/predictions",
        "--keep", "id",
    ]  # fmt: skip
