"""Turns the credentials of a request into a :class:`Principal`, or a reason it cannot.

This holds the configured credential stores (API keys, admin keys, users, token service) and
knows nothing about Flask; :mod:`.guard` wires it into flask-httpauth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..settings import Settings
from .files import read_secret
from .keys import ApiKeys
from .principal import ROLE_ADMIN, ROLE_PREDICT, Principal
from .tokens import InvalidToken, TokenService
from .users import Users

log = logging.getLogger(__name__)

#: Longer Authorization values are rejected unparsed (JWTs here are ~300 bytes).
MAX_CREDENTIAL_CHARS = 4096


@dataclass(frozen=True)
class Rejection:
    """Why credentials were refused: ``reason`` labels the metric, ``detail`` goes to the client."""

    reason: str
    detail: str


class Authenticator:
    """Every way in: API keys, admin keys, passwords (for tokens) and signed tokens."""

    def __init__(
        self,
        api_keys: ApiKeys | None = None,
        admin_keys: ApiKeys | None = None,
        users: Users | None = None,
        tokens: TokenService | None = None,
    ) -> None:
        self.key_sets = tuple(k for k in (admin_keys, api_keys) if k is not None)
        self.users = users
        self.tokens = tokens

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Load every configured file; a bad one raises AuthConfigError (the server won't start)."""
        api_keys = admin_keys = users = tokens = None
        if settings.api_keys_file:
            roles = frozenset({ROLE_PREDICT})
            api_keys = ApiKeys.from_file(settings.api_keys_file, roles, "SERVING_API_KEYS_FILE")
        if settings.admin_keys_file:
            roles = frozenset({ROLE_PREDICT, ROLE_ADMIN})
            admin_keys = ApiKeys.from_file(
                settings.admin_keys_file, roles, "SERVING_ADMIN_KEYS_FILE"
            )
        if settings.users_file:
            users = Users.from_file(settings.users_file, "SERVING_USERS_FILE")
        if settings.token_secret_file:
            secret = read_secret(settings.token_secret_file, "SERVING_TOKEN_SECRET_FILE")
            previous = ()
            if settings.token_previous_secret_file:
                previous = (
                    read_secret(
                        settings.token_previous_secret_file, "SERVING_TOKEN_PREVIOUS_SECRET_FILE"
                    ),
                )
            tokens = TokenService(secret, previous, settings.token_ttl_seconds)
        elif settings.users_file:
            log.warning("SERVING_USERS_FILE is set but SERVING_TOKEN_SECRET_FILE is not: no tokens")
        authenticator = cls(api_keys, admin_keys, users, tokens)
        authenticator.log_summary()
        return authenticator

    def log_summary(self) -> None:
        keys = sum(len(k) for k in self.key_sets)
        users = len(self.users) if self.users else 0
        log.info(
            "auth: %d API key(s), %d user(s), tokens %s",
            keys,
            users,
            "enabled" if self.tokens else "disabled",
        )
        if not keys and not self.tokens:
            log.warning(
                "auth is enabled but no API keys or token secret are configured: every "
                "protected request will be refused (set SERVING_API_KEYS_FILE)"
            )

    def bearer(self, credential: str) -> Principal | Rejection:
        """Check a Bearer credential: an API key, else a signed token."""
        if len(credential) > MAX_CREDENTIAL_CHARS:
            return Rejection("malformed", "the Bearer credential is too long")
        for keys in self.key_sets:
            principal = keys.match(credential)
            if principal is not None:
                return principal
        if credential.count(".") != 2:
            return Rejection("invalid-key", "the API key is not valid")
        if self.tokens is None:
            return Rejection("invalid-token", "tokens are not accepted by this server")
        try:
            return self.tokens.verify(credential)
        except InvalidToken as exc:
            return Rejection(exc.reason, str(exc))

    def password(self, name: str, password: str) -> Principal | None:
        if self.users is None:
            return None
        return self.users.check(name, password)
