"""A real Spark standalone cluster (one master, one worker on 127.0.0.1) runs two jobs:
MNIST naive Bayes and a tabular Poisson GLM on a CSV.

The master and worker are the installed pyspark's own daemons, started with ``spark-class``;
the job is submitted through ``./spark-submit.sh --master spark://…`` and must write a
verifiable artifact. Both daemons are stopped by pid whatever happens.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import artifacts

from .tabular_data import diabetes, to_csv
from .test_cli import output, submit

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def _wait_for_worker(ui_port: int, proc: subprocess.Popen, deadline: float) -> None:
    url = f"http://127.0.0.1:{ui_port}/json/"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"master exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                state = json.load(response)
            if any(w.get("state") == "ALIVE" for w in state.get("workers", [])):
                return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"no ALIVE worker registered at {url}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_standalone_cluster_trains_and_writes_artifact(tmp_path, hmac_key):
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

        store = tmp_path / "store"
        result = submit(
            "train", "--master", f"spark://127.0.0.1:{port}",
            "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
            "--limit", "300", "--model", "nb", "--output", str(store), "--version", "cluster",
            "--signing-key", str(hmac_key),
            env={"SPARK_LOCAL_IP": "127.0.0.1"},
        )  # fmt: skip
        assert result.returncode == 0, output(result)[-3000:]
        manifest = artifacts.verify(store / "mnist" / "cluster", artifacts.load_verifier(hmac_key))
        assert manifest["lineage"]["spark"]["master"] == f"spark://127.0.0.1:{port}"
        assert manifest["lineage"]["spark"]["app_id"].startswith("app-")
        assert manifest["parity"]["passed"] is True
        executors = list((tmp_path / "work").glob("app-*/*/stderr"))
        assert executors, "the job's tasks must have run in the worker's executor"

        table = to_csv(diabetes(), tmp_path / "diabetes.csv")
        result = submit(
            "train", "--master", f"spark://127.0.0.1:{port}",
            "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
            "--data", table, "--label-col", "progression", "--model", "glm",
            "--family", "poisson", "--output", str(store), "--version", "cluster",
            "--signing-key", str(hmac_key),
            env={"SPARK_LOCAL_IP": "127.0.0.1"},
        )  # fmt: skip
        assert result.returncode == 0, output(result)[-3000:]
        manifest = artifacts.verify(
            store / "diabetes" / "cluster", artifacts.load_verifier(hmac_key)
        )
        assert manifest["output_schema"]["task"] == "regression"
        assert manifest["lineage"]["spark"]["master"] == f"spark://127.0.0.1:{port}"
        assert manifest["parity"]["passed"] is True
        assert manifest["metrics"]["test"]["r2"] > 0.3
    finally:
        for proc in reversed(procs):
            _stop(proc)
