"""Deterministic, stratified train/validation/test split.

Rows are ordered within each class by ``_key`` — a seeded hash of the row's content — and
cut at the requested fractions, so the split depends only on the data and the seed: not on
partitioning, executor count or input order (the bundled sample is sorted by label).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf


@dataclass(frozen=True)
class Splits:
    """The three parts of a dataset; each keeps ``label``, ``features`` and ``_key``."""

    train: DataFrame
    validation: DataFrame
    test: DataFrame


_BUCKETS = 1_000_003


def assign(
    frame: DataFrame, test_fraction: float, val_fraction: float, by: str | None = "label"
) -> DataFrame:
    """Add ``_split`` ∈ {train, validation, test}; each class is cut at the same fractions.

    A row's position ``q = (rank + 0.5) / class_size`` decides its part, so a tiny class keeps
    its rows in training rather than losing them all to the test set. With ``by=None`` (a
    continuous target) ``q`` is the row's ``_key`` hashed into [0, 1): the fractions hold in
    expectation, and no window gathers the whole data set in one partition.
    """
    if by is None:
        q = sf.pmod("_key", sf.lit(_BUCKETS)) / sf.lit(float(_BUCKETS))
    else:
        by_class = Window.partitionBy(sf.col(f"`{by}`"))
        ordered = by_class.orderBy("_key")
        q = (sf.row_number().over(ordered) - 0.5) / sf.count(sf.lit(1)).over(by_class)
    part = (
        sf.when(q < test_fraction, "test")
        .when(q < test_fraction + val_fraction, "validation")
        .otherwise("train")
    )
    return frame.withColumn("_split", part)


def stratified_split(
    frame: DataFrame, test_fraction: float, val_fraction: float, by: str | None = "label"
) -> Splits:
    """Split ``frame`` (with ``_key``) into cached train/validation/test frames, stratified
    by the ``by`` column (None: not stratified, for regression targets).

    The cached frame keeps the input's partition count (at least the cluster's parallelism):
    the window's shuffle would otherwise leave it in ``spark.sql.shuffle.partitions`` (200)
    partitions, because adaptive execution does not coalesce a cached plan, and every later
    pass over a split (augment, fit, evaluate) would pay 200 mostly empty tasks.
    """
    partitions = max(
        frame.rdd.getNumPartitions(), frame.sparkSession.sparkContext.defaultParallelism
    )
    marked = assign(frame, test_fraction, val_fraction, by).coalesce(partitions).persist()
    parts = {
        name: marked.where(sf.col("_split") == name).drop("_split")
        for name in ("train", "validation", "test")
    }
    return Splits(parts["train"], parts["validation"], parts["test"])
