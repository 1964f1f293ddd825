"""bench/serving_bench.py's command line: ``--our-env`` takes only ``SERVING_NAME=VALUE``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import serving_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["FOO", "SERVING_THREADS", "PATH=/tmp", "=1"])
def test_our_env_refuses_anything_but_a_serving_setting(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.serving_bench", "--our-env", value],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"argument --our-env: expected SERVING_NAME=VALUE, got {value!r}" in result.stderr
    assert "Traceback" not in result.stderr


def test_our_env_values_reach_our_server_environment(tmp_path: Path) -> None:
    args = serving_bench.argparse.Namespace(
        workers=2, our_env=["SERVING_THREADS=1", "SERVING_MAX_IN_FLIGHT=a=b"]
    )
    env = serving_bench.our_env(tmp_path, tmp_path / "key", "k", "buffered", 1234, args, tmp_path)
    assert env["SERVING_THREADS"] == "1"
    assert env["SERVING_MAX_IN_FLIGHT"] == "a=b"  # split at the first "=" only
    assert env["SERVING_WORKER_CLASS"] == "buffered"
