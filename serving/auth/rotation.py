"""Credential rotation without restarts: re-read the credentials files when they change.

Every ``SERVING_CREDENTIALS_RELOAD_INTERVAL`` seconds a background thread per process compares a
digest of each configured file's content (read through symlinks, see
:func:`.credentials.fingerprint`) with the last one. On a change it builds a complete new
:class:`~.credentials.Credentials` and swaps it in, so a revoked key is refused within one
interval. If any file is malformed or unreadable the new set is refused as a whole, with one
log line naming the setting (never a secret), and the previous credentials stay in force until
the files are fixed. Under Gunicorn each worker runs its own poller, started by its first
request after the fork, like the model store poller (:mod:`serving.reload`).
"""

from __future__ import annotations

import logging

from flask import Flask
from prometheus_client import Counter

from ..metrics import Metrics
from ..polling import Poller
from ..settings import Settings
from .authenticator import Authenticator
from .credentials import Fingerprint, fingerprint, load, sources
from .errors import AuthConfigError

log = logging.getLogger(__name__)
EXTENSION_KEY = "model_server_credentials_reloader"


class CredentialReloader(Poller):
    """Swaps new credentials into ``authenticator`` when their files change."""

    thread_name = "credentials-reload"
    failure_message = "credentials poll failed; the current credentials stay in force"
    log = log

    def __init__(
        self,
        authenticator: Authenticator,
        settings: Settings,
        interval: float,
        metrics: Metrics | None = None,
        loaded: Fingerprint | None = None,
    ) -> None:
        """``loaded``: the fingerprint taken just *before* ``authenticator`` read the files."""
        super().__init__(interval)
        self.authenticator = authenticator
        self.settings = settings
        self.files = sources(settings)
        self._seen: Fingerprint = fingerprint(self.files) if loaded is None else loaded
        if metrics is not None:
            self.reloads = Counter(
                "model_server_credential_reloads",
                "Credentials file changes by outcome: swapped (new credentials in force) or "
                "refused (malformed or unreadable; the previous credentials stay in force).",
                ["outcome"],
                registry=metrics.registry,
            )

    def poll_once(self) -> bool | None:
        """Reload if a file changed: True swapped, False refused, None nothing changed."""
        with self._lock:
            current = fingerprint(self.files)
            if current == self._seen:
                return None
            # remembered before loading: a refused version is logged once, not every interval
            previous, self._seen = self._seen, current
            try:
                credentials = load(self.settings)
            except AuthConfigError as exc:
                log.error("credentials reload refused, the previous ones stay in force: %s", exc)
                self._count("refused")
                return False
            self.authenticator.swap(credentials)
        changed = [setting for setting, state in current if (setting, state) not in previous]
        log.info("credentials reloaded: %s changed", ", ".join(changed))
        self.authenticator.log_summary()
        self._count("swapped")
        return True

    def wants_polling(self) -> bool:
        return super().wants_polling() and bool(self.files)

    def started(self) -> None:
        log.info("credentials poller started: every %gs", self.interval)
        # a worker forked from a preloaded master holds the master's start-up credentials:
        # catch up before answering its first request, not one interval later
        self.poll_once()


def install(app: Flask, settings: Settings, metrics: Metrics | None) -> Authenticator:
    """Load the credentials and attach their reloader; it polls from each process's 1st request.

    Call before any hook that may refuse a request, so refused requests start the poller too.
    """
    loaded = fingerprint(sources(settings))  # before reading: a change meanwhile is seen later
    authenticator = Authenticator.from_settings(settings)
    reloader = CredentialReloader(
        authenticator, settings, settings.credentials_reload_interval, metrics, loaded
    )
    app.extensions[EXTENSION_KEY] = reloader
    app.before_request(reloader.ensure_polling)
    if reloader.interval <= 0:
        log.info("credentials files are read at start only (SERVING_CREDENTIALS_RELOAD_INTERVAL=0)")
    return authenticator
