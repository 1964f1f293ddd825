"""Tabular jobs end to end: train → export → signed artifact that predicts from named columns.

Jobs run in-process through ``spark_jobs.cli.main`` (it reuses the test session), so exit codes
and the one-line error are asserted without paying for a new JVM per case; a Parquet table goes
through ``./spark-submit.sh`` on the standalone cluster in test_standalone.py.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import artifacts
from artifacts.runtime import tabular as frames
from artifacts.schema import input_schema, output_schema
from spark_jobs.cli import main

from ..tabular_data import diabetes, mixed, to_csv, to_parquet

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def files(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("train-tables")
    labelled = mixed()
    labelled.loc[[5, 17, 33], "y"] = None  # dropped and counted
    with_typo = diabetes(80)
    with_typo["bmi"] = with_typo["bmi"].astype(object)
    with_typo.loc[57, "bmi"] = "n/a?"
    return {
        "mixed": to_csv(labelled, root / "Mixed Data (v2).csv"),
        "diabetes": to_csv(diabetes(), root / "diabetes.csv"),
        "empty": to_parquet(spark, mixed(), root / "empty-categories.parquet"),
        "typo": to_csv(with_typo, root / "typo.csv"),
        "ids": to_csv(mixed().assign(id=np.arange(160) * 7), root / "ids.csv"),
    }


def _train(store, key, *argv) -> int:
    return main(
        [*argv, "--output", str(store), "--version", "v1", "--signing-key", str(key),
         "--parity-rows", "100"]
    )  # fmt: skip


def _load(path, key):
    return artifacts.load(path, verifier=artifacts.load_verifier(key))


def _error(caplog) -> str:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.slow
def test_classifier_with_strings_gaps_and_unicode(files, tmp_path, hmac_key):
    store = tmp_path / "store"
    code = _train(store, hmac_key, "--data", files["mixed"], "--label-col", "y",
                  "--exclude", "id,k,score", "--max-iter", "30")  # fmt: skip
    assert code == 0
    loaded = _load(store / "Mixed-Data-v2" / "v1", hmac_key)
    manifest = loaded.manifest
    schema = input_schema(manifest)
    assert schema.is_tabular
    assert schema.column_names == ["colour", "size", "count", "flag", "city"]
    assert "grün" in schema.column("colour").categories
    assert output_schema(manifest).classes == ("no", "yes")
    assert manifest["parity"]["passed"] is True
    assert manifest["lineage"]["data"]["dropped_label_rows"] == 3
    assert manifest["lineage"]["data"]["task"] == "classification"
    assert schema.column("flag").type == "boolean"
    flag = True
    records = [
        {"colour": "rot", "size": 14.0, "count": 3, "flag": flag, "city": "東京"},
        {"colour": "lila", "size": None, "count": None, "flag": None, "city": None},
    ]
    predicted = loaded.estimator.predict(frames.from_records(records, schema))
    assert set(predicted) <= {"no", "yes"}
    assert (store / "Mixed-Data-v2" / "v1" / "confusion_matrix.png").exists()


@pytest.mark.slow
def test_regression_is_detected_and_named_after_the_file(files, tmp_path, hmac_key):
    store = tmp_path / "store"
    assert _train(store, hmac_key, "--data", files["diabetes"], "--label-col", "progression") == 0
    path = store / "diabetes" / "v1"
    loaded = _load(path, hmac_key)
    manifest = loaded.manifest
    out = output_schema(manifest)
    assert (out.task, out.label) == ("regression", "progression")
    test = manifest["metrics"]["test"]
    assert test["r2"] > 0.3, test
    assert 0 < test["mae"] <= test["rmse"]
    assert set(manifest["metrics"]["validation"]) == {"rows", "rmse", "mae", "r2"}
    assert manifest["parity"]["passed"] is True
    assert (path / "predicted_vs_actual.png").read_bytes()[:4] == b"\x89PNG"
    x = diabetes(3).drop(columns="progression")
    predicted = loaded.estimator.predict(x)
    assert predicted.dtype.kind == "f"
    assert np.all((predicted > 0) & (predicted < 400))


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--data", "ids", "--label-col", "id"], 2,
         "label 'id' has more than 50 distinct integer values: pass --task regression"),
        (["--data", "typo", "--label-col", "progression"], 3,
         "typo.csv: column 'bmi' (double) has a malformed value 'n/a?' at record 58"),
        (["--data", "diabetes", "--label-col", "progression", "--model", "nb"], 2,
         "--model nb does not do regression"),
        (["--data", "ids", "--label-col", "colour", "--task", "regression"], 2,
         "label 'colour' is string; regression needs a numeric label"),
        (["--data", "ids", "--label-col", "y", "--features", "size,weight"], 2,
         "--features: no column 'weight'"),
        (["--data", "ids", "--label-col", "y", "--augment", "2"], 2,
         "--augment needs 28x28 image data"),
        (["--data", "ids", "--label-col", "y", "--printed", "2"], 2,
         "--printed needs 28x28 image data"),
        (["--data", "ids", "--label-col", "k", "--model", "glm", "--family", "gamma",
          "--task", "regression"], 3, "--family gamma needs a positive label"),
    ],
)  # fmt: skip
def test_refusals_exit_with_their_code_and_say_why(files, tmp_path, hmac_key, caplog, argv,
                                                   code, message):  # fmt: skip
    argv = [files.get(a, a) for a in argv]
    store = tmp_path / "store"
    assert _train(store, hmac_key, *argv) == code
    assert message in _error(caplog)
    assert not store.exists()


@pytest.mark.slow
def test_empty_strings_in_a_parquet_category_are_missing_values(files, tmp_path, hmac_key):
    """Parquet keeps "" (CSV reads it as null); Spark's OneHotEncoder refuses an empty name."""
    store = tmp_path / "store"
    code = _train(store, hmac_key, "--data", files["empty"], "--label-col", "y",
                  "--exclude", "id,k,score", "--max-iter", "10")  # fmt: skip
    assert code == 0
    loaded = _load(store / "empty-categories" / "v1", hmac_key)
    schema = input_schema(loaded.manifest)
    assert "" not in schema.column("colour").categories
    row = {"size": 9.0, "count": 3, "flag": True, "city": "Zürich"}
    rows = [{**row, "colour": ""}, {**row, "colour": None}]
    first, second = loaded.estimator.predict_proba(frames.from_records(rows, schema))
    np.testing.assert_array_equal(first, second)  # "" scores as missing, like training saw it
