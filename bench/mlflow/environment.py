"""The separate MLflow virtualenv (``.venv-mlflow``): created once, reused after.

MLflow pins its own server stack (FastAPI/uvicorn in 3.x, plus its tracking dependencies), so
it never shares ``.venv``. The model's libraries (scikit-learn, numpy, joblib) are pinned to our
venv's versions: a pickle is only portable between identical versions, and the comparison must
run the same model.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
MODEL_LIBRARIES = ("scikit-learn", "numpy", "joblib")


class EnvironmentUnavailable(RuntimeError):
    """MLflow could not be installed; the message says why (shown in the table)."""


def wanted() -> dict:
    """What the venv must contain: the requirement lines and the pinned model libraries."""
    lines = [
        line.strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {"requirements": lines, "pins": {name: version(name) for name in MODEL_LIBRARIES}}


def ensure(venv: Path) -> Path:
    """Return the venv's ``python`` with MLflow importable, installing it first if needed."""
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed.json"
    spec = wanted()
    installed = (venv / "bin" / "mlflow").exists() and stamp.exists()
    if installed and json.loads(stamp.read_text()) == spec:
        return python
    log.info("installing MLflow into %s (one-off, a few minutes)", venv)
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(venv)], "create the virtualenv")
    _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "upgrade pip")
    pins = [f"{name}=={pinned}" for name, pinned in spec["pins"].items()]
    _run(
        [str(python), "-m", "pip", "install", "--quiet", *spec["requirements"], *pins],
        "pip install " + " ".join(spec["requirements"] + pins),
    )
    if not (venv / "bin" / "mlflow").exists():
        raise EnvironmentUnavailable(f"pip finished but {venv / 'bin' / 'mlflow'} is missing")
    stamp.write_text(json.dumps(spec))
    return python


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
