"""Validation of a freshly read source: every check names the source and the offending record.

One aggregation pass computes all the facts (row count, widths, NaNs, ranges, label shapes);
only when a check fails does a second pass find the first offending record to quote. A
failing check raises ``DataError`` before anything is trained, so nothing reaches the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml.functions import array_to_vector
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from spark_jobs.errors import DataError
from spark_jobs.formats import IMAGE_FORMATS
from spark_jobs.settings import JobSettings
from spark_jobs.sources.tabular import CORRUPT

MAX_CLASSES = 1000
MNIST_FEATURES = 784


@dataclass(frozen=True)
class Dataset:
    """Validated rows plus what the rest of the job needs to know about them."""

    frame: DataFrame
    """``label`` double, ``features`` vector, ``_key`` long (a content hash, for seeding)."""
    source: str
    format: str
    image: bool
    """Rows are 28×28 MNIST images in [0, 1] (the artifact's input schema says so)."""
    classes: list[float]
    num_features: int
    min_value: float
    feature_names: list[str] | None
    rows: int


def _checks(frame: DataFrame, image: bool, declared: list[float] | None) -> list:
    """(name, condition flagging a bad row, message) in the order they are reported."""
    feats = sf.col("features")
    checks = []
    if CORRUPT in frame.columns:
        checks.append(
            ("corrupt", sf.col(CORRUPT).isNotNull(), "malformed row (a value is not a number)")
        )
    if "_invalid" in frame.columns:
        checks.append(("invalid", sf.col("_invalid"), "unreadable image file"))
        checks.append(("label_dir", sf.col("label").isNull(), "folder name is not a numeric label"))
    checks += [
        ("null_label", sf.col("label").isNull(), "missing or non-numeric label"),
        ("nan_label", sf.isnan("label"), "label is NaN"),
        ("null_feature", feats.isNull() | sf.exists(feats, lambda x: x.isNull()), "missing value"),
        ("nan_feature", sf.exists(feats, lambda x: sf.isnan(x)), "feature value is NaN"),
        (
            "bad_label",
            (sf.col("label") < 0) | (sf.col("label") != sf.floor("label")),
            "label must be a non-negative integer",
        ),
    ]
    if declared is not None:
        allowed = ", ".join(f"{c:g}" for c in declared)
        checks.append(
            (
                "undeclared",
                ~sf.col("label").isin(declared),
                f"label not in declared classes [{allowed}]",
            )
        )
    if image:
        checks.append(
            (
                "width",
                sf.size(feats) != MNIST_FEATURES,
                f"image rows need {MNIST_FEATURES} features",
            )
        )
        checks.append(
            (
                "range",
                sf.exists(feats, lambda x: (x < 0) | (x > 1)),
                "pixel values must be in [0, 1] (pass --scale 255 for raw 0-255 pixels)",
            )
        )
    return checks


def _locate(frame: DataFrame, condition: Column) -> str:
    """'record N (origin): label=…' for the first row matching ``condition``, in read order."""
    detail = sf.concat_ws(
        " ", sf.lit("label="), sf.coalesce(sf.col("label").cast("string"), sf.lit("null"))
    )
    if CORRUPT in frame.columns:
        detail = sf.coalesce(sf.substring(sf.col(CORRUPT), 1, 60), detail)
    flagged = frame.select(
        sf.coalesce(condition, sf.lit(False)).alias("bad"),
        sf.col("_origin"),
        sf.concat_ws("", detail, sf.lit(" width="), sf.size("features").cast("string")).alias("d"),
    )
    hits = flagged.rdd.zipWithIndex().filter(lambda rec: rec[0][0]).take(1)
    if not hits:
        return "record unknown"
    (_, origin, info), index = hits[0]
    return f"record {index + 1} ({origin}): {info}"


def validate(
    raw: DataFrame,
    settings: JobSettings,
    *,
    fmt: str,
    source: str,
    feature_names: list[str] | None,
) -> Dataset:
    """Scale, subset and check ``raw``; return the cached vector-form ``Dataset``."""
    image = fmt in IMAGE_FORMATS or settings.as_image
    scale = settings.scale or (255.0 if fmt == "mnist-sample" else None)
    frame = raw
    if scale is not None:
        frame = frame.withColumn("features", sf.transform("features", lambda x: x / sf.lit(scale)))
    keyed = frame.withColumn("_key", sf.xxhash64(sf.lit(settings.seed), "label", "features"))
    if settings.limit is not None:
        keyed = keyed.orderBy("_key").limit(settings.limit)
    declared = (
        list(settings.classes)
        if settings.classes
        else ([float(c) for c in range(10)] if image else None)
    )
    keyed = keyed.persist()  # parsed once: the checks and the final frame both read it
    checks = _checks(frame, image, declared)
    aggs = [
        sf.count(sf.lit(1)).alias("rows"),
        sf.min(sf.size("features")).alias("min_width"),
        sf.max(sf.size("features")).alias("max_width"),
        sf.min(sf.array_min("features")).alias("min_value"),
    ]
    aggs += [
        sf.sum(sf.coalesce(cond, sf.lit(False)).cast("int")).alias(name) for name, cond, _ in checks
    ]
    facts = keyed.agg(*aggs).first().asDict()
    if not facts["rows"]:
        raise DataError(f"{source}: no rows (empty input)")
    for name, cond, message in checks:
        if facts[name]:
            where = _locate(frame, cond)
            raise DataError(f"{source}: {message} at {where} ({facts[name]} such rows)")
    if facts["min_width"] != facts["max_width"]:
        where = _locate(frame, sf.size("features") != facts["min_width"])
        raise DataError(
            f"{source}: rows have {facts['min_width']}..{facts['max_width']} features; "
            f"first differing at {where}"
        )
    if facts["min_width"] == 0:
        raise DataError(f"{source}: rows have no features")
    return _finish(keyed, settings, fmt, source, image, declared, facts, feature_names)


def _finish(keyed, settings, fmt, source, image, declared, facts, feature_names) -> Dataset:
    final = keyed.select("label", array_to_vector("features").alias("features"), "_key").persist()
    counts = final.groupBy("label").count().limit(MAX_CLASSES + 1).collect()
    keyed.unpersist()
    if len(counts) > MAX_CLASSES:
        raise DataError(
            f"{source}: more than {MAX_CLASSES} distinct labels; is the label column right?"
        )
    present = sorted(r["label"] for r in counts)
    classes = declared if declared is not None else present
    if len(present) < 2:
        raise DataError(f"{source}: only one class ({present}); a classifier needs at least two")
    return Dataset(
        frame=final,
        source=source,
        format=fmt,
        image=image,
        classes=classes,
        num_features=int(facts["min_width"]),
        min_value=float(facts["min_value"]),
        feature_names=feature_names,
        rows=int(facts["rows"]),
    )
