"""Fixtures shared by every test package.

The Spark session is session-scoped and created lazily, so tests that never ask for it
(serving, artifacts, helm) never import pyspark.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def spark():
    """A local[2] SparkSession shared by the whole run, quiet and with small shuffles."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
