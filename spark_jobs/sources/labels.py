"""The label of a tabular source: drop rows without one, and decide the task from it.

``--task auto`` never guesses silently: string and boolean labels, or whole-number labels with
at most ``--max-classes`` distinct values, are classes; other numbers in a floating-point
column (fractions, or many distinct whole numbers such as a score) are a regression target; an
integer-typed column with more distinct values is a usage error that asks for ``--task``.
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from spark_jobs.errors import DataError, UsageError
from spark_jobs.settings import JobSettings
from spark_jobs.sources.columns import (
    BOOLEAN,
    CLASSIFICATION,
    DOUBLE,
    MAX_CLASSES,
    REGRESSION,
    STRING,
    TabularDataset,
    TypedColumns,
    _q,
)

log = logging.getLogger(__name__)

_GLM_LABELS = {
    "poisson": (lambda lo: lo >= 0, "non-negative"),
    "gamma": (lambda lo: lo > 0, "positive"),
    "tweedie": (lambda lo: lo >= 0, "non-negative"),
}


def _facts(frame: DataFrame, label: str, numeric: list[str], label_type: str) -> dict:
    y = sf.col(_q(label))
    aggs = [sf.count(sf.lit(1)).alias("rows")]
    if label_type not in (STRING, BOOLEAN):
        aggs += [
            sf.min(y).cast("double").alias("lo"),
            sf.max(y).cast("double").alias("hi"),
            sf.sum((y.cast("double") != sf.floor(y)).cast("int")).alias("fractional"),
        ]
    if numeric:
        lows = [sf.min(sf.col(_q(c))).cast("double") for c in numeric]
        aggs.append((sf.least(*lows) if len(lows) > 1 else lows[0]).alias("mn"))
    return frame.agg(*aggs).first().asDict()


def _task(settings: JobSettings, label: str, label_type: str, facts: dict, distinct: int) -> str:
    if label_type in (STRING, BOOLEAN):
        if settings.task == REGRESSION:
            raise UsageError(f"label {label!r} is {label_type}; regression needs a numeric label")
        return CLASSIFICATION
    if settings.task != "auto":
        return settings.task
    if facts["fractional"]:
        return REGRESSION
    if distinct <= settings.max_classes:
        return CLASSIFICATION
    if label_type == DOUBLE:  # a measurement that happens to be whole (a score, a count)
        return REGRESSION
    raise UsageError(
        f"label {label!r} has more than {settings.max_classes} distinct integer values: "
        "pass --task regression (a numeric target) or --task classification (class ids)"
    )


def _python(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _label_counts(frame: DataFrame, label: str, source: str) -> list:
    """(value, value as Spark's string, count) per distinct label, at most MAX_CLASSES + 1."""
    y = sf.col(_q(label))
    grouped = frame.groupBy(y.alias("v"), y.cast("string").alias("s")).count()
    return grouped.limit(MAX_CLASSES + 1).collect()


def _classes(rows: list, label: str, source: str) -> tuple[list[Any], list[str]]:
    if len(rows) > MAX_CLASSES:
        raise DataError(f"{source}: more than {MAX_CLASSES} distinct labels in {label!r}")
    if len(rows) < 2:
        raise DataError(f"{source}: label {label!r} has one class only; a classifier needs two")
    rows = sorted(rows, key=lambda r: (str(type(r["v"])), r["v"]))
    return [_python(r["v"]) for r in rows], [r["s"] for r in rows]


def _check_glm(settings: JobSettings, facts: dict, label: str, source: str) -> None:
    if settings.model != "glm" or settings.family not in _GLM_LABELS:
        return
    ok, words = _GLM_LABELS[settings.family]
    if not ok(facts["lo"]):
        raise DataError(
            f"{source}: --family {settings.family} needs a {words} label; {label!r} has "
            f"values down to {facts['lo']:g}"
        )


def finish(typed: TypedColumns, settings: JobSettings) -> TabularDataset:
    """Drop unlabelled rows, key, subset and persist; decide the task; describe the result."""
    frame, fmt, source, label = typed.frame, typed.format, typed.source, typed.label
    features, types, categorical, total = typed.features, typed.types, typed.categorical, typed.rows
    y = sf.col(_q(label))
    missing = y.isNull() | (sf.isnan(y) if types[label] == DOUBLE else sf.lit(False))
    labelled = frame.where(~missing)
    keyed = labelled.withColumn("_key", sf.xxhash64(sf.lit(settings.seed), *map(_q, frame.columns)))
    if settings.limit is not None:
        keyed = keyed.orderBy("_key").limit(settings.limit)
    keyed = keyed.persist()
    numeric = [c for c in features if c not in categorical]
    facts = _facts(keyed, label, numeric, types[label])
    dropped = total - (facts["rows"] if settings.limit is None else labelled.count())
    if dropped:
        log.info("dropped %d of %d rows whose label %r is missing", dropped, total, label)
    if not facts["rows"]:
        raise DataError(f"{source}: no rows with a label in {label!r}")
    counts = None
    if types[label] in (STRING, BOOLEAN) or not facts["fractional"]:
        counts = _label_counts(keyed, label, source)  # one pass: the task and the classes
    task = _task(settings, label, types[label], facts, len(counts or ()))
    classes = strings = None
    if task == CLASSIFICATION:
        classes, strings = _classes(counts or _label_counts(keyed, label, source), label, source)
        if types[label] == BOOLEAN:
            classes = [c == "true" for c in classes]
    else:
        _check_glm(settings, facts, label, source)
    return TabularDataset(
        frame=keyed,
        source=source,
        format=fmt,
        label=label,
        task=task,
        columns=list(features),
        types={c: types[c] for c in features},
        categorical=list(categorical),
        numeric=numeric,
        classes=classes,
        label_strings=strings,
        rows=int(facts["rows"]),
        dropped_labels=int(dropped),
        min_value=facts.get("mn"),
        label_range=(facts["lo"], facts["hi"]) if "lo" in facts else None,
    )
