"""Fixtures shared by every test package.

The Spark session is session-scoped and created lazily, so tests that never ask for it
(serving, artifacts, helm) never import pyspark.
"""

from __future__ import annotations

import os

import pytest

#: Fixtures that start a JVM; a test using one is marked ``spark`` automatically.
SPARK_FIXTURES = frozenset({"spark", "standalone_cluster"})
#: Under ``pytest -n 2 --dist loadgroup`` (``make test``) every test on the standalone cluster
#: goes to one worker, so a run starts one cluster, not one per worker.
CLUSTER_GROUP = pytest.mark.xdist_group("standalone-cluster")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts Spark, so ``-m 'not spark'`` runs without Java.

    Tests that launch ``spark-submit.sh`` in a subprocess carry the marker explicitly.
    """
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SPARK_FIXTURES & fixtures:
            item.add_marker(pytest.mark.spark)
        if "standalone_cluster" in fixtures:
            item.add_marker(CLUSTER_GROUP)


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
        # serial GC + C1 only: half the CPU seconds of a session start and a few small fits
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def _standalone_clusters(tmp_path_factory):
    """Holds the run's one standalone cluster; stops its daemons at the end of the session."""
    held = []
    yield held
    for cluster in held:
        cluster.stop()


@pytest.fixture
def standalone_cluster(_standalone_clusters, tmp_path_factory):
    """The run's shared Spark standalone cluster (see tests/spark_cluster.py).

    Started on first use; a test that left it unhealthy costs the next one a restart, not a
    failure. Tests must only look at the applications they submitted (``cluster.apps()``
    before and after).
    """
    from tests.spark_cluster import StandaloneCluster

    if _standalone_clusters and not _standalone_clusters[-1].healthy():
        _standalone_clusters.pop().stop()
    if not _standalone_clusters:
        root = tmp_path_factory.mktemp("standalone-cluster")
        _standalone_clusters.append(StandaloneCluster(root).start())
    return _standalone_clusters[-1]
