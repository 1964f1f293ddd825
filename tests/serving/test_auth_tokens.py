"""The token service: claims, expiry, pinned algorithm, rotation."""

from __future__ import annotations

import time

import jwt
import pytest

from serving.auth.principal import Principal
from serving.auth.tokens import InvalidToken, TokenService

SECRET = b"s" * 40
OTHER = b"o" * 40
ALICE = Principal("user:alice", frozenset({"predict"}), "password")


def test_round_trip():
    service = TokenService(SECRET, ttl_seconds=120)
    issued = service.issue(ALICE)
    assert issued.expires_in == 120
    principal = service.verify(issued.token)
    assert principal.name == "user:alice"
    assert principal.roles == frozenset({"predict"})
    assert principal.via == "token"


def test_tokens_are_unique():
    service = TokenService(SECRET)
    assert service.issue(ALICE).token != service.issue(ALICE).token  # jti


def test_expiry_with_small_leeway():
    service = TokenService(SECRET, ttl_seconds=60)
    just_valid = service.issue(ALICE, now=time.time() - 65)  # expired 5 s ago, within leeway
    assert service.verify(just_valid.token).name == "user:alice"
    expired = service.issue(ALICE, now=time.time() - 120)
    with pytest.raises(InvalidToken, match="expired") as info:
        service.verify(expired.token)
    assert info.value.reason == "expired-token"


def test_previous_secret_verifies_but_never_signs():
    old = TokenService(SECRET).issue(ALICE).token
    rotated = TokenService(OTHER, previous=[SECRET])
    assert rotated.verify(old).name == "user:alice"
    new = rotated.issue(ALICE).token
    with pytest.raises(InvalidToken):
        TokenService(SECRET).verify(new)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"roles": "admin"},
        {"nbf": int(time.time()) + 3600},
    ],
)
def test_claims_are_checked(claims):
    now = int(time.time())
    base = {"iss": "model-server", "aud": "model-server", "sub": "x", "roles": ["predict"]}
    token = jwt.encode({**base, "iat": now, "exp": now + 60, **claims}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        TokenService(SECRET).verify(token)


@pytest.mark.parametrize("garbage", ["a.b.c", "..", "e30.e30.", "not a token"])
def test_garbage_is_an_invalid_token(garbage):
    with pytest.raises(InvalidToken):
        TokenService(SECRET).verify(garbage)
