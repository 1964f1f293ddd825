"""Typed tabular sources: a CSV with a header, Parquet columns, a Spark/Hive table.

Unlike the vector readers, columns keep their names and types: numbers stay numbers (gaps
and all — the pipeline imputes them), strings and booleans become categories. The result is
a ``TabularDataset`` whose frame holds the feature columns in the *pipeline form* (booleans
and forced categoricals as strings, as Spark's StringIndexer reads them), the label column,
and ``_key`` (a seeded content hash for the split and ``--limit``).

Types come from the source (Parquet, tables) or from the values (CSV: a column whose every
value is an integer is ``long``, a number ``double``, ``true``/``false`` ``boolean``, else
``string``), and ``--schema "a DOUBLE, b STRING"`` overrides them per column. A value that
does not fit its column's type is a data error naming the column, the record and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from spark_jobs.errors import DataError, UsageError
from spark_jobs.settings import JobSettings

DOUBLE, LONG, STRING, BOOLEAN = "double", "long", "string", "boolean"
SPARK_TYPES = {DOUBLE: "double", LONG: "bigint", STRING: "string", BOOLEAN: "boolean"}
_DDL_TYPES = {
    DOUBLE: ("double", "float", "real", "decimal", "numeric"),
    LONG: ("bigint", "long", "int", "integer", "smallint", "tinyint", "short", "byte"),
    STRING: ("string", "varchar", "char", "text"),
    BOOLEAN: ("boolean", "bool"),
}
MOSTLY_NUMERIC = 0.9
"""A CSV column with at least this share of numbers is numeric with bad values, not text."""
MAX_CLASSES = 1000
"""Upper bound on the classes of an explicit ``--task classification``."""
CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass(frozen=True)
class TypedColumns:
    """A table's feature and label columns, converted to their types; not yet labelled."""

    frame: DataFrame
    source: str
    format: str
    label: str
    features: list[str]
    types: dict[str, str]
    """Type of every feature column and of the label."""
    categorical: list[str]
    rows: int
    """Rows read, before unlabelled ones are dropped."""


@dataclass(frozen=True)
class TabularDataset:
    """Rows with named, typed columns and everything the job needs to know about them."""

    frame: DataFrame
    """Feature columns (pipeline form), the label column and ``_key``; persisted."""
    source: str
    format: str
    label: str
    task: str
    columns: list[str]
    """Feature columns in source order."""
    types: dict[str, str]
    """Each feature column's type: double, long, string or boolean."""
    categorical: list[str]
    numeric: list[str]
    classes: list[Any] | None
    """Classification: the original labels, naturally sorted (the class index order)."""
    label_strings: list[str] | None
    """Classification: ``classes`` as Spark casts them to string (the label indexer's labels)."""
    rows: int
    dropped_labels: int
    """Rows dropped because their label was missing."""
    min_value: float | None
    """Smallest numeric feature value (naive Bayes needs none below zero)."""
    label_range: tuple[float, float] | None
    image: bool = False

    @property
    def num_features(self) -> int:
        return len(self.columns)

    def typed(self, frame: DataFrame) -> DataFrame:
        """``frame``'s feature columns back in their source types (booleans as booleans)."""
        casts = [
            sf.col(_q(c)).cast(SPARK_TYPES[self.types[c]]).alias(c)
            if c in self.categorical and self.types[c] != STRING
            else sf.col(_q(c))
            for c in self.columns
        ]
        return frame.select(*casts, sf.col(_q(self.label)))


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def parse_schema(text: str) -> dict[str, str]:
    """``"a DOUBLE, b STRING"`` → {"a": "double", "b": "string"}; UsageError when malformed."""
    result: dict[str, str] = {}
    for part in re.split(r",(?![^()]*\))", text):
        part = part.strip()
        if not part:
            continue
        found = re.fullmatch(r"(`(?:[^`]|``)+`|\S+)\s+([A-Za-z]+)(\s*\([\d,\s]+\))?", part)
        if not found:
            raise UsageError(f"--schema: cannot read {part!r}; expected 'name TYPE'")
        name, kind = found.group(1), found.group(2).lower()
        if name.startswith("`"):
            name = name[1:-1].replace("``", "`")
        mapped = next((t for t, aliases in _DDL_TYPES.items() if kind in aliases), None)
        if mapped is None:
            raise UsageError(
                f"--schema: column {name!r} has type {kind.upper()}; "
                "use DOUBLE, BIGINT, STRING or BOOLEAN"
            )
        result[name] = mapped
    return result


