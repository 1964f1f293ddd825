"""Edge rows for the parity check: gaps and unseen categories, proven on every export.

Held-out rows rarely contain a missing number in every imputed column, a missing
category, and a category training never saw — yet those are the paths where an export
is most likely to differ from Spark.  For each column whose pipeline handles such a
value (an Imputer; a StringIndexer with ``handleInvalid='keep'``) and whose sample has
none, one real sample row is copied with that one cell blanked or replaced.

Two more kinds of cell get the same treatment on every export: a bucketized column gets
each finite split (the ties where ``[s_i, s_{i+1})`` is decided), ±inf and, under
``handleInvalid='keep'``, NaN; a text column gets the empty document, a blank one and
vocabulary words in upper case between runs of tabs, spaces and no-break spaces (the
corners of Java's split and of lowercasing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pyspark.ml.feature import CountVectorizerModel
from pyspark.sql import types as T  # noqa: N812

from artifacts.schema import Column, InputSchema

from .binning import splits_of
from .columns import Recipe
from .frame import to_frame

UNSEEN_TEXT = "\u2047unseen"
MAX_SPLIT_ROWS = 16


def bucket_edges(recipe: Recipe) -> list[float]:
    """Values at the Bucketizer's splits, ±inf and NaN (under 'keep'), as Spark scores them."""
    link = recipe.bucketizer
    splits = splits_of(link.stage, link.index)
    inner = [s for s in splits if math.isfinite(s)]
    step = max(1, len(inner) // MAX_SPLIT_ROWS)
    values = inner[::step]
    if recipe.imputer is None:  # sklearn's SimpleImputer refuses ±inf (serving never sends it)
        values += [s for s in (-math.inf, math.inf) if s in (splits[0], splits[-1])]
    if link.stage.getHandleInvalid() == "keep" and recipe.imputer is None:
        values.append(math.nan)
    return values


def _accepted(recipe: Recipe, value: float) -> bool:
    """Whether Spark scores ``value`` on the recipe's Bucketizer (rather than failing)."""
    link = recipe.bucketizer
    if math.isnan(value):
        return recipe.imputer is not None or link.stage.getHandleInvalid() == "keep"
    splits = splits_of(link.stage, link.index)
    return splits[0] <= value <= splits[-1]


def bucket_rows(recipes: Sequence[Recipe]) -> list[tuple[str, float]]:
    """Edge cells for every bucketized column, each one valid for all its Bucketizers."""
    by_source: dict[str, list[Recipe]] = {}
    for recipe in recipes:
        if recipe.bucketizer is not None:
            by_source.setdefault(recipe.source, []).append(recipe)
    cells = []
    for source, binned in by_source.items():
        values = dict.fromkeys(v for r in binned for v in bucket_edges(r))
        cells += [(source, v) for v in values if all(_accepted(r, v) for r in binned)]
    return cells


def text_edges(recipe: Recipe, example: str) -> list[str]:
    """Documents on the corners of tokenising: empty, blank, odd whitespace, upper case."""
    vocabulary = next(
        k.stage.vocabulary for k in recipe.links if isinstance(k.stage, CountVectorizerModel)
    )
    words = [w for w in vocabulary[:8] if w]
    return [
        "",
        " \t ",
        "\t " + "  ".join(w.upper() for w in words) + " \u00a0x ",
        " " + (example or "").replace(" ", "\t\t") + "  ",
    ]


def unseen_value(column: Column, kind: Any) -> Any:
    """A value of the column's Spark type whose string form is not a known category."""
    known = set(column.categories or ())
    if isinstance(kind, T.StringType):
        value = UNSEEN_TEXT
        while value in known:
            value += "!"
        return value
    if isinstance(kind, T.BooleanType):
        missing = [b for b in (False, True) if str(b).lower() not in known]
        return missing[0] if missing else None
    value = -987654321
    while str(value) in known or f"{value}.0" in known:
        value -= 1
    return float(value) if isinstance(kind, T.FractionalType) else value


def add_edge_rows(
    sample_df: Any, schema: InputSchema, recipes: Sequence[Recipe]
) -> tuple[Any, int]:
    """``sample_df``'s input columns plus synthesised edge rows; returns (df, how many)."""
    names = schema.column_names
    imputed = {r.source for r in recipes if r.imputer is not None}
    kept = {r.source for r in recipes if r.indexer is not None and r.unseen == "keep"}
    frame, rows = to_frame(sample_df, schema, keep=names)
    base = sample_df.select(*(f"`{n}`" for n in names))
    if not rows:
        return base, 0
    fields = {f.name: f.dataType for f in base.schema.fields}
    edits: list[tuple[str, Any]] = []
    for recipe in recipes:
        if recipe.is_text:
            example = rows[0][recipe.source]
            edits += [(recipe.source, value) for value in text_edges(recipe, example)]
    edits += [
        (name, value)
        for name, value in bucket_rows(recipes)
        if isinstance(fields[name], T.DoubleType | T.FloatType)
    ]
    for column in schema.columns:
        values = frame[column.name]
        missing = bool(values.isna().any())
        if column.name in imputed and not missing:
            edits.append((column.name, None))
        if column.name in kept:
            if not missing:
                edits.append((column.name, None))
            seen = values.dropna().isin(list(column.categories)).all()
            value = unseen_value(column, fields[column.name])
            if seen and value is not None:
                edits.append((column.name, value))
    if not edits:
        return base, 0
    synthetic = []
    for i, (name, value) in enumerate(edits):
        row = {n: rows[i % len(rows)][n] for n in names}
        row[name] = value
        synthetic.append([row[n] for n in names])
    nullable = T.StructType([T.StructField(n, fields[n], True) for n in names])
    extra = sample_df.sparkSession.createDataFrame(synthetic, nullable)
    return base.unionByName(extra), len(synthetic)
