"""One consistent set of credentials (API keys, admin keys, users, token keys) and its files.

:class:`Credentials` is immutable: a rotation builds a complete new one from the files and the
:class:`~.authenticator.Authenticator` swaps it in with one assignment, so a request never sees
half of an old set and half of a new one. :func:`fingerprint` says whether the files changed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings
from .errors import AuthConfigError
from .files import read_secret
from .keys import ApiKeys
from .principal import ROLE_ADMIN, ROLE_PREDICT
from .tokens import TokenService
from .users import Users

#: (setting, path) of every configured credentials file.
Sources = tuple[tuple[str, Path], ...]
Fingerprint = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Credentials:
    api_keys: ApiKeys | None = None
    admin_keys: ApiKeys | None = None
    users: Users | None = None
    tokens: TokenService | None = None

    @property
    def key_sets(self) -> tuple[ApiKeys, ...]:
        return tuple(k for k in (self.admin_keys, self.api_keys) if k is not None)


def sources(settings: Settings) -> Sources:
    names = (
        "api_keys_file",
        "admin_keys_file",
        "users_file",
        "token_secret_file",
        "token_previous_secret_file",
    )
    return tuple(
        (f"SERVING_{name.upper()}", getattr(settings, name))
        for name in names
        if getattr(settings, name) is not None
    )


def load(settings: Settings) -> Credentials:
    """Read every configured file; a bad one raises AuthConfigError naming its setting."""
    api_keys = admin_keys = users = tokens = None
    if settings.api_keys_file:
        roles = frozenset({ROLE_PREDICT})
        api_keys = ApiKeys.from_file(settings.api_keys_file, roles, "SERVING_API_KEYS_FILE")
    if settings.admin_keys_file:
        roles = frozenset({ROLE_PREDICT, ROLE_ADMIN})
        admin_keys = ApiKeys.from_file(settings.admin_keys_file, roles, "SERVING_ADMIN_KEYS_FILE")
    if settings.users_file:
        users = Users.from_file(settings.users_file, "SERVING_USERS_FILE")
    if settings.token_secret_file:
        secret = read_secret(settings.token_secret_file, "SERVING_TOKEN_SECRET_FILE")
        previous = ()
        path = settings.token_previous_secret_file
        if path and not _empty(path, "SERVING_TOKEN_PREVIOUS_SECRET_FILE"):
            previous = (read_secret(path, "SERVING_TOKEN_PREVIOUS_SECRET_FILE"),)
        tokens = TokenService(secret, previous, settings.token_ttl_seconds)
    return Credentials(api_keys, admin_keys, users, tokens)


def _empty(path: Path, setting: str) -> bool:
    """An empty previous-secret file means none: how a rotation ends without a restart."""
    try:
        return not path.read_bytes().strip()
    except OSError as exc:
        raise AuthConfigError(f"{setting}: cannot read {path}: {exc.__class__.__name__}") from None


def fingerprint(files: Sources) -> Fingerprint:
    """A digest of each file's current content, read through any symlinks.

    Content, not mtime: Kubernetes updates a mounted Secret by writing a new timestamped
    directory and swapping the ``..data`` symlink, so the path a setting names (itself a symlink
    into ``..data``) never changes its own mtime, and a copy can keep an mtime. Reading a few
    small files every few seconds costs nothing next to one request.
    """
    entries = []
    for setting, path in files:
        try:
            with open(os.path.realpath(path), "rb") as handle:
                state = hashlib.sha256(handle.read()).hexdigest()
        except OSError as exc:
            state = f"unreadable: {exc.__class__.__name__}"
        entries.append((setting, state))
    return tuple(entries)
