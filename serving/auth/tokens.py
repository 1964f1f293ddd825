"""Short-lived bearer tokens: JWTs signed with HMAC-SHA256 (HS256) over a server secret.

Verification pins the algorithm (``algorithms=["HS256"]``), so ``alg: none`` and algorithm-
confusion forgeries are rejected before any claim is read, and it requires ``exp``, ``iat``,
``sub``, the issuer and the audience. Rotating the secret: put the new one in
``SERVING_TOKEN_SECRET_FILE`` and the old one in ``SERVING_TOKEN_PREVIOUS_SECRET_FILE``; tokens
are only *issued* with the current secret, and still-valid old tokens keep verifying until they
expire (at most ``SERVING_TOKEN_TTL_SECONDS``), after which the previous file can be emptied.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from .principal import Principal

ALGORITHM = "HS256"
ISSUER = "model-server"
AUDIENCE = "model-server"
LEEWAY_SECONDS = 10


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
        self._verify_secrets = (secret, *previous)
        self.ttl_seconds = ttl_seconds

    def issue(self, principal: Principal, now: float | None = None) -> IssuedToken:
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
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, self.ttl_seconds)

    def verify(self, token: str) -> Principal:
        """The principal the token was issued to; :class:`InvalidToken` says why not."""
        claims = None
        for secret in self._verify_secrets:
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

    def _decode(self, token: str, secret: bytes) -> dict:
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
