"""Probes and server metadata, open to orchestrators: liveness, readiness, /v2, /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json, request

from .. import __version__
from ..admission import shedding
from ..auth.principal import Principal
from ..auth.views import EXTENSION_KEY as AUTH_KEY
from ..errors import MetricsDisabled
from ..state import server_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers: nothing else is checked (a restart would not fix a bad store)."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when a verified default model is loaded and this worker is not shedding load.

    Anyone (the kubelet) gets only ``{"ready": …}``; callers with valid credentials (and
    everyone when authentication is off) also get what is served and what failed to load —
    model names, versions and failure classes are reconnaissance for anyone else.
    """
    snapshot = server_state().registry.snapshot
    overloaded = shedding()
    ready = snapshot.ready and not overloaded
    status = 200 if ready else 503
    if not _authenticated():
        return _json({"ready": ready}, status)
    body = {
        "ready": ready,
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
    return _json(body, status)


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
    ready = server_state().registry.snapshot.ready and not shedding()
    return _json({"ready": ready}, 200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    state = server_state()
    if state.metrics is None:
        raise MetricsDisabled("metrics are disabled (SERVING_METRICS_ENABLED=false)")
    if state.settings.proxy_hops and "X-Forwarded-For" in request.headers:
        # Behind an Ingress, whatever came through it is public; Prometheus scrapes the pod
        # directly (the chart's NetworkPolicy admits only the monitoring namespace for that).
        raise MetricsDisabled("/metrics is not served through the proxy; scrape the pod")
    return state.metrics.exposition()


def _authenticated() -> bool:
    """Whether the request carries a valid Bearer credential (always true with auth off)."""
    guard = current_app.extensions.get(AUTH_KEY)
    if guard is None:
        return True  # SERVING_AUTH_ENABLED=false: anyone may predict, nothing left to hide
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return False
    return isinstance(guard.authenticator.bearer(credential.strip()), Principal)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
