"""Augmentation: shape and range kept, deterministic per row, grows the data on executors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from spark_jobs.train.augment import Jitter, augment, expand_batch, jitter


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


def _centre_col(image: np.ndarray, rows: slice) -> float:
    part = image.reshape(28, 28)[rows]
    return float(part.sum(axis=0) @ np.arange(28) / part.sum())


def _width(image: np.ndarray) -> int:
    cols = np.flatnonzero(image.reshape(28, 28).max(axis=0) > 0.5)
    return int(cols[-1] - cols[0] + 1)


def test_jitter_slants_either_way():
    only_shear = Jitter(max_shift=0, max_degrees=0, scale_range=(1, 1), width_range=(1, 1))
    only_shear = dataclasses.replace(only_shear, thicken_p=0, thin_p=0, max_shear=0.3)
    leans = set()
    for seed in range(20):
        out = jitter(_digit(), np.random.default_rng(seed), only_shear)
        top, bottom = _centre_col(out, slice(6, 10)), _centre_col(out, slice(18, 22))
        if abs(top - bottom) > 1.0:  # a vertical bar leaning by more than a pixel
            leans.add(top > bottom)
    assert leans == {True, False}


def test_jitter_widens_and_narrows():
    only_width = Jitter(
        max_shift=0, max_degrees=0, scale_range=(1, 1), max_shear=0, thicken_p=0, thin_p=0
    )
    square = np.zeros((28, 28))
    square[8:20, 8:20] = 1.0
    rngs = [np.random.default_rng(seed) for seed in range(20)]
    widths = {_width(jitter(square.ravel(), rng, only_width)) for rng in rngs}
    assert min(widths) < 12 < max(widths)
    none = dataclasses.replace(only_width, width_range=(1, 1))
    out = jitter(square.ravel(), np.random.default_rng(0), none)
    np.testing.assert_allclose(out, square.ravel(), atol=1e-9)  # identity when all bounds are 0


def test_jitter_is_deterministic_for_a_seed():
    first = jitter(_digit(), np.random.default_rng(7))
    np.testing.assert_array_equal(first, jitter(_digit(), np.random.default_rng(7)))
    assert first.dtype == np.float64


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


@pytest.mark.spark
def test_spark_augment_equals_the_local_jitter(spark):
    """The executors apply the same jitter (shift, rotation, scale, slant, width, stroke) as
    ``expand_batch`` does locally: same seed and row key, the same copies, whatever the
    partitioning."""
    from pyspark.ml.linalg import Vectors

    digits = [_digit(), _digit()[::-1].copy(), np.roll(_digit(), 3)]
    rows = [(float(i), Vectors.dense(d), 100 + i) for i, d in enumerate(digits)]
    frame = spark.createDataFrame(rows, ["label", "features", "_key"]).repartition(3)
    on_spark = {r._key: r.features.toArray() for r in augment(frame, 3, seed=5).collect()}
    local = expand_batch(
        pd.DataFrame({"label": [0.0, 1.0, 2.0], "features": digits, "_key": [100, 101, 102]}),
        3,
        seed=5,
    )
    assert sorted(on_spark) == sorted(local._key)
    for key, features in zip(local._key, local.features, strict=True):
        np.testing.assert_allclose(on_spark[key], features, atol=1e-12)
