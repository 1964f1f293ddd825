"""Serving: a Flask application that serves verified scikit-learn artifacts.

Gunicorn runs :data:`serving.wsgi.app`; tests and embedders call :func:`create_app`. Models are
loaded inside the factory (never at import), and this package never imports pyspark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .version import __version__

__all__ = ["__version__", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (env, then ``config`` overrides), models, routes, errors.

    ``config`` maps setting field names (see :class:`serving.settings.Settings`) to values,
    or holds a ready ``Settings`` under the key ``"settings"`` and, to trace requests into it,
    an OpenTelemetry ``TracerProvider`` under ``"tracer_provider"`` (tests).
    """
    from . import admission, api, auth, deadline, intake, limits, reload, tracing
    from .auth.views import bp as token_bp
    from .errors import register_error_handlers
    from .metrics import Metrics
    from .registry import ModelRegistry
    from .settings import Settings
    from .state import ServerState, attach

    config = dict(config or {})
    tracer_provider = config.pop("tracer_provider", None)
    settings = _settings(config, Settings)
    logging.getLogger("serving").setLevel(settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body_bytes
    metrics = Metrics() if settings.metrics_enabled else None
    registry = ModelRegistry(settings, on_load=metrics.record_load if metrics else None)
    registry.reload()
    attach(app, ServerState(settings, registry, metrics))
    if metrics is not None:
        metrics.install(app)
    register_error_handlers(app)
    tracing.install(app, settings, api.UNTRACED, tracer_provider)
    api.register(app)
    admission.install(app)  # before auth: refused and late requests cost no credential check
    deadline.install(app, settings)
    reload.install(app, registry, settings.model_store, settings.reload_interval, metrics)
    open_names = tuple(b.name for b in api.OPEN)
    auth.install(app, settings, metrics, open_names, tuple(b.name for b in api.ADMIN))
    # the auth blueprint (POST /auth/token) reads credentials from headers, never a body
    taking_no_body = (*open_names, token_bp.name)
    limits.install(app, intake.install(app, settings, taking_no_body), settings.max_json_bytes)
    return app


def _settings(config: Mapping[str, Any] | None, settings_cls: type) -> Any:
    config = dict(config or {})
    base = config.pop("settings", None) or settings_cls.from_env()
    return base.merged(config) if config else base
