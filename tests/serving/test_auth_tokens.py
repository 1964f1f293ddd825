"""The token service: claims, expiry, pinned algorithm, rotation."""

from __future__ import annotations

import time

import jwt
import pytest

from serving.auth.principal import Principal
from serving.auth.tokens import InvalidToken, TokenService, key_id

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


def test_tokens_name_their_signing_key():
    token = TokenService(SECRET).issue(ALICE).token
    assert jwt.get_unverified_header(token)["kid"] == key_id(SECRET)
    assert key_id(SECRET) != key_id(OTHER)
    assert SECRET.decode() not in key_id(SECRET)


def test_two_key_ids_valid_at_once_during_rotation():
    old = TokenService(SECRET).issue(ALICE).token
    rotated = TokenService(OTHER, previous=[SECRET])
    new = rotated.issue(ALICE).token
    assert rotated.key_ids == (key_id(OTHER), key_id(SECRET))
    assert jwt.get_unverified_header(new)["kid"] == key_id(OTHER)
    assert rotated.verify(old).name == rotated.verify(new).name == "user:alice"


@pytest.mark.parametrize("kid", ["0123456789abcdef", ""])
def test_unknown_key_id_is_refused_even_with_a_valid_signature(kid):
    """The kid picks the one secret to try: a token naming no held key is refused outright."""
    claims = {"iss": "model-server", "aud": "model-server", "sub": "x", "roles": ["predict"]}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": kid})
    with pytest.raises(InvalidToken, match="key this server does not hold"):
        TokenService(SECRET).verify(token)


def test_key_id_of_another_secret_does_not_verify():
    claims = {"iss": "model-server", "aud": "model-server", "sub": "x", "roles": ["predict"]}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": key_id(OTHER)})
    with pytest.raises(InvalidToken, match="signature"):
        TokenService(OTHER, previous=[SECRET]).verify(token)


def test_tokens_without_key_id_still_verify_until_they_expire():
    """Issued before key ids existed: tried against every configured secret, as before."""
    claims = {"iss": "model-server", "aud": "model-server", "sub": "x", "roles": ["predict"]}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 60}
    legacy = jwt.encode(claims, SECRET, algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(legacy)
    assert TokenService(OTHER, previous=[SECRET]).verify(legacy).name == "x"
    with pytest.raises(InvalidToken, match="signature"):
        TokenService(OTHER).verify(legacy)
