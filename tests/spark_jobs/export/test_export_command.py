"""``./spark-submit.sh export``: a saved PipelineModel → a signed artifact.

The round trip goes through the real wrapper and ``spark-submit``; the refusal runs the job's
``main`` in-process with the test session (the exit code and the one line are its own).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf

import artifacts
from serving import create_app
from spark_jobs.errors import UsageError
from spark_jobs.export import to_frame
from spark_jobs.export.command import from_args, main

from ..wrapper import output, submit
from .helpers import MIXED_SCHEMA, mixed_rows, tabular_pipeline

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def saved(spark, tmp_path_factory):
    """A fitted tabular PipelineModel on disk, its held-out rows as Parquet, and both in Spark."""
    root = tmp_path_factory.mktemp("export-cmd")
    rows = mixed_rows(160, seed=11)
    train = spark.createDataFrame(rows[40:], MIXED_SCHEMA)
    test = spark.createDataFrame(rows[:40], MIXED_SCHEMA)
    model = tabular_pipeline(sc.LogisticRegression(labelCol="k", maxIter=20)).fit(train)
    model.write().save(str(root / "pipeline"))
    test.write.parquet(str(root / "sample.parquet"))
    return root, model, test


def _argv(root, key, store=None) -> list[str]:
    return [
        "--pipeline", str(root / "pipeline"), "--sample", str(root / "sample.parquet"),
        "--name", "churn", "--version", "v1", "--label-col", "k",
        "--signing-key", str(key), "--output", str(store or root / "store"),
    ]  # fmt: skip


def _assert_exported_as_spark(store, model, test, key) -> artifacts.LoadedArtifact:
    """The artifact verifies, records its lineage, and answers what the pipeline answers."""
    loaded = artifacts.load(store / "churn" / "v1", verifier=artifacts.load_verifier(key))
    manifest = loaded.manifest
    assert manifest["parity"]["passed"] is True
    assert manifest["parity"]["label_agreement"] == 1.0
    assert manifest["output_schema"]["task"] == "classification"
    assert len(manifest["lineage"]["pipeline"]["sha256"]) == 64
    schema = artifacts.schema.input_schema(manifest)
    assert schema.column_names == ["colour", "size", "count"]
    frame, rows = to_frame(model.transform(test), schema, keep=["prediction", "probability"])
    np.testing.assert_array_equal(
        loaded.estimator.predict(frame), [int(r["prediction"]) for r in rows]
    )
    np.testing.assert_allclose(
        loaded.estimator.predict_proba(frame),
        np.vstack([r["probability"].toArray() for r in rows]),
        rtol=0,
        atol=1e-9,
    )
    return loaded


@pytest.mark.slow
def test_round_trip_through_spark_submit_on_the_standalone_cluster(
    saved, hmac_key, tmp_path, standalone_cluster
):
    root, model, test = saved
    before = standalone_cluster.apps()

    result = submit(
        "export", *standalone_cluster.submit_args, *_argv(root, hmac_key, tmp_path / "store"),
        env={"SPARK_LOCAL_IP": "127.0.0.1"},
    )  # fmt: skip

    assert result.returncode == 0, output(result)[-3000:]
    assert "stage=export done" in output(result)
    assert standalone_cluster.executor_logs(standalone_cluster.apps() - before)
    _assert_exported_as_spark(tmp_path / "store", model, test, hmac_key)


def test_round_trip_in_process_then_served_on_invocations(saved, hmac_key, tmp_path):
    """Local Spark (the test session): export, verify, serve, predict by column name."""
    root, model, test = saved

    assert main(_argv(root, hmac_key, tmp_path / "store")) == 0

    _assert_exported_as_spark(tmp_path / "store", model, test, hmac_key)
    config = {"model_store": tmp_path / "store", "verify_key_file": hmac_key,
              "auth_enabled": False, "rate_limit_enabled": False, "reload_interval": 0}  # fmt: skip
    client = create_app(config).test_client()
    rows = test.select("colour", "size", "count").collect()
    data = [[None if v != v else v for v in row] for row in rows]  # NaN is not JSON: a gap
    reply = client.post(
        "/invocations",
        json={"dataframe_split": {"columns": ["colour", "size", "count"], "data": data}},
    )
    assert reply.status_code == 200, reply.get_data(as_text=True)
    expected = [int(r["prediction"]) for r in model.transform(test).collect()]
    assert reply.get_json()["predictions"] == expected


def test_unsupported_stages_exit_4_with_one_list_and_write_nothing(
    saved, hmac_key, tmp_path, caplog
):
    """In-process with the test session: exit code and one line are the job's ``main``'s."""
    _, _, test = saved
    stages = [
        sf.SQLTransformer(statement="SELECT *, size * 2 AS size2 FROM __THIS__"),
        sf.VectorAssembler(inputCols=["size2"], outputCol="v", handleInvalid="keep"),
        sf.Normalizer(p=3.0, inputCol="v", outputCol="features"),  # a setting with no sklearn form
        sc.LogisticRegression(labelCol="k", maxIter=5),
    ]
    clean = test.na.drop(subset=["size"])
    Pipeline(stages=stages).fit(clean).write().save(str(tmp_path / "pipeline"))
    clean.write.parquet(str(tmp_path / "sample.parquet"))

    code = main(_argv(tmp_path, hmac_key))

    assert code == 4
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert errors[0].startswith("export failed: ")
    assert "SQLTransformer(uid=" in errors[0]
    assert "p=3 has no scikit-learn norm" in errors[0]
    assert not (tmp_path / "store").exists()


def test_settings_need_a_signing_key():
    argv = ["--pipeline", "p", "--sample", "s.csv", "--name", "m"]

    with pytest.raises(UsageError, match="no signing key"):
        from_args(argv, env={})
    settings = from_args([*argv, "--limit", "7"], env={"SPARK_JOBS_SIGNING_KEY": "k.pem"})
    assert (settings.signing_key, settings.limit, settings.sample_format) == ("k.pem", 7, "csv")
