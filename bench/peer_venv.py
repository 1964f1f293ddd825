"""A peer server's own virtualenv (``.venv-mlserver``, ``.venv-mlflow``): created once, reused.

Each peer pins its own server stack (FastAPI/uvicorn/pydantic), so it never shares ``.venv``.
The model's libraries (scikit-learn, numpy, joblib) are pinned to our venv's versions: a pickle
is only portable between identical versions, and a comparison must run the same model. A stamp
file records what was installed, so a changed ``requirements.txt`` or pin reinstalls.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)
MODEL_LIBRARIES = ("scikit-learn", "numpy", "joblib")
MLFLOW_LIBRARIES = ("pyspark",)
"""Also pinned in .venv-mlflow: bench/mlflow/spark_udf.py runs Spark there, and its Python
workers must speak the same protocol as the JVM that .venv's pyspark ships."""
STAMP = ".bench-installed.json"


class EnvironmentUnavailable(RuntimeError):
    """The peer could not be installed; the message says why (shown in the bench table)."""


def wanted(requirements: Path, also: tuple[str, ...] = ()) -> dict:
    """What the venv must contain: the requirement lines and the pinned model libraries.

    ``also`` names more of .venv's distributions to pin at .venv's version (e.g. pyspark).
    """
    lines = [
        line.strip()
        for line in requirements.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {
        "requirements": lines,
        "pins": {name: version(name) for name in (*MODEL_LIBRARIES, *also)},
    }


def ensure(venv: Path, requirements: Path, executable: str, also: tuple[str, ...] = ()) -> Path:
    """Return ``venv/bin/<executable>``, installing ``requirements`` first unless stamped."""
    program = venv / "bin" / executable
    stamp = venv / STAMP
    spec = wanted(requirements, also)
    if program.exists() and stamp.exists() and json.loads(stamp.read_text()) == spec:
        return program
    log.info("installing %s into %s (one-off, a few minutes)", executable, venv)
    python = venv / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(venv)], "create the virtualenv")
    _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "upgrade pip")
    pins = [f"{name}=={pinned}" for name, pinned in spec["pins"].items()]
    _run(
        [str(python), "-m", "pip", "install", "--quiet", *spec["requirements"], *pins],
        "pip install " + " ".join(spec["requirements"] + pins),
    )
    if not program.exists():
        raise EnvironmentUnavailable(f"pip finished but {program} is missing")
    stamp.write_text(json.dumps(spec))
    return program


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [
            line
            for line in (done.stderr or done.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING: Location")
        ]
        tail = " | ".join(errors[-3:]) or f"exit status {done.returncode}"
        raise EnvironmentUnavailable(f"could not {what}: {tail}")
