"""The set of models being served, loaded from a store and replaced in one atomic step.

Loading builds a complete, immutable :class:`Snapshot` off to the side; :meth:`swap`
publishes it with a single reference assignment. Request handlers read ``registry.snapshot``
once and use that object throughout, so a reload (hot reload, issue 6) can never expose a
half-loaded store, and a snapshot that is refused simply never gets published.

Every artifact goes through :func:`artifacts.load`, which verifies the signature and digests
before unpickling. An artifact that fails is not served; the failure is kept in the snapshot
(for ``/readyz``), logged, and reported to the ``on_load`` listeners (metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import artifacts

from .errors import ModelNotFound, NoModelLoaded, VersionNotFound
from .model import ServedModel
from .settings import Settings

log = logging.getLogger(__name__)
LATEST = "latest"


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

    models: dict[str, dict[str, ServedModel]] = field(default_factory=dict)
    failures: tuple[LoadFailure, ...] = ()
    default_name: str | None = None
    loaded_at: float = 0.0

    @property
    def ready(self) -> bool:
        return self.default_name is not None

    def latest(self, name: str) -> ServedModel:
        versions = self.models.get(name)
        if not versions:
            raise ModelNotFound(_unknown_model(name, self.models))
        return next(reversed(versions.values()))

    def get(self, name: str | None = None, version: str | None = None) -> ServedModel:
        """The model to use for a request; unknown name or version → 404, none loaded → 503."""
        if not name:
            if self.default_name is None:
                raise NoModelLoaded(
                    "no verified model is loaded; see /readyz for the load failures"
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

    def load(self) -> Snapshot:
        """Build a new snapshot from the store without publishing it."""
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
        if self._on_load is not None:
            self._on_load(snapshot)
        return snapshot

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Publish ``snapshot`` atomically and return the one it replaced."""
        with self._swap_lock:
            previous, self.snapshot = self.snapshot, snapshot
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
        models: dict[str, dict[str, ServedModel]] = {}
        failures: list[LoadFailure] = []
        created: dict[str, str] = {}
        for ref in refs:  # sorted by name, then version oldest → newest
            try:
                model = self._load_one(ref, verifier)
            except Exception as exc:  # noqa: BLE001 - one bad artifact must not stop the rest
                reason = type(exc).__name__
                log.error("not serving %s/%s: %s: %s", ref.name, ref.version, reason, exc)
                failures.append(LoadFailure(ref.name, ref.version, reason, str(exc)))
                continue
            models.setdefault(ref.name, {})[ref.version] = model
            created[ref.name] = str(model.manifest.get("created", ""))
            log.info(
                "serving %s/%s (compiled fast path: %s)", ref.name, ref.version, model.fast_path
            )
        default_name = self._default_name(models, created, failures)
        return Snapshot(models, tuple(failures), default_name, time.time())

    def _load_one(self, ref: Any, verifier: Any) -> ServedModel:
        settings = self._settings
        loaded = artifacts.load(
            ref.path,
            verifier=verifier,
            skew_policy=settings.version_skew,
            insecure_skip_verify=verifier is None and settings.insecure_skip_verify,
        )
        return ServedModel.from_artifact(ref.name, ref.version, loaded.estimator, loaded.manifest)

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
