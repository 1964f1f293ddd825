"""The set of models being served, loaded from a store and replaced in one atomic step.

Loading builds a complete, immutable :class:`Snapshot` off to the side; :meth:`swap`
publishes it with a single reference assignment. Request handlers read ``registry.snapshot``
once and use that object throughout, so a reload (hot reload, issue 6) can never expose a
half-loaded store, and a snapshot that is refused simply never gets published.

Every artifact is opened by :func:`artifacts.runtime.open`, which picks the loader by the
manifest's kind and verifies the signature and digests before unpickling an estimator or
parsing a recommender's (pickle-free) arrays.
An artifact that fails is not served; the failure is kept in the snapshot (for ``GET /status``),
logged, and reported to the ``on_load`` listeners (metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import artifacts
from artifacts import runtime
from artifacts.runtime import Model
from artifacts.store import natural_version_key

from .errors import ModelNotFound, NoModelLoaded, VersionNotFound
from .settings import Settings

log = logging.getLogger(__name__)
LATEST = "latest"
#: Failures `settle` derives from the loaded set (recomputed each time, never carried over).
_DERIVED_FAILURES = frozenset({"RollbackRefused", "PinnedVersionMissing", "DefaultModelMissing"})


@dataclass(frozen=True)
class LoadFailure:
    """An artifact (or the whole store) that could not be loaded, and why."""

    name: str | None
    version: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the served models: name → version → model (oldest first)."""

    models: dict[str, dict[str, Model]] = field(default_factory=dict)
    failures: tuple[LoadFailure, ...] = ()
    default_name: str | None = None
    loaded_at: float = 0.0
    #: name → the version `latest` means; a name missing here has no servable `latest`
    #: (its newest version would roll back what was served before, see ModelRegistry).
    latest_versions: dict[str, str] | None = None

    @property
    def ready(self) -> bool:
        return self.default_name is not None

    def latest(self, name: str) -> Model:
        versions = self.models.get(name)
        if not versions:
            raise ModelNotFound(_unknown_model(name, self.models))
        if self.latest_versions is None:
            return next(reversed(versions.values()))
        version = self.latest_versions.get(name)
        if version is None:
            raise NoModelLoaded(
                f"the newest version of {name!r} in the store is older than one served before; "
                "refusing to roll back 'latest' (pin a version with SERVING_PINNED_VERSIONS, or "
                "ask for a version explicitly)"
            )
        return versions[version]

    def get(self, name: str | None = None, version: str | None = None) -> Model:
        """The model to use for a request; unknown name or version → 404, none loaded → 503."""
        if not name:
            if self.default_name is None:
                raise NoModelLoaded(
                    "no verified model is loaded; see GET /status for the load failures"
                )
            name = self.default_name
        if not version or version == LATEST:
            return self.latest(name)
        versions = self.models.get(name)
        if not versions:
            raise ModelNotFound(_unknown_model(name, self.models))
        try:
            return versions[version]
        except KeyError:
            raise VersionNotFound(
                f"model {name!r} has no served version {version!r}; "
                f"served versions: {', '.join(versions)}"
            ) from None


def order_key(model: Model) -> tuple:
    """(signed creation time, natural version order) of a served version."""
    return (str(model.manifest.get("created", "")), natural_version_key(model.version))


def _older(key: tuple, high: tuple) -> bool:
    """Older by either measure: an earlier signed creation time or a lower version."""
    return key[0] < high[0] or key[1] < high[1]


def _unknown_model(name: str, models: dict[str, Any]) -> str:
    served = ", ".join(sorted(models)) or "none"
    return f"no model named {name!r} is served; served models: {served}"


