"""The recommender artifact: ALS factors as plain arrays, so loading it cannot execute code.

A recommender artifact holds no pickle at all. Its directory is::

    user_factors.npy   float32 (n_users, rank)
    item_factors.npy   float32 (n_items, rank)
    seen_indptr.npy    int64   (n_users + 1,)  CSR rows: items each user had in training
    seen_items.npy     int32   (n_seen,)       item row indices
    popularity.npy     float32 (n_items,)      training interactions per item (cold start)
    ids.json           {"users": [...], "items": [...]}  original ids in row order
    manifest.json      kind "recommender", output_schema task "recommendation", digests
    signature.hmac | model.sig

Loading follows the project's order (snapshot → signature → digests, see ``loader``); then each
``.npy`` header is read and its dtype and shape checked *before* the array body is parsed, and
the body is parsed by ``np.load(..., allow_pickle=False)`` from the verified in-memory bytes.
An object-dtype array is refused even when it is validly signed: a leaked key must not turn this
artifact type into code execution.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import loader
from . import manifest as manifest_mod
from . import schema as schema_mod
from .errors import ManifestInvalid, RecommenderInvalid, SignerMissing, WrongKind
from .layout import (
    IDS_FILE,
    KIND_RECOMMENDER,
    MANIFEST_FILE,
    RECOMMENDER_ARRAYS,
    check_name,
    check_version,
)
from .store import _write_atomically, default_version

#: Spark's ALS ``coldStartStrategy`` values: an unknown user or item scores NaN, or is dropped.
COLD_START_POLICIES = ("nan", "drop")

#: The dtype each array file must have (little-endian, as numpy writes on every platform here).
ARRAY_DTYPES: dict[str, np.dtype] = {
    "user_factors.npy": np.dtype("<f4"),
    "item_factors.npy": np.dtype("<f4"),
    "seen_indptr.npy": np.dtype("<i8"),
    "seen_items.npy": np.dtype("<i4"),
    "popularity.npy": np.dtype("<f4"),
}


@dataclass(frozen=True)
class Factors:
    """ALS factors with the original ids, the training interactions and item popularity."""

    user_ids: list  # list[str] | list[int], row order of user_factors
    item_ids: list  # list[str] | list[int], row order of item_factors
    user_factors: np.ndarray
    item_factors: np.ndarray
    seen_indptr: np.ndarray
    seen_items: np.ndarray
    popularity: np.ndarray

    @property
    def rank(self) -> int:
        return int(self.user_factors.shape[1])

    def seen(self, user_row: int) -> np.ndarray:
        """Item rows the user at `user_row` interacted with in training."""
        return self.seen_items[self.seen_indptr[user_row] : self.seen_indptr[user_row + 1]]

    def validate(self) -> Factors:
        """Check dtypes, shapes, finiteness, ids and CSR structure; returns self."""
        _check_ids(self.user_ids, "users")
        _check_ids(self.item_ids, "items")
        n_users, n_items = len(self.user_ids), len(self.item_ids)
        arrays = self._arrays()
        for fname, arr in arrays.items():
            if not isinstance(arr, np.ndarray) or arr.dtype != ARRAY_DTYPES[fname]:
                got = getattr(arr, "dtype", type(arr).__name__)
                raise RecommenderInvalid(f"{fname}: dtype must be {ARRAY_DTYPES[fname]}, got {got}")
        uf, itf = self.user_factors, self.item_factors
        if uf.ndim != 2 or itf.ndim != 2 or uf.shape[1] != itf.shape[1] or uf.shape[1] < 1:
            raise RecommenderInvalid(
                f"factors must be (n, rank) with one rank: users {uf.shape}, items {itf.shape}"
            )
        if uf.shape[0] != n_users or itf.shape[0] != n_items:
            raise RecommenderInvalid(
                f"{n_users} user ids / {n_items} item ids for factor rows {uf.shape[0]} / "
                f"{itf.shape[0]}"
            )
        if not (np.isfinite(uf).all() and np.isfinite(itf).all()):
            raise RecommenderInvalid("factors hold NaN or infinite values")
        if self.popularity.shape != (n_items,) or not np.isfinite(self.popularity).all():
            raise RecommenderInvalid(f"popularity must be {n_items} finite numbers")
        self._check_seen(n_users, n_items)
        return self

    def _check_seen(self, n_users: int, n_items: int) -> None:
        ptr, items = self.seen_indptr, self.seen_items
        if ptr.shape != (n_users + 1,) or items.ndim != 1:
            raise RecommenderInvalid(f"seen_indptr must have {n_users + 1} entries")
        if ptr[0] != 0 or ptr[-1] != items.shape[0] or (np.diff(ptr) < 0).any():
            raise RecommenderInvalid("seen_indptr must rise from 0 to len(seen_items)")
        if items.size and (items.min() < 0 or items.max() >= n_items):
            raise RecommenderInvalid(f"seen_items must be item rows in [0, {n_items})")

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors.npy": self.user_factors,
            "item_factors.npy": self.item_factors,
            "seen_indptr.npy": self.seen_indptr,
            "seen_items.npy": self.seen_items,
            "popularity.npy": self.popularity,
        }


def _check_ids(ids: Any, which: str) -> None:
    if not isinstance(ids, list) or not ids:
        raise RecommenderInvalid(f"ids.json '{which}' must be a non-empty list")
    kinds = {id_type(v) for v in ids}
    if len(kinds) != 1 or None in kinds:
        raise RecommenderInvalid(f"ids.json '{which}' must be all strings or all integers")
    if len(set(ids)) != len(ids):
        raise RecommenderInvalid(f"ids.json '{which}' holds duplicate ids")


def id_type(value: Any) -> str | None:
    """``"string"`` or ``"long"`` for an id value; None for anything else (bool, float, …)."""
    if isinstance(value, str):
        return schema_mod.STRING
    if isinstance(value, int) and not isinstance(value, bool):
        return schema_mod.LONG
    return None


# --- writing ------------------------------------------------------------------------------


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _ids_bytes(factors: Factors) -> bytes:
    doc = {"users": list(factors.user_ids), "items": list(factors.item_ids)}
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def save_recommender(
    store: str | os.PathLike,
    name: str,
    factors: Factors,
    *,
    signer: Any,
    version: str | None = None,
    rank: int,
    implicit: bool,
    cold_start: str,
    metrics: dict | None = None,
    lineage: dict | None = None,
    parity: dict | None = None,
    created: datetime | None = None,
) -> Path:
    """Write a signed, pickle-free recommender artifact and return its directory."""
    if signer is None:
        raise SignerMissing("save_recommender() needs a signer: unsigned artifacts are never saved")
    check_name(name, "model name")
    version = check_version(version or default_version())
    if cold_start not in COLD_START_POLICIES:
        raise ManifestInvalid(f"cold_start must be one of {COLD_START_POLICIES}: {cold_start!r}")
    factors.validate()
    if int(rank) != factors.rank:
        raise RecommenderInvalid(f"rank {rank} differs from the factors' rank {factors.rank}")
    files = {fname: _npy_bytes(arr) for fname, arr in factors._arrays().items()}
    files[IDS_FILE] = _ids_bytes(factors)
    doc = _manifest(
        name, version, factors, files, rank, implicit, cold_start, metrics, lineage, parity, created
    )
    files[MANIFEST_FILE] = manifest_mod.dumps(doc)
    return _write_atomically(Path(store) / name, version, files, signer)


def _manifest(
    name, version, factors, files, rank, implicit, cold_start, metrics, lineage, parity, created
) -> dict[str, Any]:
    framework = {k: v for k, v in manifest_mod.framework_versions().items() if k != "joblib"}
    return {
        **manifest_mod.envelope(
            name=name, version=version, files=files, metrics=metrics, parity=parity,
            lineage=lineage, framework=framework, created=created,
        ),
        "kind": KIND_RECOMMENDER,
        "estimator": "pyspark.ml.recommendation.ALSModel (factors, no pickle)",
        "input_schema": None,
        "output_schema": schema_mod.OutputSchema(schema_mod.RECOMMENDATION).to_dict(),
        "classes": None,
        "recommender": {
            "rank": int(rank),
            "implicit": bool(implicit),
            "cold_start": cold_start,
            "users": len(factors.user_ids),
            "items": len(factors.item_ids),
            "interactions": int(factors.seen_items.shape[0]),
            "user_id_type": id_type(factors.user_ids[0]),
            "item_id_type": id_type(factors.item_ids[0]),
        },
    }  # fmt: skip


# --- reading ------------------------------------------------------------------------------


def is_recommender(manifest: dict[str, Any]) -> bool:
    return manifest.get("kind") == KIND_RECOMMENDER


def recommender_info(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``recommender`` block, checked (rank, implicit, cold_start, counts)."""
    info = manifest.get("recommender")
    if not isinstance(info, dict):
        raise ManifestInvalid("a recommender manifest needs its 'recommender' block")
    if info.get("cold_start") not in COLD_START_POLICIES:
        raise ManifestInvalid(f"recommender cold_start must be one of {COLD_START_POLICIES}")
    rank = info.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ManifestInvalid("recommender rank must be a positive integer")
    return info


