"""``./spark-submit.sh train`` on a real Spark standalone cluster (master + worker, 127.0.0.1).

These are the suite's true ``spark-submit`` training runs: the wrapper zips the code for
``--py-files``, the driver runs in its own JVM and the tasks in the worker's executor. One run
per data path — the bundled MNIST sample (vector data, augmented, key from the environment) and
a tabular Parquet table with the tree options — each asserting everything that path promises,
so the JVMs are paid for twice, not once per assertion. The cluster is the run's shared one
(``standalone_cluster`` in tests/conftest.py); in-process runs of the same job with the test
session cover the refusals and the exit codes (test_cli.py, test_train_tabular.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import artifacts
from artifacts.schema import output_schema
from spark_jobs.cli import main

from .tabular_data import wine
from .wrapper import output, submit

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _train(cluster, *args: str, env: dict | None = None):
    """One training run on the cluster; returns the result and the app ids it started."""
    before = cluster.apps()
    result = submit("train", *cluster.submit_args, *args,
                    env={"SPARK_LOCAL_IP": "127.0.0.1", **(env or {})})  # fmt: skip
    assert result.returncode == 0, output(result)[-3000:]
    return result, cluster.apps() - before


def test_bundled_sample_trains_on_the_cluster_and_writes_a_verified_artifact(
    tmp_path, hmac_key, standalone_cluster
):
    cluster, store = standalone_cluster, tmp_path / "store"
    result, apps = _train(
        cluster, "--limit", "300", "--augment", "2", "--model", "nb", "--output", str(store),
        "--version", "cluster", env={"SPARK_JOBS_SIGNING_KEY": str(hmac_key)},
    )  # fmt: skip

    for name in ("read", "split", "augment", "fit", "evaluate", "export", "save"):
        assert f"stage={name} done" in output(result)
    path = store / "mnist" / "cluster"
    loaded = artifacts.load(path, verifier=artifacts.load_verifier(hmac_key))
    manifest = loaded.manifest
    assert manifest["input_schema"]["type"] == "image/mnist-28x28"
    spark = manifest["lineage"]["spark"]
    assert spark["master"] == cluster.master
    assert [spark["app_id"]] == sorted(apps)
    assert cluster.executor_logs(apps), "the job's tasks must have run in the worker's executor"
    rows = manifest["lineage"]["rows"]
    assert rows["train_augmented"] == 2 * rows["train"]
    assert manifest["lineage"]["data"]["sha256"]
    assert manifest["parity"]["passed"] is True
    assert manifest["metrics"]["test"]["accuracy"] > 0.5
    assert (path / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    blank = np.zeros((1, 784), dtype=np.float32)
    assert loaded.estimator.predict(blank)[0] in manifest["classes"]

    # The same version again is refused before any Spark work (in-process: no JVM needed).
    again = main(["--output", str(store), "--version", "cluster", "--signing-key", str(hmac_key)])
    assert again == 2
    assert json.loads((path / "manifest.json").read_text())["version"] == "cluster"


def test_parquet_table_trains_on_the_cluster_with_the_tree_options(
    tmp_path, hmac_key, standalone_cluster
):
    cluster, store = standalone_cluster, tmp_path / "store"
    table = tmp_path / "wine.parquet"
    wine().to_parquet(table)
    result, apps = _train(
        cluster, "--data", str(table), "--label-col", "cultivar", "--model", "rf",
        "--num-trees", "5", "--max-depth", "4", "--output", str(store), "--version", "cluster",
        "--signing-key", str(hmac_key),
    )  # fmt: skip

    assert "stage=export done" in output(result)
    manifest = artifacts.verify(store / "wine" / "cluster", artifacts.load_verifier(hmac_key))
    assert output_schema(manifest).classes == (0, 1, 2)
    assert manifest["output_schema"]["task"] == "classification"
    assert manifest["metrics"]["test"]["accuracy"] > 0.8
    assert manifest["lineage"]["data"]["format"] == "parquet"
    assert manifest["lineage"]["spark"]["master"] == cluster.master
    params = manifest["lineage"]["model_params"]
    forest = next(v for k, v in params.items() if k.startswith("RandomForest"))
    assert (forest["numTrees"], forest["maxDepth"]) == (5, 4), "the wrapper passes tree options"
    assert manifest["parity"]["passed"] is True
    assert cluster.executor_logs(apps), "the job's tasks must have run in the worker's executor"
