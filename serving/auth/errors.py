"""Authentication errors: what the client did wrong (401/403/404) or what the operator did (config).

Client-facing errors extend :class:`serving.errors.ServingError` so they render as
``application/problem+json``; :class:`Unauthorized` also carries the ``WWW-Authenticate``
challenge, which RFC 9110 requires on every 401.
"""

from __future__ import annotations

from ..errors import ServingError
from ..settings import SettingsError


class AuthConfigError(SettingsError):
    """A credentials file is missing, unreadable or malformed: raised at start-up only.

    A settings problem like any other (the file is named by a ``SERVING_*`` setting), so
    ``model-server`` reports it as one line and exit 2 before Gunicorn starts.
    """


class AuthError(ServingError):
    """Base class of the request-time authentication and authorisation errors."""

    status, title, slug = 401, "Unauthorized", "unauthorized"
    challenge: str | None = None


class Unauthorized(AuthError):
    """No usable credentials: the response asks for them with ``WWW-Authenticate``."""

    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.challenge = challenge


class Forbidden(AuthError):
    status, title, slug = 403, "Forbidden", "forbidden"


class TokensNotConfigured(AuthError):
    status, title, slug = 404, "Token issuance not configured", "tokens-not-configured"
