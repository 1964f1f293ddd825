"""The job's SparkSession and the translation of Spark failures into job errors."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from spark_jobs.errors import DataError

_DATA_ERROR = re.compile(r"DataError: (.+)")


def get_session(app_name: str):
    """The session spark-submit configured; a local[*] one when run as plain Python.

    The console progress bar is on only when stderr is a terminal, so log files stay clean.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    SparkContext._ensure_initialized()  # under spark-submit, SparkConf() then sees its --master
    builder = SparkSession.builder.appName(app_name).config(
        "spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower()
    )
    if not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    return builder.getOrCreate()


def _spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (Py4JJavaError, PySparkException)


@contextmanager
def data_errors(source: str) -> Iterator[None]:
    """Turn a Spark failure while reading ``source`` into a one-line ``DataError``.

    Executor-side ``DataError``s arrive wrapped in Java stack traces; their message is
    recovered. Any other failure while reading is reported by its first line.
    """
    try:
        yield
    except _spark_errors() as exc:
        text = str(exc)
        found = _DATA_ERROR.search(text)
        if found:
            raise DataError(found.group(1).strip()) from exc
        first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        raise DataError(f"{source}: cannot read ({first.strip()[:300]})") from exc