def source_type(kind: st.DataType) -> str | None:
    """The column type a Spark type maps to, or None when it has none (dates, arrays…)."""
    if isinstance(kind, st.BooleanType):
        return BOOLEAN
    if isinstance(kind, st.StringType | st.VarcharType | st.CharType):
        return STRING
    if isinstance(kind, st.ByteType | st.ShortType | st.IntegerType | st.LongType):
        return LONG
    if isinstance(kind, st.FloatType | st.DoubleType | st.DecimalType):
        return DOUBLE
    return None


def _load(spark: SparkSession, fmt: str, path: str) -> DataFrame:
    try:
        if fmt == "table":
            frame = spark.table(path)
        elif fmt == "parquet":
            frame = spark.read.parquet(path)
        else:
            frame = (
                spark.read.option("header", True)
                .option("inferSchema", False)
                .option("mode", "PERMISSIVE")
                .csv(path)
            )
        frame.schema  # noqa: B018 - resolve the path or table now
    except AnalysisException as exc:
        raise DataError(f"{path}: cannot read ({str(exc).strip().splitlines()[0][:300]})") from exc
    if not frame.columns:
        raise DataError(f"{path}: no columns (empty input)")
    return frame


def _pick_columns(frame: DataFrame, settings: JobSettings, path: str) -> tuple[str, list[str]]:
    names = [c for c in frame.columns if not c.startswith("_corrupt")]
    label = settings.label_col or ("label" if "label" in names else None)
    if label is None:
        raise UsageError(f"{path}: which column is the label? pass --label-col (columns: "
                         f"{', '.join(names[:10])})")  # fmt: skip
    if label not in names:
        raise UsageError(f"{path}: no label column {label!r} (columns: {', '.join(names[:10])})")
    for option, listed in (
        ("--features", settings.features or ()),
        ("--exclude", settings.exclude),
        ("--categorical", settings.categorical),
        ("--schema", tuple(parse_schema(settings.schema)) if settings.schema else ()),
    ):
        unknown = [c for c in listed if c not in names]
        if unknown:
            raise UsageError(f"{option}: no column {unknown[0]!r} in {path}")
    chosen = list(settings.features) if settings.features else names
    features = [c for c in chosen if c != label and c not in settings.exclude]
    if not features:
        raise UsageError(f"{path}: no feature columns besides the label {label!r}")
    return label, features


def _is_bool(col: Column) -> Column:
    return sf.lower(sf.trim(col)).isin("true", "false")


def _fits(col: Column, target: str) -> Column:
    """True where a string value converts to ``target`` (nulls fit every type)."""
    if target == BOOLEAN:
        return col.isNull() | _is_bool(col)
    return col.isNull() | sf.trim(col).try_cast(SPARK_TYPES[target]).isNotNull()


def _resolve_types(
    frame: DataFrame, fmt: str, path: str, wanted: list[str], overrides: dict[str, str]
) -> tuple[dict[str, str], dict]:
    """Each wanted column's type, plus the aggregated facts used to decide them."""
    kinds = {f.name: f.dataType for f in frame.schema.fields}
    types: dict[str, str] = {}
    infer = []
    for name in wanted:
        if name in overrides:
            types[name] = overrides[name]
        elif fmt == "csv":
            infer.append(name)
        else:
            mapped = source_type(kinds[name])
            if mapped is None:
                raise UsageError(
                    f"{path}: column {name!r} has type {kinds[name].simpleString()}; "
                    "--exclude it or give it a type with --schema"
                )
            types[name] = mapped
    aggs = [sf.count(sf.lit(1)).alias("_rows")]
    for i, name in enumerate(overrides):
        if name in types and source_type(kinds[name]) not in (types[name], None):
            misfit = ~_fits(sf.col(_q(name)).cast("string"), types[name])
            aggs.append(sf.count(sf.when(misfit, 1)).alias(f"bad{i}"))
    for i, name in enumerate(infer):
        col = sf.col(_q(name))
        aggs += [
            sf.count(col).alias(f"n{i}"),
            sf.count(sf.trim(col).try_cast("bigint")).alias(f"l{i}"),
            sf.count(sf.trim(col).try_cast("double")).alias(f"d{i}"),
            sf.count(sf.when(_is_bool(col), 1)).alias(f"b{i}"),
        ]
    facts = frame.agg(*aggs).first().asDict()
    if not facts["_rows"]:
        raise DataError(f"{path}: no rows (empty input)")
    for i, name in enumerate(infer):
        n = facts[f"n{i}"]
        if n and facts[f"l{i}"] == n:
            types[name] = LONG
        elif n and facts[f"d{i}"] == n:
            types[name] = DOUBLE
        elif n and facts[f"b{i}"] == n:
            types[name] = BOOLEAN
        elif n and facts[f"d{i}"] >= MOSTLY_NUMERIC * n:
            types[name] = DOUBLE  # numbers with a few words in between: report the words
            facts["_suspect"] = True
        else:
            types[name] = STRING
    facts["_suspect"] = facts.get("_suspect") or any(
        v for k, v in facts.items() if k.startswith("bad")
    )
    return types, facts


