"""The typed input and output schema of an export, derived from the pipeline and data.

Types come from the Spark schema of the pipeline's raw input columns; categories from
the fitted StringIndexers (index order); numeric ranges and nullability are measured on
``schema_df`` (the training job passes its training DataFrame).  A column is nullable
when that data has gaps in it or when the pipeline handles gaps exactly anyway (an
Imputer covers it, or a StringIndexer keeps invalid values in its own bucket).  Two
stages override the measurement: a tokenised text column is never nullable (Spark's
Tokenizer fails on null), and a bucketized column is nullable exactly when a missing value
is scored (an Imputer, or ``handleInvalid='keep'``, whose NaN bucket a missing value gets
— Spark's NaN, which JSON cannot carry).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql import types as T  # noqa: N812

from artifacts.schema import (
    BOOLEAN,
    CLASSIFICATION,
    CLUSTERING,
    DOUBLE,
    LONG,
    REGRESSION,
    STRING,
    Column,
    InputSchema,
    OutputSchema,
)

from .columns import INTEGRAL_TYPES, NUMERIC_TYPES, Recipe
from .errors import ExportError


def column_type(name: str, kind: Any) -> str:
    """Spark DataType → the schema's double/long/string/boolean."""
    if isinstance(kind, INTEGRAL_TYPES):
        return LONG
    if isinstance(kind, NUMERIC_TYPES):
        return DOUBLE
    if isinstance(kind, T.StringType):
        return STRING
    if isinstance(kind, T.BooleanType):
        return BOOLEAN
    raise ExportError(
        f"input column {name!r} has type {kind.simpleString()}; a tabular model takes "
        "numeric, string and boolean columns"
    )


def column_stats(df: Any, fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per column: whether it has nulls (or NaN) and, for numbers, min and max (NaN ignored)."""
    aggs = []
    for i, (name, kind) in enumerate(fields.items()):
        col = F.col(f"`{name.replace('`', '``')}`")
        numeric = isinstance(kind, NUMERIC_TYPES)
        gap = col.isNull() | F.isnan(col) if numeric else col.isNull()
        aggs.append(F.max(F.when(gap, 1).otherwise(0)).alias(f"n{i}"))
        if numeric:
            value = F.when(~F.isnan(col), col.cast("double"))
            aggs += [F.min(value).alias(f"lo{i}"), F.max(value).alias(f"hi{i}")]
    row = df.agg(*aggs).first()
    stats = {}
    for i, (name, kind) in enumerate(fields.items()):
        entry: dict[str, Any] = {"nulls": bool(row[f"n{i}"])}
        if isinstance(kind, NUMERIC_TYPES) and row[f"lo{i}"] is not None:
            entry["range"] = (float(row[f"lo{i}"]), float(row[f"hi{i}"]))
        stats[name] = entry
    return stats


def tabular_schema(
    recipes: Sequence[Recipe], order: Sequence[str], fields: dict[str, Any], schema_df: Any
) -> InputSchema:
    """Columns in ``order`` (the sample's column order) for every recipe source.

    Types are ``schema_df``'s where it has the column (the training job passes its data in
    source types, e.g. a boolean that the pipeline reads as "true"/"false" strings), else
    the pipeline input's ``fields``.
    """
    by_source: dict[str, list[Recipe]] = {}
    for recipe in recipes:
        by_source.setdefault(recipe.source, []).append(recipe)
    names = [name for name in order if name in by_source]
    declared = {f.name: f.dataType for f in schema_df.schema.fields}
    fields = {name: declared.get(name, fields[name]) for name in names}
    stats = column_stats(schema_df, fields)
    columns = []
    for name in names:
        first = by_source[name][0]
        categories = first.categories
        columns.append(
            Column(
                name=name,
                type=column_type(name, fields[name]),
                nullable=_nullable(by_source[name], stats[name]["nulls"]),
                categories=categories,
                range=None if categories is not None else stats[name].get("range"),
                unseen=first.unseen if categories else "keep",
                text=first.is_text,
            )
        )
    return InputSchema.tabular(columns)


def _nullable(recipes: Sequence[Recipe], measured: bool) -> bool:
    """Whether a missing value is accepted for the column the recipes read."""
    if any(r.is_text for r in recipes):
        return False
    binned = [r for r in recipes if r.bucketizer is not None]
    if binned:
        return all(
            r.imputer is not None or r.bucketizer.stage.getHandleInvalid() == "keep" for r in binned
        )
    return measured or any(r.imputer is not None or r.unseen == "keep" for r in recipes)


def output_schema(
    task: str,
    label_col: str | None,
    classes: Sequence[Any],
    schema_df: Any,
    estimator: Any = None,
) -> OutputSchema:
    """Classification: the classes; regression: the target's type and observed range;
    clustering: cluster ids ``0 … k-1`` (a long), with no label."""
    if task == CLUSTERING:
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        k = len(final.cluster_centers_)
        return OutputSchema(CLUSTERING, label=None, target={"type": LONG, "range": [0, k - 1]})
    label = label_col if label_col in schema_df.columns else None
    if task == CLASSIFICATION:
        return OutputSchema(CLASSIFICATION, label=label, classes=tuple(_plain(c) for c in classes))
    target: dict[str, Any] = {"type": DOUBLE}
    if label is not None:
        stats = column_stats(schema_df, {label: T.DoubleType()})[label]
        if "range" in stats:
            target["range"] = [stats["range"][0], stats["range"][1]]
    return OutputSchema(REGRESSION, label=label, target=target)


def _plain(value: Any) -> Any:
    """numpy scalars → Python, so the manifest serialises them as JSON."""
    return value.item() if hasattr(value, "item") else value
