"""Ratings for recommendations: a user column, an item column and a numeric rating.

Ids may be integers or strings. Parquet and tables keep their integer columns as integers; a
CSV (read as text) column is an integer id column only when every value is an integer written
the canonical way (``7``, not ``007`` or ``7.0``), so two spellings never merge into one id.
Anything else is a string id, trimmed. The rating is a number: an explicit score, or with
``--implicit`` an interaction strength (clicks, plays).

A record with a missing user or item id, or a missing, non-numeric or infinite rating, is a
data error naming the record (1-based, in read order), its values and how many records share
the problem; nothing is trained.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from spark_jobs.errors import DataError, UsageError
from spark_jobs.settings import JobSettings
from spark_jobs.sources.columns import LONG, STRING, _load, _q, source_type

USER, ITEM, RATING = "user", "item", "rating"
"""Column names of ``Ratings.frame``, whatever the source calls them."""
FORMATS = ("csv", "parquet", "table")
_SOURCE = "_source_"
"""Prefix of the source columns while they are checked (a source may call them user/item)."""


@dataclass(frozen=True)
class Ratings:
    """Validated rating rows and what the job needs to know about them."""

    frame: DataFrame
    """``user``, ``item`` (typed ids), ``rating`` double and ``_key`` (seeded pair hash)."""
    source: str
    format: str
    columns: dict[str, str]
    """Source column of each role: {"user": …, "item": …, "rating": …}."""
    user_type: str
    """``long`` or ``string``."""
    item_type: str
    rows: int


def _id_types(frame: DataFrame, names: dict[str, str]) -> dict[str, str]:
    """Per role, ``long`` for an integer column or a text column of canonical integers, else
    ``string``; the text columns are decided in one pass over the data."""
    types: dict[str, str] = {}
    aggs = []
    for role, name in names.items():
        kind = frame.schema[name].dataType
        if source_type(kind) == LONG or not isinstance(kind, st.StringType):
            types[role] = LONG if source_type(kind) == LONG else STRING
            continue
        text = sf.trim(sf.col(_q(name)))
        canonical = text.try_cast("bigint").cast("string") == text
        aggs += [
            sf.count(sf.when(text != "", 1)).alias(f"{role}_n"),
            sf.count(sf.when(canonical, 1)).alias(f"{role}_ints"),
        ]
    facts = frame.agg(*aggs).first().asDict() if aggs else {}
    for role in names:
        if role not in types:
            n, ints = facts[f"{role}_n"], facts[f"{role}_ints"]
            types[role] = LONG if n and n == ints else STRING
    return types


def _id(name: str, kind: str) -> Column:
    col = sf.col(_q(name))
    if kind == LONG:
        return sf.trim(col.cast("string")).try_cast("bigint")
    return sf.nullif(sf.trim(col.cast("string")), sf.lit(""))


def _rating(frame: DataFrame, name: str) -> Column:
    col = sf.col(_q(name))
    if isinstance(frame.schema[name].dataType, st.NumericType):
        return col.cast("double")
    return sf.trim(col.cast("string")).try_cast("double")


def _problems(columns: dict[str, str]) -> list[tuple[str, Column]]:
    """(what is wrong, condition on the typed columns) in the order they are reported."""
    rating_text = sf.trim(sf.col(_SOURCE + RATING).cast("string"))
    return [
        (f"a missing user id (column {columns[USER]!r})", sf.col(USER).isNull()),
        (f"a missing item id (column {columns[ITEM]!r})", sf.col(ITEM).isNull()),
        (
            f"a missing rating (column {columns[RATING]!r})",
            rating_text.isNull() | (rating_text == ""),
        ),
        (f"a non-numeric rating (column {columns[RATING]!r})", sf.col(RATING).isNull()),
        (
            f"a rating that is not a finite number (column {columns[RATING]!r})",
            sf.isnan(RATING) | sf.col(RATING).isin(float("inf"), float("-inf")),
        ),
    ]


def _first(typed: DataFrame, condition: Column, columns: dict[str, str]) -> str:
    """'record N: user=…, item=…, rating=…' for the first row matching ``condition``."""
    shown = [sf.col(_SOURCE + role).cast("string").alias(role) for role in (USER, ITEM, RATING)]
    flagged = typed.select(condition.alias("_bad"), *shown)
    hits = flagged.rdd.zipWithIndex().filter(lambda rec: rec[0][0]).take(1)
    if not hits:
        return "record unknown"
    row, index = hits[0]
    values = ", ".join(f"{columns[role]}={row[role]!r}" for role in (USER, ITEM, RATING))
    return f"record {index + 1}: {values}"


def _check(typed: DataFrame, path: str, columns: dict[str, str]) -> int:
    """The row count, or a DataError for the first problem found (one pass when all is well)."""
    problems = _problems(columns)
    # a non-numeric rating is only one that is present: a missing one is reported as missing
    present = ~problems[2][1]
    conditions = [cond if i != 3 else cond & present for i, (_, cond) in enumerate(problems)]
    counts = typed.agg(
        sf.count(sf.lit(1)).alias("_rows"),
        *[sf.count(sf.when(cond, 1)).alias(str(i)) for i, cond in enumerate(conditions)],
    ).first()
    if not counts["_rows"]:
        raise DataError(f"{path}: no rows (empty input)")
    for i, (what, _) in enumerate(problems):
        if counts[str(i)]:
            where = _first(typed, conditions[i], columns)
            raise DataError(f"{path}: {where} has {what} ({counts[str(i)]} such records)")
    return int(counts["_rows"])


def read(spark: SparkSession, settings: JobSettings, fmt: str, path: str) -> Ratings:
    """Read and validate ratings; the frame is persisted (the split reads it twice)."""
    if fmt not in FORMATS:
        raise UsageError(f"--task recommendation reads CSV, Parquet or a table, not {fmt}")
    raw = _load(spark, fmt, path)
    columns = {USER: settings.user_col, ITEM: settings.item_col, RATING: settings.rating_col}
    for role, name in columns.items():
        if name not in raw.columns:
            raise UsageError(
                f"{path}: no {role} column {name!r} (columns: {', '.join(raw.columns[:10])}); "
                f"pass --{role}-col"
            )
    source = raw.select(*[sf.col(_q(columns[role])).alias(_SOURCE + role) for role in columns])
    kinds = _id_types(source, {USER: _SOURCE + USER, ITEM: _SOURCE + ITEM})
    typed = source.select(
        "*",
        _id(_SOURCE + USER, kinds[USER]).alias(USER),
        _id(_SOURCE + ITEM, kinds[ITEM]).alias(ITEM),
        _rating(source, _SOURCE + RATING).alias(RATING),
    )
    rows = _check(typed, path, columns)
    frame = typed.select(
        sf.col(USER), sf.col(ITEM), sf.col(RATING), _pair_key(settings.seed).alias("_key")
    ).persist()
    return Ratings(frame, path, fmt, columns, kinds[USER], kinds[ITEM], rows)


def _pair_key(seed: int) -> Column:
    """A seeded hash of the (user, item) pair: duplicates of a pair land in the same split."""
    return sf.xxhash64(sf.col(USER).cast("string"), sf.col(ITEM).cast("string"), sf.lit(seed))
