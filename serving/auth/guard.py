"""Who may call what: every endpoint needs credentials unless it is explicitly open.

The check is one ``before_request`` hook, deny-by-default: a blueprint added later is protected
until someone lists it as open. Credentials are checked by flask-httpauth (``Bearer`` for API
keys and tokens, ``Basic`` only for ``POST /auth/token``); refusals are raised as
:class:`Unauthorized`/:class:`Forbidden`, rendered as problem+json with a ``WWW-Authenticate``
challenge, counted in ``model_server_auth_failures_total`` and logged without the credential.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from flask import Flask, g, request
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth
from prometheus_client import Counter

from .. import tracing
from ..metrics import Metrics
from .authenticator import Authenticator, Rejection
from .errors import Forbidden, Unauthorized
from .principal import ROLE_ADMIN, ROLE_PREDICT, Principal

log = logging.getLogger(__name__)
REALM = "model-server"
_FAILURE = "auth_failure"


class Guard:
    """The flask-httpauth objects and the hook that applies them to protected endpoints."""

    def __init__(
        self,
        authenticator: Authenticator,
        open_blueprints: Collection[str],
        admin_blueprints: Collection[str],
        metrics: Metrics | None,
    ) -> None:
        self.authenticator = authenticator
        self.open_blueprints = frozenset(open_blueprints)
        self.admin_blueprints = frozenset(admin_blueprints)
        self.failures = None
        if metrics is not None:
            self.failures = Counter(
                "model_server_auth_failures",
                "Refused credentials, by reason (missing, malformed, invalid-key, "
                "invalid-token, expired-token, bad-password, forbidden).",
                ["reason"],
                registry=metrics.registry,
            )
        self.bearer = HTTPTokenAuth(scheme="Bearer", realm=REALM)
        self.bearer.verify_token(self._verify_bearer)
        self.bearer.get_user_roles(lambda principal: sorted(principal.roles))
        self.bearer.error_handler(self._bearer_error)
        self.basic = HTTPBasicAuth(realm=REALM)
        self.basic.verify_password(self._verify_password)
        self.basic.error_handler(self._basic_error)
        self._basic_check = self.basic.login_required(self.basic.current_user)
        self._checks: dict[str, Callable[[], None]] = {
            role: self.bearer.login_required(role=role)(_allow)
            for role in (ROLE_PREDICT, ROLE_ADMIN)
        }

    def install(self, app: Flask) -> None:
        app.before_request(self._before_request)

    def basic_login(self) -> Principal:
        """The user of the request's HTTP Basic credentials, or :class:`Unauthorized`."""
        return self._basic_check()

    def required_role(self) -> str | None:
        """The role the current request needs, or None for open endpoints and unknown URLs."""
        if request.url_rule is None or request.endpoint == "static":
            return None  # 404/405 need no credentials to be reported
        if request.blueprint in self.open_blueprints:
            return None
        if request.blueprint in self.admin_blueprints:
            return ROLE_ADMIN
        return ROLE_PREDICT

    def accepts(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header value holds a valid Bearer credential.

        For counting, not for letting in: nothing is logged or counted as a failure.
        """
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        return isinstance(self.authenticator.bearer(credential.strip()), Principal)

    def _before_request(self) -> None:
        role = self.required_role()
        if role is not None:
            with tracing.step("auth"):
                self._checks[role]()

    def _verify_bearer(self, credential: str) -> Principal | None:
        """Called by flask-httpauth only when a non-empty Bearer credential was sent."""
        result = self.authenticator.bearer(credential)
        if isinstance(result, Rejection):
            return self._refuse(result.reason, result.detail)
        return result

    def _verify_password(self, name: str, password: str) -> Principal | None:
        if not name and not password:
            return None  # nothing (or no Basic credentials) was sent: see _failure
        principal = self.authenticator.password(name, password)
        if principal is None:
            return self._refuse("bad-password", "unknown user or wrong password")
        return principal

    def _refuse(self, reason: str, detail: str) -> None:
        g.setdefault(_FAILURE, Rejection(reason, detail))
        return None

    def _bearer_error(self, status: int) -> None:
        if status == 403:
            self._count("forbidden")
            raise Forbidden("these credentials do not grant access to this endpoint")
        failure = self._failure()
        challenge = f'Bearer realm="{REALM}"'
        if failure.reason != "missing":  # RFC 6750 §3.1: no error code when nothing was sent
            challenge += ', error="invalid_token"'
        raise Unauthorized(failure.detail, challenge)

    def _basic_error(self, status: int) -> None:
        failure = self._failure()
        raise Unauthorized(failure.detail, f'Basic realm="{REALM}", charset="UTF-8"')

    def _failure(self) -> Rejection:
        failure = g.pop(_FAILURE, None)
        if failure is None and "Authorization" not in request.headers:
            failure = Rejection("missing", "send the header `Authorization: Bearer <API key>`")
        elif failure is None:
            failure = Rejection(
                "malformed",
                "the Authorization header must be `Bearer <API key or token>` "
                "(or `Basic <credentials>` for POST /auth/token)",
            )
        self._count(failure.reason)
        return failure

    def _count(self, reason: str) -> None:
        log.info(
            "auth refused: %s %s from %s: %s",
            request.method,
            request.path,
            request.remote_addr,
            reason,
        )
        if self.failures is not None:
            self.failures.labels(reason).inc()


def _allow() -> None:
    return None
