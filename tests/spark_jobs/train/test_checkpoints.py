"""Where ALS checkpoints, and the early refusal on a cluster master without a shared folder.

No cluster is needed: the decision is a function of the master URL, ``--checkpoint-dir`` and
the session's own checkpoint folder, and ``recommend.run`` takes it right after the session
starts, before the ratings are read.
"""

from __future__ import annotations

import logging

import pytest

from spark_jobs.boundary import run_job
from spark_jobs.errors import UsageError
from spark_jobs.train.recommend import checkpoint_plan

CLUSTER_MASTERS = [
    "spark://10.0.0.5:7077",
    "k8s://https://kubernetes.default.svc:443",
    "yarn",
]


@pytest.mark.parametrize("master", CLUSTER_MASTERS)
def test_cluster_master_without_a_folder_is_refused_with_exit_2(master, caplog):
    def train() -> None:
        checkpoint_plan(master, None, None)

    assert run_job("train", train) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "\n" not in errors[0]
    assert f"checkpoint folder every executor can reach on master {master}" in errors[0]
    assert "--checkpoint-dir" in errors[0]


@pytest.mark.parametrize("master", CLUSTER_MASTERS)
def test_cluster_master_uses_the_given_or_configured_folder(master):
    assert checkpoint_plan(master, "hdfs://nn/ckpt", None) == "hdfs://nn/ckpt"
    # --conf spark.checkpoint.dir=… : the session already has one
    assert checkpoint_plan(master, None, "hdfs://nn/conf/3f1c") == "hdfs://nn/conf/3f1c"
    # --checkpoint-dir wins over the session's folder
    assert checkpoint_plan(master, "s3a://b/ckpt", "hdfs://nn/conf/3f1c") == "s3a://b/ckpt"


def test_a_previous_runs_temporary_folder_is_not_reused_on_a_cluster():
    stale = "file:/tmp/als-checkpoints-abc123/0f9e"  # left by an earlier job in this session
    with pytest.raises(UsageError):
        checkpoint_plan("spark://h:7077", None, stale)
    assert checkpoint_plan("local[2]", None, stale) is None


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local-cluster[2,1,1024]"])
def test_local_masters_get_a_temporary_folder(master):
    assert checkpoint_plan(master, None, None) is None
    assert checkpoint_plan(master, "/shared/ckpt", None) == "/shared/ckpt"
