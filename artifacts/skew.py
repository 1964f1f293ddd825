"""Version skew between the libraries that wrote an artifact and the ones about to load it.

A pickle from another scikit-learn minor version may load yet predict differently, so by
default that is an error; patch-level differences are logged. Nothing here is silent.
"""

from __future__ import annotations

import logging
from typing import Literal

from .errors import VersionSkew
from .manifest import framework_versions

log = logging.getLogger(__name__)
Policy = Literal["error", "warn"]
#: Libraries whose version decides whether unpickling is safe, and how many leading version
#: components must match (sklearn: major.minor; numpy: major).
CHECKED = {"scikit-learn": 2, "numpy": 1}


def _prefix(version: str, parts: int) -> tuple[str, ...]:
    return tuple(version.split(".")[:parts])


def check(recorded: dict, policy: Policy = "error") -> list[str]:
    """Compare the manifest's framework versions with ours; returns the differences found."""
    runtime = framework_versions()
    problems, notes = [], []
    for dist, parts in CHECKED.items():
        want, have = recorded.get(dist), runtime.get(dist)
        if not want or want == have:
            continue
        message = f"{dist} {have} here, artifact was written with {want}"
        if have is None or _prefix(want, parts) != _prefix(have, parts):
            problems.append(message)
        else:
            notes.append(message)
    for message in notes:
        log.warning("version skew (patch level): %s", message)
    if problems and policy == "error":
        raise VersionSkew(
            "; ".join(problems) + ". Install the recorded versions, re-export the model, "
            "or load with skew='warn' if you accept possible prediction differences"
        )
    for message in problems:
        log.warning("version skew accepted by policy: %s", message)
    return problems + notes