class ModelRegistry:
    """Loads verified models from the store and holds the current :class:`Snapshot`."""

    def __init__(
        self,
        settings: Settings,
        on_load: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_load = on_load
        self._swap_lock = threading.Lock()
        self.snapshot = Snapshot()
        #: name → order key of the newest version ever published as `latest` (rollback guard)
        self._served_high: dict[str, tuple] = {}

    def load(self, *, settle: bool = True) -> Snapshot:
        """Build a new snapshot from the store without publishing it.

        ``settle=False`` leaves `latest` and the default undecided, for a caller (hot reload)
        that first merges the result with what is served and then calls :meth:`settle`.
        """
        settings = self._settings
        try:
            verifier = self._verifier()
            refs = artifacts.list_artifacts(settings.model_store)
        except artifacts.ArtifactError as exc:
            log.error("cannot load any model: %s", exc)
            snapshot = Snapshot(
                failures=(LoadFailure(None, None, type(exc).__name__, str(exc)),),
                loaded_at=time.time(),
            )
        else:
            snapshot = self._load_refs(refs, verifier)
        if settle:
            snapshot = self.settle(snapshot)
        if self._on_load is not None:
            self._on_load(snapshot)
        return snapshot

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Publish ``snapshot`` atomically and return the one it replaced."""
        with self._swap_lock:
            previous, self.snapshot = self.snapshot, snapshot
            for name, version in (snapshot.latest_versions or {}).items():
                if name in self._settings.pinned_versions:
                    continue
                key = order_key(snapshot.models[name][version])
                self._served_high[name] = max(key, self._served_high.get(name, key))
        return previous

    def reload(self) -> Snapshot:
        """Load the store and publish the result."""
        snapshot = self.load()
        self.swap(snapshot)
        return snapshot

    def _verifier(self) -> Any:
        settings = self._settings
        if settings.verify_key_file is None:
            if settings.insecure_skip_verify:
                log.warning(
                    "INSECURE: SERVING_INSECURE_SKIP_VERIFY is set; artifacts are loaded "
                    "WITHOUT signature verification. Never do this in production."
                )
                return None
            raise artifacts.NoVerificationKey(
                "no verification key configured: set SERVING_VERIFY_KEY_FILE to the public key "
                "(openssf) or HMAC secret file the artifacts were signed with"
            )
        return artifacts.load_verifier(settings.verify_key_file, scheme=settings.signature_scheme)

    def _load_refs(self, refs: list, verifier: Any) -> Snapshot:
        models: dict[str, dict[str, Model]] = {}
        failures: list[LoadFailure] = []
        for ref in refs:  # sorted by name, then version oldest → newest
            try:
                model = self._load_one(ref, verifier)
            except Exception as exc:  # noqa: BLE001 - one bad artifact must not stop the rest
                reason = type(exc).__name__
                log.error("not serving %s/%s: %s: %s", ref.name, ref.version, reason, exc)
                failures.append(LoadFailure(ref.name, ref.version, reason, str(exc)))
                continue
            models.setdefault(ref.name, {})[ref.version] = model
            log.info(
                "serving %s/%s (compiled fast path: %s)", ref.name, ref.version, model.fast_path
            )
        return Snapshot(models, tuple(failures), None, time.time())

    def settle(self, snapshot: Snapshot) -> Snapshot:
        """Decide `latest` per name and the default model for ``snapshot``'s models."""
        failures = [f for f in snapshot.failures if f.reason not in _DERIVED_FAILURES]
        latest = self._latest_versions(snapshot.models, failures)
        created = {  # a name whose latest is refused keeps its place: requests get a 503
            name: str(next(reversed(versions.values())).manifest.get("created", ""))
            for name, versions in snapshot.models.items()
        }
        default_name = self._default_name(snapshot.models, created, failures)
        return replace(
            snapshot, failures=tuple(failures), default_name=default_name, latest_versions=latest
        )

    def _latest_versions(self, models: dict, failures: list[LoadFailure]) -> dict[str, str]:
        """Which version `latest` means per name: a pin, else the newest — unless the newest
        is older (signed creation time or version order) than one already served."""
        latest = {}
        for name, versions in models.items():
            pinned = self._settings.pinned_versions.get(name)
            if pinned is not None:
                if pinned in versions:
                    latest[name] = pinned
                else:
                    detail = f"SERVING_PINNED_VERSIONS names {name}/{pinned}, which is not served"
                    log.error(detail)
                    failures.append(LoadFailure(name, pinned, "PinnedVersionMissing", detail))
                continue
            newest = next(reversed(versions.values()))
            high = self._served_high.get(name)
            if high is not None and _older(order_key(newest), high):
                detail = (
                    f"newest version {newest.version} of {name!r} is older than a version served "
                    "before; refusing to roll back 'latest' (pin one with SERVING_PINNED_VERSIONS)"
                )
                log.error(detail)
                failures.append(LoadFailure(name, newest.version, "RollbackRefused", detail))
                continue
            latest[name] = newest.version
        return latest

    def _load_one(self, ref: Any, verifier: Any) -> Model:
        settings = self._settings
        return runtime.open(
            ref,
            verifier,
            skew_policy=settings.version_skew,
            insecure_skip_verify=verifier is None and settings.insecure_skip_verify,
        )

    def _default_name(
        self, models: dict, created: dict[str, str], failures: list[LoadFailure]
    ) -> str | None:
        wanted = self._settings.default_model
        if wanted:
            if wanted in models:
                return wanted
            detail = f"SERVING_DEFAULT_MODEL={wanted!r} is not among the served models"
            log.error(detail)
            failures.append(LoadFailure(wanted, None, "DefaultModelMissing", detail))
            return None
        if not models:
            return None
        return max(models, key=lambda name: (created[name], name))
