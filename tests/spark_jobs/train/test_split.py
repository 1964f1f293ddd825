"""The split is stratified, seeded, and independent of partitioning and input order."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as sf

from spark_jobs.train.split import assign, stratified_split

pytestmark = pytest.mark.spark


def _frame(spark, per_class=(50, 30, 20), seed=7):
    rows = [(float(c), i) for c, n in enumerate(per_class) for i in range(n)]
    frame = spark.createDataFrame(rows, "label double, i long")
    return frame.withColumn("_key", sf.xxhash64(sf.lit(seed), "label", "i"))


def _parts(frame):
    marked = assign(frame, 0.2, 0.1).select("label", "i", "_split").collect()
    return {(r.label, r.i): r._split for r in marked}


def test_fractions_hold_within_every_class(spark):
    counts = {
        (r.label, r._split): r["count"]
        for r in assign(_frame(spark), 0.2, 0.1).groupBy("label", "_split").count().collect()
    }
    for label, n in ((0.0, 50), (1.0, 30), (2.0, 20)):
        assert counts[(label, "test")] == round(0.2 * n)
        assert counts[(label, "validation")] == round(0.1 * n)
        assert counts[(label, "train")] == n - round(0.3 * n)


def test_same_seed_same_split_whatever_the_partitioning(spark):
    frame = _frame(spark)
    shuffled = frame.orderBy(sf.rand(3)).repartition(5)
    assert _parts(frame.coalesce(1)) == _parts(shuffled)


def test_different_seed_different_split(spark):
    assert _parts(_frame(spark, seed=1)) != _parts(_frame(spark, seed=2))


def test_tiny_class_stays_in_training(spark):
    splits = stratified_split(_frame(spark, per_class=(40, 1)), 0.2, 0.1)
    assert splits.train.where("label = 1").count() == 1
    assert splits.test.where("label = 1").count() == 0


def test_cached_splits_keep_the_inputs_partition_count_not_the_shuffles(spark):
    """The window's shuffle leaves spark.sql.shuffle.partitions (200) partitions, which every
    later pass over a split would pay for in empty tasks; the cached splits keep the input's
    count (at least the parallelism)."""
    frame = _frame(spark).repartition(3)
    floor = spark.sparkContext.defaultParallelism
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "50")
    try:
        parts = stratified_split(frame, 0.2, 0.1)
        assert parts.train.rdd.getNumPartitions() == max(3, floor)
        assert parts.train.count() + parts.validation.count() + parts.test.count() == 100
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
