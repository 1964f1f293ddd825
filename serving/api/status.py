"""``GET /status``: what this worker serves and what failed to load, for callers with a key.

Model names, versions and failure classes are reconnaissance, so they are not on the probes
(:mod:`serving.api.health`, open and never rate-limited, which never look at credentials).
Here the guard checks the credential and the rate limit applies like on any model endpoint.
"""

from __future__ import annotations

from flask import Blueprint, Response, json

from ..admission import shedding
from ..state import server_state

bp = Blueprint("status", __name__)


@bp.get("/status")
def status() -> Response:
    """The readiness report; 200 when ready and 503 when not, as ``/readyz`` answers."""
    body = readiness_report()
    return Response(
        json.dumps(body), status=200 if body["ready"] else 503, mimetype="application/json"
    )


def readiness_report() -> dict:
    """Whether this worker is ready, whether it sheds load, and the served and failed models."""
    snapshot = server_state().registry.snapshot
    overloaded = shedding()
    return {
        "ready": snapshot.ready and not overloaded,
        "overloaded": overloaded,
        "default_model": snapshot.default_name,
        "models": [
            {"name": model.name, "version": model.version, "status": "loaded"}
            for versions in snapshot.models.values()
            for model in versions.values()
        ],
        "failures": [
            {"name": f.name, "version": f.version, "status": "failed", "reason": f.reason}
            for f in snapshot.failures
        ],
    }
