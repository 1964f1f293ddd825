"""Tabular sources: typed columns, gaps, categories, the label and the task it implies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spark_jobs import sources
from spark_jobs.errors import DataError, UsageError
from spark_jobs.session import data_errors
from spark_jobs.sources.columns import parse_schema

from .conftest import settings
from .tabular_data import breast_cancer, diabetes, mixed, to_csv, to_parquet, wine

pytestmark = pytest.mark.spark


def _read(spark, **kw) -> sources.TabularDataset:
    s = settings(**kw)
    with data_errors(s.data):
        data = sources.read(spark, s)
    assert isinstance(data, sources.TabularDataset)
    return data


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory):
    return to_csv(mixed(), tmp_path_factory.mktemp("mixed") / "mixed.csv")


def test_csv_types_are_inferred_and_gaps_kept(spark, mixed_csv):
    data = _read(spark, data=mixed_csv, label_col="y", exclude=("id", "k", "score"))
    assert data.types == {
        "colour": "string",
        "size": "double",
        "count": "long",
        "flag": "boolean",
        "city": "string",
    }
    assert data.categorical == ["colour", "flag", "city"]
    assert data.numeric == ["size", "count"]
    assert (data.task, data.classes, data.label_strings) == (
        "classification",
        ["no", "yes"],
        ["no", "yes"],
    )
    rows = data.frame.toPandas()
    assert rows["size"].isna().sum() > 0, "numeric gaps reach the pipeline's Imputer"
    assert set(rows["flag"]) == {"true", "false"}, "booleans are categories as strings"
    assert {"grün", "żółty"} <= set(rows["colour"])
    assert rows["city"].isna().sum() > 0


def test_integer_label_with_few_values_is_classification(spark, mixed_csv):
    data = _read(spark, data=mixed_csv, label_col="k", exclude=("y", "score"))
    assert data.task == "classification"
    assert data.classes == [0, 1, 2, 3]
    assert data.label_strings == ["0", "1", "2", "3"]


def test_continuous_label_is_regression(spark, tmp_path):
    data = _read(spark, data=to_csv(diabetes(), tmp_path / "d.csv"), label_col="progression")
    assert data.task == "regression"
    assert data.classes is None
    assert data.rows == 442
    assert data.label_range == (25.0, 346.0)


def test_many_distinct_integers_ask_for_task(spark, tmp_path):
    frame = pd.DataFrame({"x": np.arange(400) * 0.5, "y": np.arange(400)})
    path = to_csv(frame, tmp_path / "ints.csv")
    with pytest.raises(UsageError, match=r"more than 50 distinct integer values: pass --task"):
        _read(spark, data=path, label_col="y")
    assert _read(spark, data=path, label_col="y", task="regression").task == "regression"


def test_missing_labels_are_dropped_and_counted(spark, tmp_path):
    frame = wine()
    frame["cultivar"] = frame["cultivar"].astype("Int64")
    frame.loc[[3, 50, 90], "cultivar"] = pd.NA
    data = _read(spark, data=to_csv(frame, tmp_path / "w.csv"), label_col="cultivar")
    assert (data.rows, data.dropped_labels) == (175, 3)
    assert data.classes == [0, 1, 2]


def test_parquet_keeps_source_types(spark, tmp_path):
    path = to_parquet(spark, mixed(), tmp_path / "m.parquet")
    data = _read(spark, data=path, label_col="score", features=("colour", "count", "flag"))
    assert data.types == {"colour": "string", "count": "long", "flag": "boolean"}
    assert data.task == "regression"


def test_spark_table(spark, tmp_path):
    spark.sql(f"CREATE DATABASE IF NOT EXISTS tabtest LOCATION '{tmp_path / 'wh'}'")
    spark.createDataFrame(breast_cancer()).write.saveAsTable("tabtest.cancer")
    data = _read(spark, data="tabtest.cancer", format="table", label_col="diagnosis")
    assert data.format == "table"
    assert data.classes == ["benign", "malignant"]
    assert data.num_features == 30
    assert settings(data="tabtest.cancer", format="table").artifact_name == "cancer"


def test_schema_and_categorical_override(spark, mixed_csv):
    data = _read(
        spark,
        data=mixed_csv,
        label_col="y",
        features=("count", "size", "id"),
        schema="count DOUBLE, `size` DOUBLE",
        categorical=("id",),
    )
    assert data.types == {"count": "double", "size": "double", "id": "long"}
    assert data.categorical == ["id"]
    assert data.frame.select("id").first()[0].isdigit()


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("a DOUBLE, b string", {"a": "double", "b": "string"}),
        ("a INT, `b c` BOOLEAN, d DECIMAL(10,2)", {"a": "long", "b c": "boolean", "d": "double"}),
    ],
)
def test_parse_schema(schema, expected):
    assert parse_schema(schema) == expected


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"features": ("nope",)}, "--features: no column 'nope'"),
        ({"exclude": ("nope",)}, "--exclude: no column 'nope'"),
        ({"schema": "size DATE"}, "use DOUBLE, BIGINT, STRING or BOOLEAN"),
        ({"schema": "size"}, "expected 'name TYPE'"),
        ({"label_col": "zzz"}, "no label column 'zzz'"),
        ({"label_col": "colour", "task": "regression"}, "regression needs a numeric label"),
    ],
)
def test_usage_errors_name_the_option(spark, mixed_csv, kw, message):
    with pytest.raises(UsageError, match=message):
        _read(spark, **{"data": mixed_csv, "label_col": "y", **kw})


def test_word_in_numeric_column_names_column_record_value(spark, tmp_path):
    frame = diabetes(60)
    frame["bmi"] = frame["bmi"].astype(object)
    frame.loc[41, "bmi"] = "oops"
    path = to_csv(frame, tmp_path / "typo.csv")
    with pytest.raises(DataError, match=r"column 'bmi' \(double\) has a malformed value 'oops' "
                                        r"at record 42"):  # fmt: skip
        _read(spark, data=path, label_col="progression")
    as_text = _read(spark, data=path, label_col="progression", schema="bmi STRING")
    assert "bmi" in as_text.categorical


def test_word_under_declared_schema(spark, tmp_path):
    frame = pd.DataFrame({"a": ["1", "2", "x3", "4"], "y": [0, 1, 0, 1]})
    path = to_csv(frame, tmp_path / "s.csv")
    with pytest.raises(DataError, match=r"column 'a' \(long\) .* 'x3' at record 3"):
        _read(spark, data=path, label_col="y", schema="a BIGINT")


def test_headerless_csv_and_vector_parquet_stay_vector_data(spark, tmp_path):
    (tmp_path / "v.csv").write_text("0,0.1,0.2\n1,0.3,0.4\n")
    data = sources.read(spark, settings(data=str(tmp_path / "v.csv")))
    assert isinstance(data, sources.Dataset)