def _parse_array(fname: str, data: bytes) -> np.ndarray:
    """Read the .npy header, check the dtype, then parse the body with pickling disabled."""
    fh = io.BytesIO(data)
    try:
        major, _minor = np.lib.format.read_magic(fh)
        if major == 1:
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif major in (2, 3):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {major}")
    except ValueError as exc:
        raise RecommenderInvalid(f"{fname} is not a valid .npy file: {exc}") from None
    if dtype.hasobject or dtype != ARRAY_DTYPES[fname]:
        raise RecommenderInvalid(f"{fname}: dtype must be {ARRAY_DTYPES[fname]}, got {dtype}")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise RecommenderInvalid(f"{fname} could not be read: {exc}") from None
    if arr.shape != tuple(shape):
        raise RecommenderInvalid(f"{fname}: shape {arr.shape} differs from its header")
    return arr


def _parse_ids(data: bytes) -> tuple[list, list]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise RecommenderInvalid(f"{IDS_FILE} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RecommenderInvalid(f"{IDS_FILE} must hold an object with 'users' and 'items'")
    return doc.get("users"), doc.get("items")


def load_recommender(
    path: str | os.PathLike, verifier: Any, *, insecure_skip_verify: bool = False
) -> tuple[Factors, dict[str, Any]]:
    """Verify a recommender artifact, then parse its arrays; returns (factors, manifest).

    Signature and every digest are checked on an in-memory snapshot before any file is parsed.
    """
    files, doc = loader._verified_snapshot(Path(path), verifier, insecure_skip_verify)
    if not is_recommender(doc):
        raise WrongKind(f"{path} is not a recommender artifact (kind {manifest_mod.kind(doc)!r})")
    info = recommender_info(doc)
    arrays = {fname: _parse_array(fname, files[fname]) for fname in RECOMMENDER_ARRAYS}
    users, items = _parse_ids(files[IDS_FILE])
    factors = Factors(
        user_ids=users,
        item_ids=items,
        user_factors=arrays["user_factors.npy"],
        item_factors=arrays["item_factors.npy"],
        seen_indptr=arrays["seen_indptr.npy"],
        seen_items=arrays["seen_items.npy"],
        popularity=arrays["popularity.npy"],
    ).validate()
    if factors.rank != info["rank"]:
        raise RecommenderInvalid(f"manifest rank {info['rank']} differs from the factors' rank")
    return factors, doc
