"""Credential files for auth tests: API keys, an admin key, a user and token secrets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import generate_password_hash


@dataclass(frozen=True)
class Credentials:
    dir: Path
    api_key: str
    admin_key: str
    user: str
    password: str
    secret: bytes
    other_secret: bytes

    def config(self, **overrides) -> dict:
        """create_app settings with every credential file configured and auth on."""
        return {
            "auth_enabled": True,
            "rate_limit_enabled": False,
            "api_keys_file": self.dir / "api-keys",
            "admin_keys_file": self.dir / "admin-keys",
            "users_file": self.dir / "users",
            "token_secret_file": self.dir / "token-secret",
            **overrides,
        }

    def env(self) -> dict[str, str]:
        return {f"SERVING_{key.upper()}": str(value) for key, value in self.config().items()}

    def secrets(self) -> list[str]:
        """Every secret value a log line must never contain."""
        return [
            self.api_key,
            self.admin_key,
            self.password,
            self.secret.decode(),
            self.other_secret.decode(),
        ]


def write_credentials(directory: Path) -> Credentials:
    directory.mkdir(parents=True, exist_ok=True)
    creds = Credentials(
        dir=directory,
        api_key="test-" + secrets.token_urlsafe(24),
        admin_key="admin-" + secrets.token_urlsafe(24),
        user="alice",
        password="correct horse battery " + secrets.token_hex(4),
        secret=secrets.token_urlsafe(40).encode(),
        other_secret=secrets.token_urlsafe(40).encode(),
    )
    (directory / "api-keys").write_text(f"# CI key\n{creds.api_key}\n\n")
    (directory / "admin-keys").write_text(f"{creds.admin_key}\n")
    (directory / "users").write_text(f"{creds.user}:{generate_password_hash(creds.password)}\n")
    (directory / "token-secret").write_bytes(creds.secret + b"\n")
    (directory / "other-secret").write_bytes(creds.other_secret + b"\n")
    return creds
