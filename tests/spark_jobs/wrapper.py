"""``./spark-submit.sh`` in a real subprocess, for the tests that run the wrapper end to end."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.spark_cluster import FAST_JVM

from .conftest import ROOT

SCRIPT = str(ROOT / "spark-submit.sh")


def submit(*args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the wrapper; its launcher and driver JVMs get the test flags unless set already."""
    inherited = {k: v for k, v in os.environ.items() if k != "SPARK_JOBS_SIGNING_KEY"}
    fast = {"SPARK_LAUNCHER_OPTS": FAST_JVM, "SPARK_SUBMIT_OPTS": FAST_JVM}
    full_env = {**fast, **inherited, "PYTHON": sys.executable, **(env or {})}
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def output(result: subprocess.CompletedProcess) -> str:
    """spark-submit merges the driver's stderr into stdout; look at both."""
    return result.stdout + result.stderr
