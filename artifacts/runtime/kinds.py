"""The one place that decides what kind of model an artifact holds, and opens it as a Model.

An artifact's signed manifest names its kind: an *estimator* (a pickled scikit-learn model,
whose input schema says vector, image, tabular or text) or a *recommender* (ALS factors as
plain arrays, no pickle). :func:`open` reads the kind the manifest claims to pick the loader;
that is safe before verification because each loader verifies the signature itself and
refuses an artifact of another kind (:class:`artifacts.WrongKind`). Serving's registry and
batch scoring's driver both open artifacts here, so they cannot disagree about a kind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from artifacts.runtime.model import Model

from .. import layout, loader, skew
from .. import manifest as manifest_mod
from ..errors import ArtifactError
from ..recommender import load_recommender
from ..store import ArtifactRef
from .topk import FactorScorer

ESTIMATOR, RECOMMENDER = layout.KIND_ESTIMATOR, layout.KIND_RECOMMENDER


def claimed_kind(path: str | os.PathLike) -> str:
    """The kind the (not yet verified) manifest at ``path`` claims; an unreadable manifest
    claims an estimator, whose loader then reports what is wrong. Read as every file before
    verification is: bounded, and never through a symlink."""
    try:
        raw = layout.read_bounded(Path(path) / layout.MANIFEST_FILE, layout.MAX_MANIFEST_BYTES)
        return manifest_mod.kind(manifest_mod.parse(raw))
    except (OSError, ArtifactError):
        return ESTIMATOR


def open(  # the runtime's verb; this module never needs the builtin
    source: ArtifactRef | str | os.PathLike,
    verifier: Any,
    *,
    skew_policy: skew.Policy = "error",
    insecure_skip_verify: bool = False,
    exact: bool = False,
    compiled: bool = True,
    name: str | None = None,
    version: str | None = None,
) -> Model:
    """Verify the artifact at ``source`` and open it as a :class:`Model` ready to score.

    ``source`` is a store reference (its name and version name the model) or a directory
    (then ``name``/``version``, or the directory's parent and own name). ``exact`` and
    ``compiled``: see :meth:`Model.from_artifact`. Raises :class:`artifacts.ArtifactError` for
    an artifact that does not verify and ValueError for one whose schemas cannot be scored."""
    path = Path(source.path if isinstance(source, ArtifactRef) else source)
    if isinstance(source, ArtifactRef):
        name, version = name or source.name, version or source.version
    name, version = name or path.parent.name, version or path.name
    if claimed_kind(path) == RECOMMENDER:
        factors, manifest = load_recommender(
            path, verifier, insecure_skip_verify=insecure_skip_verify
        )
        scorer = FactorScorer(factors, manifest)
        return Model.from_recommender(name, version, scorer, manifest)
    loaded = loader.load(
        path,
        verifier=verifier,
        skew_policy=skew_policy,
        insecure_skip_verify=insecure_skip_verify,
    )
    return Model.from_artifact(
        name, version, loaded.estimator, loaded.manifest, exact=exact, compiled=compiled
    )
