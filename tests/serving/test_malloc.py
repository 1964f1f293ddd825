"""SERVING_MALLOC_ARENAS: the arena cap the Gunicorn master sets for its workers."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from serving import malloc
from serving.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]
GLIBC = platform.libc_ver()[0] == "glibc"


def test_zero_leaves_the_default():
    assert malloc.limit_arenas(0) is False


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_the_cap_is_applied_in_a_fresh_process():
    code = "from serving import malloc; print(malloc.limit_arenas(1))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_the_gunicorn_config_applies_the_setting():
    """Loading serving/gunicorn.conf.py (as Gunicorn does, in the master) caps the arenas."""
    code = (
        "import runpy\n"
        "from serving import malloc\n"
        "calls = []\n"
        "real = malloc.limit_arenas\n"
        "malloc.limit_arenas = lambda n: calls.append(n) or real(n)\n"
        "runpy.run_path('serving/gunicorn.conf.py')\n"
        "print(calls)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    env = {**clean, "PYTHONPATH": str(REPO), "SERVING_MALLOC_ARENAS": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[3]", result.stderr


def test_setting_default_and_validation():
    assert Settings.from_env({}).malloc_arenas == 1
    assert Settings.from_env({"SERVING_MALLOC_ARENAS": "0"}).malloc_arenas == 0
    with pytest.raises(SettingsError, match="SERVING_MALLOC_ARENAS"):
        Settings.from_env({"SERVING_MALLOC_ARENAS": "-1"})
