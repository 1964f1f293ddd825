"""spark_jobs.predict.settings without Spark: the batch size chosen for each kind of input."""

from __future__ import annotations

import pytest

from spark_jobs.errors import UsageError
from spark_jobs.predict.settings import DEFAULT_BATCH, NARROW_BATCH, NARROW_WIDTH, from_args

ARGS = ["--model", "store/m", "--data", "in.parquet", "--output", "out", "--verify-key", "k"]


@pytest.mark.parametrize(
    ("kind", "width", "rows"),
    [
        ("tabular", 5, NARROW_BATCH),
        ("tabular", NARROW_WIDTH, NARROW_BATCH),
        ("tabular", NARROW_WIDTH + 1, DEFAULT_BATCH),
        ("vector", 20, NARROW_BATCH),
        ("vector", 784, DEFAULT_BATCH),
        ("pixels", 784, DEFAULT_BATCH),
        ("image", 784, DEFAULT_BATCH),
        ("users", 0, DEFAULT_BATCH),
    ],
)
def test_default_batch_follows_the_row_width(kind, width, rows):
    settings = from_args(ARGS, env={})
    assert settings.batch_size is None
    assert settings.batch_rows(kind, width) == rows


def test_an_explicit_batch_size_wins_for_every_kind():
    settings = from_args([*ARGS, "--batch-size", "123"], env={})
    assert settings.batch_rows("tabular", 5) == 123
    assert settings.batch_rows("image", 784) == 123


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(UsageError, match="--batch-size must be >= 1"):
        from_args([*ARGS, "--batch-size", "0"], env={})
