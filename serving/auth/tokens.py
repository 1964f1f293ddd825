"""Short-lived bearer tokens: JWTs signed with HMAC-SHA256 (HS256) over a server secret.

Verification pins the algorithm (``algorithms=["HS256"]``), so ``alg: none`` and algorithm-
confusion forgeries are rejected before any claim is read, and it requires ``exp``, ``iat``,
``sub``, the issuer and the audience.

Key ids: every token names the secret that signed it in its ``kid`` header, derived from the
secret (:func:`key_id`), so operators manage no ids and every pod computes the same one. A token
is verified with the one secret its ``kid`` names; an unknown ``kid`` is refused without trying
any secret. Tokens without a ``kid`` (issued before key ids existed) are tried against every
configured secret, as before, until they expire. Rotation (the files are re-read while serving,
see :mod:`.rotation`): the current secret (``SERVING_TOKEN_SECRET_FILE``) issues and verifies,
the previous one (``SERVING_TOKEN_PREVIOUS_SECRET_FILE``) only verifies; docs/security.md gives
the order of steps that keeps every token valid on every pod throughout.

PyJWT (and the ``cryptography`` package it loads) is imported by the methods that use it, so a
server without a token secret never imports it (memory per worker, start-up time).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .principal import Principal

ALGORITHM = "HS256"
ISSUER = "model-server"
AUDIENCE = "model-server"
LEEWAY_SECONDS = 10
_KID_CONTEXT = b"model-server token key id\0"


def key_id(secret: bytes) -> str:
    """The public id of a signing secret: a truncated SHA-256 of it (no use to a forger).

    Anyone holding a token can already test guesses of the secret against its MAC offline, so
    a hash of the secret reveals nothing more; 64 bits keep ids of distinct secrets distinct.
    """
    return hashlib.sha256(_KID_CONTEXT + secret).hexdigest()[:16]


class InvalidToken(Exception):
    """A token that must not be accepted; the message is safe to show the client."""

    def __init__(self, detail: str, reason: str = "invalid-token") -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


class TokenService:
    """Issues tokens with the current secret; verifies with the current or previous ones."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = (), ttl_seconds: int = 900):
        self._secret = secret
        self.kid = key_id(secret)
        self._verify_secrets = (secret, *previous)
        self._by_kid = {key_id(s): s for s in reversed(self._verify_secrets)}
        self.ttl_seconds = ttl_seconds

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every secret that verifies, the current one first."""
        return tuple(key_id(s) for s in self._verify_secrets)

    def issue(self, principal: Principal, now: float | None = None) -> IssuedToken:
        import jwt

        issued_at = int(time.time() if now is None else now)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal.name,
            "roles": sorted(principal.roles),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self.ttl_seconds,
            "jti": secrets.token_urlsafe(12),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"kid": self.kid})
        return IssuedToken(token, self.ttl_seconds)

    def verify(self, token: str) -> Principal:
        """The principal the token was issued to; :class:`InvalidToken` says why not."""
        import jwt

        claims = None
        for secret in self._candidates(token):
            try:
                claims = self._decode(token, secret)
                break
            except jwt.InvalidSignatureError:
                continue  # maybe signed with the previous secret
        if claims is None:
            raise InvalidToken("token signature does not verify")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("token has no valid roles claim")
        return Principal(str(claims["sub"]), frozenset(roles), "token")

    def _candidates(self, token: str) -> tuple[bytes, ...]:
        """The secret the token's ``kid`` names, or every secret for a token without one."""
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"token is invalid: {exc}") from None
        if kid is None:
            return self._verify_secrets  # issued before key ids: try each, as before
        secret = self._by_kid.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise InvalidToken(
                "token was signed with a key this server does not hold (retired or foreign); "
                "request a new one at POST /auth/token"
            )
        return (secret,)

    def _decode(self, token: str, secret: bytes) -> dict:
        import jwt

        try:
            return jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError:
            raise
        except jwt.ExpiredSignatureError:
            raise InvalidToken(
                "token has expired; request a new one at POST /auth/token", "expired-token"
            ) from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"token algorithm is not {ALGORITHM}") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"token is invalid: {exc}") from None
