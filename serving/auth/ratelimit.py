"""Per-client rate limits (flask-limiter), answered with 429, ``Retry-After`` and problem+json.

Clients are told apart by their address (``request.remote_addr``; behind a proxy, configure
gunicorn's ``forwarded_allow_ips`` so this is the real client). Limits are checked *before*
credentials, so guessing keys or passwords is throttled too; ``POST /auth/token`` has its own,
tighter limit because it runs a deliberately slow password hash. Probes, metrics, the page and
its assets are never limited. With the default ``memory://`` storage each Gunicorn worker
counts on its own (the effective limit is up to workers × limit); point
``SERVING_RATE_LIMIT_STORAGE`` at ``redis://…`` to share counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection

from flask import Blueprint, Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from ..errors import problem
from ..settings import Settings


def install_limiter(
    app: Flask, settings: Settings, open_blueprints: Collection[str], token_bp: Blueprint
) -> Limiter:
    open_names = frozenset(open_blueprints)

    def exempt() -> bool:
        return request.endpoint == "static" or request.blueprint in open_names

    app.after_request(_retry_after_only_on_429)  # registered first, so it runs last
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_exempt_when=exempt,
        storage_uri=settings.rate_limit_storage,
        headers_enabled=True,
        strategy="moving-window",
        key_prefix="model-server",
    )
    limiter.limit(settings.token_rate_limit)(token_bp)

    def too_many_requests(exc: RateLimitExceeded) -> Response:
        retry_after = _retry_after(limiter, exc)
        detail = (
            f"rate limit of {exc.limit.limit} exceeded for this client; "
            f"retry after {retry_after} seconds"
        )
        response = problem(429, "Too many requests", detail, "rate-limited")
        response.headers["Retry-After"] = str(retry_after)
        return response

    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter


def _retry_after(limiter: Limiter, exc: RateLimitExceeded) -> int:
    """Seconds until the breached limit frees a slot; at least 1."""
    current = limiter.current_limit
    if current is not None:
        return max(1, math.ceil(current.reset_at - time.time()))
    return max(1, int(exc.limit.limit.get_expiry()))


def _retry_after_only_on_429(response: Response) -> Response:
    """flask-limiter adds Retry-After to every response; it only means something on a 429."""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response
