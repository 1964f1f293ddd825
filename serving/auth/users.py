"""Users who may exchange a password for a token: ``name:werkzeug-password-hash`` lines.

Passwords are stored as werkzeug hashes (scrypt by default: salted and deliberately slow), so
the users file is safe to mount and a stolen copy does not reveal passwords. An unknown user
is checked against a dummy hash, so timing does not tell which user names exist.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import AuthConfigError
from .files import read_lines
from .principal import ROLE_PREDICT, Principal

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_CHARS = 12


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they cost as much as known ones.

    Made when the first users store is built (a deliberately slow scrypt hash, ~0.1-0.4 s),
    not at import: a server without a users file, and ``model-server``'s start-up check,
    never pay for it; a server with one has it before its first request.
    """
    return generate_password_hash("not-a-real-password-used-for-timing-only")


def check_user_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise AuthConfigError(
            f"invalid user name {name!r}: 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    return name


def parse(lines: list[str], source: str) -> dict[str, str]:
    """User name → password hash; a malformed line is an error naming its number."""
    users: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        name, sep, hashed = line.partition(":")
        if not sep or not USER_NAME.match(name) or "$" not in hashed:
            raise AuthConfigError(
                f"{source}: entry {number} is not `name:password-hash`; "
                "add users with `python -m serving.auth add-user FILE NAME`"
            )
        users[name] = hashed
    return users


class Users:
    """The users file, loaded once; :meth:`check` verifies a name and password."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = users
        self._dummy = _dummy_hash()

    @classmethod
    def from_file(cls, path: Path, setting: str) -> Users:
        return cls(parse(read_lines(path, setting), f"{setting} ({path})"))

    def __len__(self) -> int:
        return len(self._users)

    def check(self, name: str, password: str) -> Principal | None:
        hashed = self._users.get(name)
        valid = check_password_hash(hashed or self._dummy, password)
        if hashed is None or not valid:
            return None
        return Principal(f"user:{name}", frozenset({ROLE_PREDICT}), "password")


def add_user(path: Path, name: str, password: str) -> None:
    """Add or replace ``name`` in the users file (created 0600), written atomically."""
    check_user_name(name)
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthConfigError(f"password too short: use at least {MIN_PASSWORD_CHARS} characters")
    lines = read_lines(path, str(path)) if path.exists() else []
    users = parse(lines, str(path))
    users[name] = generate_password_hash(password)
    text = "".join(f"{user}:{hashed}\n" for user, hashed in users.items())
    write_private(path, text)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by the owner only, via a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
