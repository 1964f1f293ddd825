"""Turns the credentials of a request into a :class:`Principal`, or a reason it cannot.

This holds the current :class:`~.credentials.Credentials` (API keys, admin keys, users, token
service) and knows nothing about Flask; :mod:`.guard` wires it into flask-httpauth and
:mod:`.rotation` swaps in new credentials when their files change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..settings import Settings
from .credentials import Credentials, load
from .keys import ApiKeys
from .principal import Principal
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
        self.credentials = Credentials(api_keys, admin_keys, users, tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Load every configured file; a bad one raises AuthConfigError (the server won't start)."""
        authenticator = cls()
        authenticator.swap(load(settings))
        if settings.users_file and not settings.token_secret_file:
            log.warning("SERVING_USERS_FILE is set but SERVING_TOKEN_SECRET_FILE is not: no tokens")
        authenticator.log_summary()
        return authenticator

    def swap(self, credentials: Credentials) -> None:
        """Use ``credentials`` from now on (one assignment: each request sees one whole set)."""
        self.credentials = credentials

    @property
    def key_sets(self) -> tuple[ApiKeys, ...]:
        return self.credentials.key_sets

    @property
    def users(self) -> Users | None:
        return self.credentials.users

    @property
    def tokens(self) -> TokenService | None:
        return self.credentials.tokens

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
        current = self.credentials  # one set for the whole check, even if a rotation lands now
        for keys in current.key_sets:
            principal = keys.match(credential)
            if principal is not None:
                return principal
        if credential.count(".") != 2:
            return Rejection("invalid-key", "the API key is not valid")
        if current.tokens is None:
            return Rejection("invalid-token", "tokens are not accepted by this server")
        try:
            return current.tokens.verify(credential)
        except InvalidToken as exc:
            return Rejection(exc.reason, str(exc))

    def password(self, name: str, password: str) -> Principal | None:
        users = self.users
        if users is None:
            return None
        return users.check(name, password)
