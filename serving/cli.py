"""``model-server``: check the configuration, then run Gunicorn with the packaged config.

Misconfiguration is reported as one line and exit status 2 before Gunicorn starts, so a
container restart loop shows the cause at the top of its log instead of a worker traceback.
Extra arguments are passed to Gunicorn unchanged (they override the config file).

Gunicorn runs in this process (which becomes its master, keeping the PID), so what the check
imported (artifacts, Flask, the signing code) is not imported a second time by a new
interpreter before the models are loaded: about 0.4 s less from start to ready.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import blas

blas.single_threaded()  # before the imports below load numpy: this process becomes the master

import artifacts  # noqa: E402

from . import tracing  # noqa: E402
from .auth.authenticator import Authenticator  # noqa: E402
from .settings import Settings, SettingsError  # noqa: E402

CONFIG_FILE = Path(__file__).with_name("gunicorn.conf.py")


def _check(settings: Settings) -> str | None:
    """The first configuration problem that would stop a worker from booting or serving.

    Everything a worker reads at start is read here once too (the verification key, every
    credentials file), so a bad file is reported by name instead of as a worker traceback.
    """
    if settings.verify_key_file is None and not settings.insecure_skip_verify:
        return (
            "no verification key: set SERVING_VERIFY_KEY_FILE to the public key (openssf) or "
            "HMAC secret the artifacts were signed with"
        )
    if settings.verify_key_file is not None:
        if not settings.verify_key_file.is_file():
            return f"SERVING_VERIFY_KEY_FILE {settings.verify_key_file} is not a readable file"
        try:
            artifacts.load_verifier(settings.verify_key_file, scheme=settings.signature_scheme)
        except artifacts.ArtifactError as exc:
            return f"SERVING_VERIFY_KEY_FILE: {exc}"
    if not settings.model_store.is_dir():
        return (
            f"model store {settings.model_store} does not exist; train a model first "
            "(make demo) or set SERVING_MODEL_STORE"
        )
    if settings.auth_enabled:
        Authenticator.from_settings(settings)  # raises AuthConfigError (a SettingsError)
    if settings.rate_limit_enabled:
        from .auth.ratelimit import storage_uri_of

        storage_uri_of(settings)  # the same, for SERVING_RATE_LIMIT_STORAGE_FILE
    return tracing.check(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="model-server",
        description="Serve signed models with Gunicorn. Configure with SERVING_* variables; "
        "arguments after the options are passed to gunicorn.",
    )
    parser.add_argument("gunicorn_args", nargs=argparse.REMAINDER, help="extra gunicorn flags")
    args = parser.parse_args(argv)
    try:
        problem = _check(Settings.from_env())
    except SettingsError as exc:
        problem = str(exc)
    if problem:
        parser.error(problem)
    from gunicorn.app.wsgiapp import run

    sys.argv = [sys.argv[0], "--config", str(CONFIG_FILE), *args.gunicorn_args, "serving.wsgi:app"]
    run(prog="model-server")  # returns only by SystemExit, with Gunicorn's exit status
    return 0  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
