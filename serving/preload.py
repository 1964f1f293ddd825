"""Preloading: the app and its models built once in the Gunicorn master, shared by its workers.

Without it every worker imports the stack and loads and verifies every artifact itself, so
each holds a private copy of everything. With it (``SERVING_PRELOAD``, on by default) the
master builds the app before the first fork; workers find ``serving.wsgi`` already imported,
start ready, and share the loaded models copy-on-write. ``gc.freeze()`` before the fork keeps
the garbage collector from writing to (and so copying) those objects in the workers.

Hot reload is unchanged: each worker still runs its own poller and loads new versions
itself. The reloader is told what the store looked like before the master's load, so a
worker's first poll reloads only if the store changed since (not the whole store again).
Process-local state is redone per worker in :func:`in_worker`: the served-models gauge (in
multiprocess mode a gauge written by the master would shadow the workers' ``max``) and the
per-version log lines that tell an operator (and the live tests) which worker serves what.
"""

from __future__ import annotations

import gc
import logging
import sys

from flask import Flask

from .reload import EXTENSION_KEY as RELOADER_KEY
from .reload import store_fingerprint
from .settings import Settings
from .state import EXTENSION_KEY as STATE_KEY

log = logging.getLogger(__name__)


def in_master(settings: Settings) -> Flask | None:
    """Build ``serving.wsgi.app`` now, freeze it for sharing; ``None`` if already built."""
    if "serving.wsgi" in sys.modules:
        return None  # a SIGHUP re-read the config: the preloaded app stays, reloads poll
    fingerprint = store_fingerprint(settings.model_store)
    from .wsgi import app

    app.extensions[RELOADER_KEY].loaded_at(fingerprint)
    metrics = app.extensions[STATE_KEY].metrics
    if metrics is not None:
        metrics.models_loaded.set(0)  # the master serves nothing; workers report their own
    gc.collect()
    gc.freeze()
    return app


def in_worker(app: Flask) -> None:
    """Redo the process-local parts of start-up in a worker forked from a preloaded master."""
    state = app.extensions[STATE_KEY]
    snapshot = state.registry.snapshot
    if state.metrics is not None:
        state.metrics.models_loaded.set(sum(len(v) for v in snapshot.models.values()))
    for name, versions in snapshot.models.items():
        for version in versions:
            log.info("serving %s/%s (preloaded in the master)", name, version)
