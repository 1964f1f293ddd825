"""Probes and server metadata, open to orchestrators: liveness, readiness, /v2, /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, json

from .. import __version__
from ..errors import MetricsDisabled
from ..state import server_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers: nothing else is checked (a restart would not fix a bad store)."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when a verified default model is loaded; lists what is served and what failed."""
    snapshot = server_state().registry.snapshot
    body = {
        "ready": snapshot.ready,
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
    return _json(body, 200 if snapshot.ready else 503)


@bp.get("/v2")
def server_metadata() -> Response:
    return _json(
        {"name": "model-server", "version": __version__, "extensions": ["binary_tensor_data"]}
    )


@bp.get("/v2/health/live")
def v2_live() -> Response:
    return _json({"live": True})


@bp.get("/v2/health/ready")
def v2_ready() -> Response:
    ready = server_state().registry.snapshot.ready
    return _json({"ready": ready}, 200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    state = server_state()
    if state.metrics is None:
        raise MetricsDisabled("metrics are disabled (SERVING_METRICS_ENABLED=false)")
    return state.metrics.exposition()


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
