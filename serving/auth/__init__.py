"""Authentication, authorisation and rate limiting for the serving app.

:func:`install` is the one call :func:`serving.create_app` makes. Everything is protected by
default (see :mod:`.guard`); the only way to switch authentication off is
``SERVING_AUTH_ENABLED=false``, which logs a warning at every start.

Importing this package is cheap: the pieces :func:`install` wires in (the guard, rotation,
flask-limiter for ``SERVING_RATE_LIMIT_ENABLED``) are imported by it, so ``model-server``'s
configuration check can use :mod:`.authenticator` without the metrics and model stack, and a
worker with rate limiting off never imports flask-limiter (start-up time, memory per worker).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .errors import AuthConfigError, AuthError

if TYPE_CHECKING:
    from flask import Flask

    from ..metrics import Metrics
    from ..settings import Settings

__all__ = ["AuthConfigError", "install"]
log = logging.getLogger(__name__)


def install(
    app: Flask,
    settings: Settings,
    metrics: Metrics | None,
    open_blueprints: tuple[str, ...],
    admin_blueprints: tuple[str, ...],
) -> None:
    """Add /auth/token, the credential check, rate limits, security headers and error rendering.

    ``open_blueprints`` name the blueprints anyone may call; ``admin_blueprints`` need the admin
    role; every other endpoint needs the predict role.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import rotation
    from .guard import Guard
    from .headers import install_headers
    from .views import EXTENSION_KEY
    from .views import bp as auth_bp

    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.register_blueprint(auth_bp)
    app.register_error_handler(AuthError, _auth_error)
    install_headers(app)
    open_names = (*open_blueprints, auth_bp.name)
    if settings.rate_limit_enabled:
        from .ratelimit import install_limiter

        install_limiter(app, settings, open_names, auth_bp)
    if not settings.auth_enabled:
        log.warning(
            "AUTHENTICATION IS DISABLED (SERVING_AUTH_ENABLED=false): anyone who can reach this "
            "server may predict and reload models. Never do this on a shared network."
        )
        return
    authenticator = rotation.install(app, settings, metrics)
    guard = Guard(authenticator, open_names, admin_blueprints, metrics)
    guard.install(app)
    app.extensions[EXTENSION_KEY] = guard


def _auth_error(exc: AuthError):
    from ..errors import problem

    response = problem(exc.status, exc.title, exc.detail, exc.slug)
    if exc.challenge:
        response.headers["WWW-Authenticate"] = exc.challenge
    return response
