"""Probes and server metadata, open to orchestrators: liveness, readiness, /v2, /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json, request

from ..admission import shedding
from ..auth.views import EXTENSION_KEY as AUTH_KEY
from ..errors import MetricsDisabled
from ..state import server_state
from ..version import __version__
from .status import readiness_report

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers: nothing else is checked (a restart would not fix a bad store)."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when a verified default model is loaded and this worker is not shedding load.

    A probe never looks at credentials: it is open and exempt from rate limits, so a probe that
    told valid keys from invalid ones would be an unthrottled key oracle. With authentication on
    it answers only ``{"ready": …}``; the served and failed models are on ``GET /status``, which
    needs a key. With authentication off (anyone may call ``/status``) it answers the same report.
    """
    report = readiness_report()
    status = 200 if report["ready"] else 503
    if AUTH_KEY in current_app.extensions:
        return _json({"ready": report["ready"]}, status)
    return _json(report, status)


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


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
