"""Who made a request, as far as the server needs to know: a name for logs and a set of roles."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_PREDICT = "predict"
ROLE_ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``name`` never contains a secret (keys are named by hash prefix)."""

    name: str
    roles: frozenset[str]
    via: str  # how it was proven: "api-key", "token" or "password"

    def has(self, role: str) -> bool:
        return role in self.roles
