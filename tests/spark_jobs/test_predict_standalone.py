"""``./spark-submit.sh predict`` on the run's shared standalone cluster (tests/spark_cluster.py).

The predictions must come from the worker's executor (its stderr exists under the work dir),
equal the served model's, and a dry run prints the Kubernetes form of the same command.
"""

from __future__ import annotations

import shlex

import numpy as np
import pandas as pd
import pytest

import artifacts
from artifacts import tabular

from . import test_predict
from .test_cli import output, submit
from .test_predict import SCHEMA, served, table

pytestmark = [pytest.mark.slow, pytest.mark.spark]
store, parquet = test_predict.store, test_predict.parquet  # the same module-scoped fixtures


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
