"""Reading credential files: mounted Kubernetes Secrets, one entry per line.

Blank lines and ``#`` comments are skipped so operators can annotate their files; a missing
or unreadable file is an :class:`AuthConfigError` naming the setting, raised at start-up.
"""

from __future__ import annotations

from pathlib import Path

from .errors import AuthConfigError

#: HS256 keys shorter than the hash output weaken the MAC (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32


def read_lines(path: Path, setting: str) -> list[str]:
    """Non-blank, non-comment lines of ``path``, stripped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"{setting}: cannot read {path}: {exc.__class__.__name__}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_secret(path: Path, setting: str) -> bytes:
    """A signing secret: the file's bytes without surrounding whitespace, at least 32 bytes."""
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise AuthConfigError(f"{setting}: cannot read {path}: {exc.__class__.__name__}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise AuthConfigError(
            f"{setting}: the secret in {path} is shorter than {MIN_SECRET_BYTES} bytes; create "
            "one with `python -m serving.auth new-secret FILE`"
        )
    return secret


def read_uri(path: Path, setting: str) -> str:
    """A connection URI kept in a file because it may hold a password; never echoed in errors."""
    lines = read_lines(path, setting)
    if len(lines) != 1 or "://" not in lines[0]:
        raise AuthConfigError(
            f"{setting}: {path} must hold exactly one URI like redis://:password@host:6379/0"
        )
    return lines[0]
