"""Batch scoring of models that take a plain feature vector (``InputSchema.vector``).

Such models come from ``spark-submit.sh export`` of a pipeline whose first stage reads a
``features`` vector. The job reads an ML vector column, an array column, or the model's named
columns, and checks every row as serving checks a request: width, finite values, range.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import artifacts
from serving import create_app
from spark_jobs.errors import DataError, UsageError
from spark_jobs.predict import scoring
from spark_jobs.predict.job import run
from spark_jobs.predict.output import SUMMARY_FILE
from spark_jobs.predict.settings import PredictSettings

NAMES = ("a", "b", "c", "d")
SCHEMA = artifacts.InputSchema.vector(len(NAMES), names=list(NAMES), value_range=(-10.0, 10.0))


def rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-5, 5, size=(n, len(NAMES)))


@pytest.fixture(scope="module")
def store(tmp_path_factory, hmac_key) -> Path:
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("vector-store")
    x = rows(400, seed=1)
    y = np.where(x[:, 0] + x[:, 1] > 0, "up", np.where(x[:, 2] > 0, "flat", "down"))
    model = LogisticRegression(max_iter=500).fit(x, y)
    artifacts.save(
        model, root, "direction", version="1", signer=artifacts.load_signer(hmac_key),
        input_schema=SCHEMA,
        output_schema=artifacts.OutputSchema("classification", classes=tuple(model.classes_)),
    )  # fmt: skip
    return root


def settings(store, key, data, out, **overrides) -> PredictSettings:
    return PredictSettings(
        model=f"{store}/direction", verify_key=str(key), data=str(data), output=str(out),
        keep=("id",), **overrides,
    ).validate()  # fmt: skip


def http_labels(store: Path, key: Path, x: np.ndarray) -> list[str]:
    """What the served model answers on V1 for the same rows."""
    app = create_app(
        {
            "model_store": store, "verify_key_file": key, "auth_enabled": False,
            "rate_limit_enabled": False, "reload_interval": 0,
        }
    )  # fmt: skip
    reply = app.test_client().post("/v1/models/direction:predict", json={"instances": x.tolist()})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return [p if isinstance(p, str) else p["label"] for p in reply.get_json()["predictions"]]


def _written(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out).sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("column", ["vector", "array", "named"])
def test_vector_models_score_like_the_server(spark, store, hmac_key, tmp_path, column):
    from pyspark.ml.linalg import Vectors

    x = rows(120)
    if column == "vector":
        records = [(i, Vectors.dense(r.tolist())) for i, r in enumerate(x)]
        frame = spark.createDataFrame(records, ["id", "features"])
    elif column == "array":
        records = [(i, r.tolist()) for i, r in enumerate(x)]
        frame = spark.createDataFrame(records, "id long, features array<float>")
        x = x.astype(np.float32).astype(np.float64)
    else:
        frame = spark.createDataFrame(pd.DataFrame(x, columns=NAMES).assign(id=range(len(x))))
    data = tmp_path / "rows.parquet"
    frame.write.parquet(str(data))
    out = tmp_path / "out"

    summary = run(settings(store, hmac_key, data, out, batch_size=50), spark)

    got = _written(out)
    assert got["id"].tolist() == list(range(len(x)))
    assert got["prediction"].tolist() == http_labels(store, hmac_key, x)
    assert summary["rows_read"] == len(x)
    assert summary["bad_rows"] == 0


def test_bad_vectors_are_counted_and_named(spark, store, hmac_key, tmp_path):
    good = rows(10).tolist()
    cells = [*good[:4], good[4][:3], None, [float("nan"), 0.0, 0.0, 0.0], [50.0, 0.0, 0.0, 0.0]]
    frame = spark.createDataFrame(list(enumerate(cells)), "id long, features array<double>")
    data = tmp_path / "bad.parquet"
    frame.write.parquet(str(data))

    with pytest.raises(DataError, match=r"id=4\).*has 3 values; the model takes 4"):
        run(settings(store, hmac_key, data, tmp_path / "failed"), spark)
    assert not (tmp_path / "failed").exists()

    summary = run(settings(store, hmac_key, data, tmp_path / "null", on_error="null"), spark)
    got = _written(tmp_path / "null")
    assert summary["bad_rows"] == 4
    assert got["prediction"].isna().tolist() == [False] * 4 + [True] * 4
    examples = json.loads((tmp_path / "null" / SUMMARY_FILE).read_text())["bad_examples"]
    assert "id=5): the feature vector is null" in " ".join(examples)  # the first 3 per batch


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        ("id long, features string", r"column features is string; direction takes a vector of 4"),
        ("id long, other array<double>", r"no column features \(--features-col\) or the model's"),
    ],
)
def test_columns_that_cannot_hold_a_vector_are_refused_before_scoring(
    spark, store, hmac_key, tmp_path, schema, match
):
    frame = spark.createDataFrame([], schema)
    data = tmp_path / "wrong.parquet"
    frame.write.parquet(str(data))

    with pytest.raises(DataError, match=match):
        run(settings(store, hmac_key, data, tmp_path / "out"), spark)
    assert not (tmp_path / "out").exists()


def test_vector_models_need_parquet_or_a_table(spark, store, hmac_key, tmp_path):
    data = tmp_path / "rows.csv"
    pd.DataFrame(rows(3), columns=NAMES).to_csv(data, index=False)
    with pytest.raises(UsageError, match="takes a feature vector; --data must be Parquet"):
        run(settings(store, hmac_key, data, tmp_path / "out"), spark)


def test_row_checks_follow_serving_rules_without_spark():
    cells = pd.Series([[1.0, 2.0, 3.0, 4.0], [1.0], None, [np.inf, 0, 0, 0], [0, 0, 0, -11.0]])
    x, good, problems = scoring._vectors(SCHEMA, cells)
    assert good.tolist() == [True, False, False, False, False]
    np.testing.assert_array_equal(x, [[1.0, 2.0, 3.0, 4.0]])
    assert problems == {
        1: "the feature vector has 1 values; the model takes 4",
        2: "the feature vector is null",
        3: "the feature vector holds NaN, infinity or a null",
        4: "values outside the trained range [-10.0, 10.0]",
    }
