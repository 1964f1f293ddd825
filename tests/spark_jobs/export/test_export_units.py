"""Pure conversion helpers, checked without a Spark session."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyspark.ml.linalg import DenseVector

from spark_jobs.export.errors import UnsupportedStage
from spark_jobs.export.mlp import split_layers
from spark_jobs.export.scalers import convert_min_max_scaler, convert_standard_scaler
from spark_jobs.export.trees import float32_threshold, spark_normalize, split_threshold

finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e30, max_value=1e30)


@given(x=finite, t=finite)
def test_threshold_never_sends_a_left_value_right(x, t):
    """Spark: left iff x <= t.  sklearn: left iff f32(x) <= stored threshold."""
    if x <= t:
        assert np.float32(x) <= float32_threshold(t)


@given(x=finite, t=finite)
def test_threshold_disagrees_only_inside_the_thresholds_float32_cell(x, t):
    """The one possible disagreement: x just above t but rounding to the same float32.

    In particular x == t (Spark's thresholds are often training values) goes left in both.
    """
    sklearn_left = np.float32(x) <= float32_threshold(t)
    if sklearn_left != (x <= t):
        assert x > t
        assert np.float32(x) == np.float32(t)


def test_pixel_thresholds_split_the_grid_like_spark():
    """Every threshold k/255 sends every pixel value k'/255 the way Spark does (256 x 256)."""
    grid = np.arange(256) / 255
    wrong = [
        k
        for k in range(256)
        if not np.array_equal(
            grid.astype(np.float32) <= float32_threshold(k / 255), grid <= k / 255
        )
    ]
    assert wrong == []


def test_spark_normalize_sums_left_to_right():
    stats = [0.1, 0.2, 0.3, 1e-17, 7.0]
    total = 0.0
    for s in stats:
        total += s
    np.testing.assert_array_equal(spark_normalize(stats), np.array(stats) / total)


def test_split_layers_reads_column_major_out_by_in_then_bias():
    # Layer 2→3: Spark's out×in matrix W[o, i] stored column-major, then 3 biases.
    w_out_in = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    flat = np.concatenate([w_out_in.flatten(order="F"), [7.0, 8.0, 9.0]])
    [(w, b)] = split_layers(flat, [2, 3])
    np.testing.assert_array_equal(w, w_out_in.T)  # sklearn's in×out
    np.testing.assert_array_equal(b, [7.0, 8.0, 9.0])


def _apply(steps, x):
    for _, step in steps:
        x = step.transform(x)
    return x


def test_standard_scaler_matches_spark_formula_exactly():
    mean, std = np.array([1.5, 2.0, -3.0]), np.array([0.3, 0.0, 7.0])
    model = SimpleNamespace(
        mean=DenseVector(mean), std=DenseVector(std), uid="StandardScaler_1",
        getWithMean=lambda: True, getWithStd=lambda: True,
    )  # fmt: skip
    x = np.random.default_rng(0).normal(size=(50, 3))
    recip = np.array([1 / 0.3, 0.0, 1 / 7.0])
    expected = (x - mean) * recip  # Spark: (x - shift) * (1 / std or 0)
    np.testing.assert_array_equal(_apply(convert_standard_scaler(model), x), expected)


def test_min_max_scaler_matches_spark_formula_and_constant_midpoint():
    lo_data, hi_data = np.array([0.0, 4.0, -1.0]), np.array([2.0, 4.0, 3.0])
    model = SimpleNamespace(
        originalMin=DenseVector(lo_data), originalMax=DenseVector(hi_data),
        uid="MinMaxScaler_1", getMin=lambda: -1.0, getMax=lambda: 2.0,
    )  # fmt: skip
    x = np.random.default_rng(1).normal(size=(50, 3))
    x[0, 2] = np.nan
    scale = np.array([3.0 / 2.0, 0.0, 3.0 / 4.0])
    expected = (x - lo_data) * scale + (-1.0)
    expected[:, 1] = 0.5  # constant column → (min + max) / 2
    np.testing.assert_array_equal(_apply(convert_min_max_scaler(model), x), expected)


@pytest.mark.parametrize(
    ("left", "k", "expected"),
    [
        ([0.0], 2, (0.5, False)),  # one-hot feature: 0 left
        ([1.0], 2, (0.5, True)),  # 1 left: same threshold, children swapped
        ([0.0, 1.0], 4, (1.5, False)),
        ([3.0, 2.0], 4, (1.5, True)),
    ],
)
def test_contiguous_categorical_splits_become_thresholds(left, k, expected):
    split = {"featureIndex": 3, "leftCategoriesOrThreshold": left, "numCategories": k}
    threshold, swap = split_threshold("tree", split)
    assert (threshold, swap) == expected
    for category in range(k):
        spark_left = category in left
        sklearn_left = np.float32(category) <= threshold
        assert spark_left == (sklearn_left != swap)


def test_scattered_categorical_split_is_refused():
    split = {"featureIndex": 3, "leftCategoriesOrThreshold": [0.0, 2.0], "numCategories": 4}
    with pytest.raises(UnsupportedStage, match=r"feature 3 \(left categories \[0, 2\] of 4\)"):
        split_threshold("tree", split)
