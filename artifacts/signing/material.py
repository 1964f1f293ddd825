"""What a key file holds, once classified (shared by :mod:`.keys` and :mod:`.ec_keys`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyMaterial:
    """What a key file holds: ``secret`` (HMAC bytes), ``private`` or ``public`` (PEM bytes)."""

    kind: str
    data: bytes
