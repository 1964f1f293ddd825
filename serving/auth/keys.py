"""API keys, held only as SHA-256 digests and compared in constant time.

The server never keeps a key in memory after hashing it, so a heap dump, a debugger or a log
line cannot leak one. Keys are long random strings (``python -m serving.auth new-api-key``), so
an unsalted fast hash is the right tool here — unlike passwords (see :mod:`.users`). Every stored
digest is compared with :func:`hmac.compare_digest` on every attempt, without stopping at the
first match, so the response time says nothing about which key (or key prefix) was close.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path

from .errors import AuthConfigError
from .files import read_lines
from .principal import Principal

#: Shorter keys can be guessed; ``new-api-key`` makes 43-character ones.
MIN_KEY_CHARS = 16


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class ApiKeys:
    """A set of API keys granting ``roles``; only their digests are stored."""

    def __init__(self, keys: Iterable[str], roles: frozenset[str], source: str = "keys") -> None:
        digests = []
        for number, key in enumerate(keys, 1):
            if len(key) < MIN_KEY_CHARS or any(c.isspace() for c in key):
                raise AuthConfigError(
                    f"{source}: key on entry {number} is shorter than {MIN_KEY_CHARS} characters "
                    "or contains whitespace; create keys with `python -m serving.auth new-api-key`"
                )
            digests.append(digest(key))
        self._digests: tuple[bytes, ...] = tuple(digests)
        self.roles = roles

    @classmethod
    def from_file(cls, path: Path, roles: frozenset[str], setting: str) -> ApiKeys:
        return cls(read_lines(path, setting), roles, source=f"{setting} ({path})")

    def __len__(self) -> int:
        return len(self._digests)

    def match(self, candidate: str) -> Principal | None:
        """The principal of ``candidate`` if it is one of the keys, else None (constant time)."""
        wanted = digest(candidate)
        found = False
        for stored in self._digests:
            found |= hmac.compare_digest(stored, wanted)
        if not found:
            return None
        return Principal(f"api-key:{wanted.hex()[:8]}", self.roles, "api-key")
