"""``python -m serving.auth``: create the credential files the server reads.

- ``add-user FILE NAME`` — add or replace a user (password from a prompt, or ``--password-stdin``)
- ``new-api-key FILE`` — append a random API key and print it once (it is not recoverable later
  from the server, which keeps only hashes)
- ``new-secret FILE`` — write a random token-signing secret

Files are created readable by their owner only. Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path

from .errors import AuthConfigError
from .files import read_lines
from .users import add_user, write_private


def _add_user(args: argparse.Namespace) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise AuthConfigError("the passwords differ")
    add_user(args.file, args.name, password)
    sys.stderr.write(f"user {args.name} saved in {args.file}\n")


def _new_api_key(args: argparse.Namespace) -> None:
    key = args.prefix + secrets.token_urlsafe(32)
    existing = read_lines(args.file, str(args.file)) if args.file.exists() else []
    write_private(args.file, "".join(f"{line}\n" for line in [*existing, key]))
    sys.stdout.write(key + "\n")


def _new_secret(args: argparse.Namespace) -> None:
    if args.file.exists() and not args.force:
        raise AuthConfigError(
            f"{args.file} exists; pass --force to replace it (see docs/security.md: rotation)"
        )
    write_private(args.file, secrets.token_urlsafe(48) + "\n")
    sys.stderr.write(f"token secret written to {args.file}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m serving.auth", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    user = commands.add_parser("add-user", help="add or replace a user in a users file")
    user.add_argument("file", type=Path)
    user.add_argument("name")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user.set_defaults(run=_add_user)
    key = commands.add_parser("new-api-key", help="append a random API key and print it")
    key.add_argument("file", type=Path)
    key.add_argument("--prefix", default="", help="readable prefix, e.g. 'ci-'")
    key.set_defaults(run=_new_api_key)
    secret = commands.add_parser("new-secret", help="write a random token-signing secret")
    secret.add_argument("file", type=Path)
    secret.add_argument("--force", action="store_true")
    secret.set_defaults(run=_new_secret)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (AuthConfigError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0
