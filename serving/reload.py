"""Hot reload: pick up new model versions from the store without a restart.

A background thread polls the store every ``SERVING_RELOAD_INTERVAL`` seconds and reloads only
when a cheap fingerprint of the store (every file's path, size and mtime) changes;
``POST /admin/reload`` forces one. A reload builds a complete new snapshot through the registry,
so every artifact is verified (signature, digests) before it is unpickled, and publishes it with
one atomic swap: requests in flight keep the snapshot they started with.

A version that fails verification or loading is refused: logged, counted
(``model_server_model_load_failures_total``) and listed by ``GET /status``. A version that was
already being served keeps being served from its verified in-memory copy even if its files on
disk later fail (tampering, a half-synced volume), and if the store cannot be read at all the
previous snapshot stays as it is. Under Gunicorn every worker runs its own poller (started by
the worker's first request, after the fork), so all workers converge within one interval.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Flask
from prometheus_client import Counter

from artifacts.runtime import Model

from .metrics import Metrics
from .polling import Poller
from .registry import LoadFailure, ModelRegistry, Snapshot

log = logging.getLogger(__name__)
EXTENSION_KEY = "model_server_reloader"

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ReloadResult:
    """What a reload changed: versions added and removed, and the ones it refused."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    refused: tuple[LoadFailure, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def as_dict(self) -> dict:
        return {
            "changed": self.changed,
            "added": list(self.added),
            "removed": list(self.removed),
            "kept_in_memory": list(self.kept),
            "refused": [
                {"name": f.name, "version": f.version, "reason": f.reason} for f in self.refused
            ],
        }


class Reloader(Poller):
    """Reloads the registry when the store changes; one reload at a time per process."""

    thread_name = "model-reload"
    failure_message = "model store poll failed; the current models keep serving"
    error_outcome = "error"
    log = log

    def __init__(
        self, registry: ModelRegistry, store: Path, interval: float, metrics: Metrics | None
    ) -> None:
        super().__init__(interval)
        self.registry = registry
        self.store = Path(store)
        # None: the first poll always reloads, closing the gap between the start-up load and
        # now (a version saved while the factory was loading would otherwise be missed).
        self._fingerprint: Fingerprint | None = None
        self._metrics = metrics
        if metrics is not None:
            self.reloads = Counter(
                "model_server_reloads",
                "Model store reloads by outcome: swapped (served set changed), unchanged, "
                "or error (the reload itself failed; the old models kept serving).",
                ["outcome"],
                registry=metrics.registry,
            )

    def reload(self) -> ReloadResult:
        """Load and verify the store now; swap in what verified, keep what was served."""
        with self._lock:
            fingerprint = store_fingerprint(self.store)
            old = self.registry.snapshot
            merged, result = merge(old, self.registry.load(settle=False))
            merged = self.registry.settle(merged)
            if result.changed or merged.failures != old.failures:
                self.registry.swap(merged)
            self._fingerprint = fingerprint
        if self._metrics is not None:  # the registry counted `new`; kept copies serve too
            self._metrics.models_loaded.set(len(_keys(self.registry.snapshot)))
        self._count("swapped" if result.changed else "unchanged")
        for failure in result.refused:
            what = (
                "the model store" if failure.name is None else f"{failure.name}/{failure.version}"
            )
            log.error(
                "reload refused %s (%s); still serving: %s", what, failure.reason, _served(merged)
            )
        if result.kept:
            log.warning(
                "files of %s no longer load or verify; serving their verified in-memory copies "
                "(see GET /status failures)",
                ", ".join(result.kept),
            )
        if result.changed:
            log.info("reload swapped in %s, removed %s", result.added, result.removed)
        return result

    def loaded_at(self, fingerprint: Fingerprint) -> None:
        """The served snapshot was loaded from a store that looked like ``fingerprint`` (taken
        before that load): polls reload only once the store differs from it.

        For a process that did the start-up load elsewhere (a Gunicorn master that preloaded
        it): without this, every forked worker's first poll would load and verify the whole
        store again for nothing.
        """
        with self._lock:
            self._fingerprint = fingerprint

    def poll_once(self) -> ReloadResult | None:
        """Reload if the store's files changed since the last reload (or none ran yet)."""
        if store_fingerprint(self.store) == self._fingerprint:
            return None
        return self.reload()


def merge(old: Snapshot, new: Snapshot) -> tuple[Snapshot, ReloadResult]:
    """``new``, plus every version of ``old`` that ``new`` failed to load (verified copies)."""
    failed = {(f.name, f.version) for f in new.failures}
    store_failed = any(f.name is None for f in new.failures)
    models = {name: dict(versions) for name, versions in new.models.items()}
    kept = []
    for name, versions in old.models.items():
        for version, model in versions.items():
            if store_failed or (name, version) in failed:
                models.setdefault(name, {})[version] = model
                kept.append(f"{name}/{version}")
    models = {name: _ordered(versions) for name, versions in models.items() if versions}
    default = new.default_name if new.default_name in models else None
    if default is None and old.default_name in models:
        default = old.default_name
    merged = replace(new, models=models, default_name=default)
    before, after = _keys(old), _keys(merged)
    refused = tuple(f for f in new.failures if f"{f.name}/{f.version}" not in before)
    result = ReloadResult(
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
        kept=tuple(kept),
        refused=refused if not store_failed else new.failures,
    )
    return merged, result


def store_fingerprint(store: Path) -> Fingerprint:
    """(path, size, mtime) of every file under ``<store>/<name>/<version>/``, sorted."""
    entries = []
    try:
        for model_dir in os.scandir(store):
            if not model_dir.is_dir() or model_dir.name.startswith("."):
                continue
            for version_dir in os.scandir(model_dir.path):
                if not version_dir.is_dir() or version_dir.name.startswith("."):
                    continue
                for item in os.scandir(version_dir.path):
                    stat = item.stat()
                    entries.append((item.path, stat.st_size, stat.st_mtime_ns))
    except OSError:
        return (("<unreadable>", 0, 0),)
    return tuple(sorted(entries))


def install(
    app: Flask, registry: ModelRegistry, store: Path, interval: float, metrics: Metrics | None
) -> Reloader:
    """Attach a reloader to the app; its poller starts with the first request of each process."""
    reloader = Reloader(registry, store, interval, metrics)
    app.extensions[EXTENSION_KEY] = reloader
    app.before_request(reloader.ensure_polling)
    if interval <= 0:
        log.info("model store polling is off (SERVING_RELOAD_INTERVAL=0); use POST /admin/reload")
    return reloader


def _ordered(versions: dict[str, Model]) -> dict[str, Model]:
    return dict(sorted(versions.items(), key=lambda item: _natural_key(item[0])))


def _natural_key(version: str) -> tuple:
    """'2' before '10', like the store's own ordering, so the last version is the newest."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", version))


def _keys(snapshot: Snapshot) -> set[str]:
    return {
        f"{name}/{version}" for name, versions in snapshot.models.items() for version in versions
    }


def _served(snapshot: Snapshot) -> str:
    return ", ".join(sorted(_keys(snapshot))) or "nothing"
