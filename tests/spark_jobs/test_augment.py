"""Augmentation: shape and range kept, deterministic per row, grows the data on executors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spark_jobs.augment import augment, expand_batch, jitter


def _digit() -> np.ndarray:
    image = np.zeros((28, 28))
    image[6:22, 12:16] = 1.0  # a "1"
    return image.ravel()


def test_jitter_keeps_shape_range_and_most_ink():
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = jitter(_digit(), rng)
        assert out.shape == (784,)
        assert out.min() >= 0.0
        assert out.max() <= 1.0
        assert 0.5 * _digit().sum() < out.sum() < 2.0 * _digit().sum()


def test_jitter_changes_the_image():
    out = jitter(_digit(), np.random.default_rng(1))
    assert not np.allclose(out, _digit())


def test_expand_batch_is_deterministic_and_keeps_originals():
    batch = pd.DataFrame(
        {"label": [1.0, 7.0], "features": [_digit(), _digit()[::-1].copy()], "_key": [11, -5]}
    )
    first, second = expand_batch(batch, 3, seed=42), expand_batch(batch, 3, seed=42)
    assert len(first) == 6
    assert first.label.tolist() == [1.0, 7.0] * 3
    np.testing.assert_array_equal(first.features[0], _digit())
    for a, b in zip(first.features, second.features, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first.features[2], first.features[4])  # copies differ


@pytest.mark.spark
def test_spark_augment_multiplies_rows(spark):
    from pyspark.ml.linalg import Vectors

    rows = [(float(i % 2), Vectors.dense(_digit()), i) for i in range(10)]
    frame = spark.createDataFrame(rows, ["label", "features", "_key"]).repartition(2)
    grown = augment(frame, 4, seed=0)
    assert grown.count() == 40
    assert grown.where("label = 1").count() == 20
    sample = grown.first().features.toArray()
    assert sample.shape == (784,)
    assert 0.0 <= sample.min() <= sample.max() <= 1.0
    assert augment(frame, 1, seed=0) is frame