def _malformed(frame: DataFrame, path: str, types: dict[str, str], fmt: str) -> None:
    """DataError for the first value that does not fit its column's type, in read order."""
    kinds = {f.name: f.dataType for f in frame.schema.fields}
    checked = [
        c for c, t in types.items() if source_type(kinds[c]) != t and t != STRING
    ]  # only conversions can fail; anything becomes a string
    if not checked:
        return
    bad = [
        sf.count(sf.when(~_fits(sf.col(_q(c)).cast("string"), types[c]), 1)).alias(str(i))
        for i, c in enumerate(checked)
    ]
    counts = frame.agg(*bad).first()
    for i, name in enumerate(checked):
        if counts[i]:
            record, value = _first_bad(frame, name, types[name])
            hint = "" if fmt != "csv" else f'; if it is text, pass --schema "{name} STRING"'
            raise DataError(
                f"{path}: column {name!r} ({types[name]}) has a malformed value {value!r} at "
                f"record {record} ({counts[i]} such rows){hint}"
            )


def _first_bad(frame: DataFrame, name: str, target: str) -> tuple[int, str]:
    col = sf.col(_q(name)).cast("string")
    flagged = frame.select((~_fits(col, target)).alias("bad"), col.alias("value"))
    hits = flagged.rdd.zipWithIndex().filter(lambda rec: rec[0][0]).take(1)
    (_, value), index = hits[0]
    return index + 1, value


def _convert(name: str, source: st.DataType, target: str, categorical: bool) -> Column:
    """The column in pipeline form: its target type, then string if it is a category."""
    col = sf.col(_q(name))
    if source_type(source) != target:
        col = sf.trim(col) if isinstance(source, st.StringType) else col
        if target == BOOLEAN:
            col = sf.when(col.isNull(), None).otherwise(sf.lower(col.cast("string")) == "true")
        else:
            col = col.try_cast(SPARK_TYPES[target])
    if categorical and target != STRING:
        col = col.cast(SPARK_TYPES[target]).cast("string")
    if categorical:  # Spark's OneHotEncoder refuses an empty category name: "" is missing
        col = sf.nullif(col, sf.lit(""))
    return col.alias(name)


def read(spark: SparkSession, settings: JobSettings, fmt: str, path: str) -> TypedColumns:
    """Read, type and check one tabular source (CSV with header, Parquet, table); the label
    decides the rest (``spark_jobs.sources.labels.finish``)."""
    raw = _load(spark, fmt, path)
    label, features = _pick_columns(raw, settings, path)
    overrides = parse_schema(settings.schema) if settings.schema else {}
    types, facts = _resolve_types(raw, fmt, path, [*features, label], overrides)
    if facts["_suspect"]:  # only then: a second pass finds the first bad value to quote
        _malformed(raw, path, types, fmt)
    kinds = {f.name: f.dataType for f in raw.schema.fields}
    forced = set(settings.categorical)
    categorical = [c for c in features if types[c] in (STRING, BOOLEAN) or c in forced]
    frame = raw.select(
        *[_convert(c, kinds[c], types[c], c in categorical) for c in features],
        _convert(label, kinds[label], types[label], types[label] == BOOLEAN),
    )
    return TypedColumns(frame, path, fmt, label, features, types, categorical, facts["_rows"])
