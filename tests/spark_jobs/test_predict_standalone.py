"""``./spark-submit.sh predict`` on a real standalone cluster (master + one worker, 127.0.0.1).

The predictions must come from the worker's executor (its stderr exists under the work dir),
equal the served model's, and a dry run prints the Kubernetes form of the same command.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import artifacts
from artifacts import tabular

from . import test_predict
from .test_cli import output, submit
from .test_predict import SCHEMA, served, table
from .test_standalone import _free_port, _spark_class, _stop, _wait_for_worker

pytestmark = [pytest.mark.slow, pytest.mark.spark]
store, parquet = test_predict.store, test_predict.parquet  # the same module-scoped fixtures


def test_standalone_cluster_scores_a_parquet_table(tmp_path, hmac_key, store, parquet):
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_NO_DAEMONIZE": "1",
        "PYSPARK_PYTHON": sys.executable,
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []
    try:
        with (logs / "master.log").open("w") as log:
            master = subprocess.Popen(
                [_spark_class(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(ui)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        procs.append(master)
        with (logs / "worker.log").open("w") as log:
            worker = subprocess.Popen(
                [_spark_class(), "org.apache.spark.deploy.worker.Worker",
                 f"spark://127.0.0.1:{port}", "--host", "127.0.0.1", "--webui-port",
                 str(worker_ui), "--cores", "1", "--memory", "1g",
                 "--work-dir", str(tmp_path / "work")],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        procs.append(worker)
        _wait_for_worker(ui, master, time.monotonic() + 120)
        out = tmp_path / "predictions"
        result = submit(
            "predict", "--master", f"spark://127.0.0.1:{port}",
            "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
            "--model", f"{store}/species", "--verify-key", str(hmac_key),
            "--data", str(parquet), "--output", str(out), "--keep", "id", "--batch-size", "100",
            env={"SPARK_LOCAL_IP": "127.0.0.1"},
        )  # fmt: skip
        assert result.returncode == 0, output(result)[-3000:]
        assert "stage=score done" in output(result)
        assert list((tmp_path / "work").glob("app-*/*/stderr")), "tasks ran in the executor"
    finally:
        for proc in reversed(procs):
            _stop(proc)
    got = pd.read_parquet(out).sort_values("id").reset_index(drop=True)
    model = served(store, "species", hmac_key)
    expected = model.predict(tabular.conform(table(250).drop(columns="id"), SCHEMA))
    assert got["prediction"].tolist() == model.answers(expected)
    np.testing.assert_allclose(np.vstack(got["probability"]), expected.probabilities, atol=1e-9)
    assert artifacts.verify(store / "species" / "1", artifacts.load_verifier(hmac_key))


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
