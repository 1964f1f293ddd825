"""Per-client rate limits (flask-limiter), answered with 429, ``Retry-After`` and problem+json.

Clients are told apart by their address (``request.remote_addr``; behind a proxy, configure
gunicorn's ``forwarded_allow_ips`` so this is the real client). Limits are checked *before*
credentials, so guessing keys or passwords is throttled too; ``POST /auth/token`` has its own,
tighter limit because it runs a deliberately slow password hash. Probes, metrics, the page and
its assets are never limited.

Storage: with the default ``memory://`` each Gunicorn worker counts on its own (the effective
limit is up to workers × pods × limit). ``SERVING_RATE_LIMIT_STORAGE_FILE`` names a file (a
mounted Secret) holding a ``redis://`` URI, so every worker of every pod draws on one budget; the
URI may hold a password, so it is read from that file and never logged (only its scheme is).

When Redis cannot be reached the limiter *fails open to per-worker limits*: flask-limiter's
in-memory fallback applies the same limits in each worker's memory (the ``memory://`` guarantee)
until Redis answers again, re-checked with exponential back-off. Failing closed would turn a
Redis outage into a full outage of every pod; failing fully open would drop the throttling of
password and key guessing. Short socket timeouts keep a Redis that hangs from holding requests.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from ..errors import problem
from ..settings import Settings
from .files import read_uri

log = logging.getLogger(__name__)
#: Seconds to connect to / wait for Redis before a request falls back to in-memory limits.
REDIS_TIMEOUT_SECONDS = 0.5
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")


def install_limiter(
    app: Flask, settings: Settings, open_blueprints: Collection[str], token_bp: Blueprint
) -> Limiter:
    open_names = frozenset(open_blueprints)

    def exempt() -> bool:
        return request.endpoint == "static" or request.blueprint in open_names

    def fallback_limit() -> str:
        """While Redis is down every limited endpoint gets this (per worker) limit."""
        return (
            settings.token_rate_limit if request.blueprint == token_bp.name else settings.rate_limit
        )

    storage_uri = storage_uri_of(settings)
    scheme = urlsplit(storage_uri).scheme
    shared = scheme in _REDIS_SCHEMES
    app.after_request(_retry_after_only_on_429)  # registered first, so it runs last
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_exempt_when=exempt,
        storage_uri=storage_uri,
        storage_options=_REDIS_OPTIONS if shared else {},
        in_memory_fallback=[fallback_limit] if shared else [],
        headers_enabled=True,
        strategy="moving-window",
        key_prefix="model-server",
    )
    log.info(
        "rate limits: %s, storage %s://%s",
        settings.rate_limit,
        scheme,
        " (shared; per-worker in-memory limits while it is unreachable)" if shared else "",
    )
    limiter.limit(settings.token_rate_limit)(token_bp)

    @limiter.request_filter
    def never_limited() -> bool:
        """Probes, metrics and the page: also exempt from the fallback limits."""
        return exempt() and request.blueprint != token_bp.name

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
    _quiet_breaches(logging.getLogger("flask-limiter"))
    return limiter


def _drop_breach(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("ratelimit ")


def _quiet_breaches(logger: logging.Logger) -> None:
    """Keep flask-limiter's storage warnings, drop its line per 429 (the access log has those)."""
    if _drop_breach not in logger.filters:
        logger.addFilter(_drop_breach)


_REDIS_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
}


def storage_uri_of(settings: Settings) -> str:
    """The storage URI: from SERVING_RATE_LIMIT_STORAGE_FILE if set, else the plain setting."""
    if settings.rate_limit_storage_file is not None:
        return read_uri(settings.rate_limit_storage_file, "SERVING_RATE_LIMIT_STORAGE_FILE")
    return settings.rate_limit_storage


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
