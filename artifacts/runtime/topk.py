"""Top-K recommendations and pair scores from ALS factors: shared by serving and batch scoring.

Scores are the dot products of a user's and an item's factors, as Spark's ``ALSModel``
computes them, in float32. Top-K takes one matrix product per chunk of users and
``argpartition`` (linear in the catalogue) before sorting only the K winners, so a catalogue of
100k items costs one pass over the item factors per chunk.

- ``exclude_seen`` removes the items a user interacted with in training (the artifact's CSR
  rows) before ranking.
- A user the model does not know (not in training) gets the *cold-start* answer: the most
  popular items (most training interactions), with ``cold_start`` set and each item's score
  being its training interaction count — not a predicted rating.
- Pair scores are NaN where the user or the item is unknown; callers apply the trained
  ``coldStartStrategy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..recommender import Factors, recommender_info

#: Users scored per matrix product in a batch: bounds the (users × items) float32 buffer.
CHUNK_USERS = 32
_EXCLUDED = np.float32(-np.inf)


@dataclass(frozen=True)
class Recommendation:
    """One user's answer: item ids best first, their scores, and whether it is the fallback."""

    user: Any
    items: list[Any]
    scores: np.ndarray  # float32
    cold_start: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "items": [
                {"item": item, "score": score}
                for item, score in zip(self.items, self.scores.tolist(), strict=True)
            ],
            "cold_start": self.cold_start,
        }


class FactorScorer:
    """Top-K and pair scores for one loaded recommender artifact; immutable after construction."""

    def __init__(self, factors: Factors, manifest: dict[str, Any]) -> None:
        info = recommender_info(manifest)
        self.rank = int(info["rank"])
        self.implicit = bool(info["implicit"])
        self.cold_start_policy: str = info["cold_start"]
        self.user_ids_are_ints = isinstance(factors.user_ids[0], int)
        self.item_ids_are_ints = isinstance(factors.item_ids[0], int)
        self.n_users, self.n_items = len(factors.user_ids), len(factors.item_ids)
        self._users = {uid: row for row, uid in enumerate(factors.user_ids)}
        self._items = {iid: row for row, iid in enumerate(factors.item_ids)}
        self._user_ids = list(factors.user_ids)
        self._item_ids = list(factors.item_ids)
        self._user_factors = np.ascontiguousarray(factors.user_factors, dtype=np.float32)
        # (rank, items), contiguous: a user row times this is one pass over memory in BLAS
        self._item_factors_t = np.ascontiguousarray(factors.item_factors.T, dtype=np.float32)
        self._seen_indptr = factors.seen_indptr
        self._seen_items = factors.seen_items
        popularity = factors.popularity.astype(np.float32)
        self._popular = np.lexsort((np.arange(self.n_items), -popularity))  # ties: row order
        self._popularity = popularity

    def factors(self) -> Factors:
        """The factors this scorer was built from (its own arrays, nothing copied): what batch
        scoring broadcasts to its executors."""
        return Factors(
            user_ids=self._user_ids,
            item_ids=self._item_ids,
            user_factors=self._user_factors,
            item_factors=self._item_factors_t.T,
            seen_indptr=self._seen_indptr,
            seen_items=self._seen_items,
            popularity=self._popularity,
        )

    def id_problem(self, value: Any, which: str) -> str | None:
        """Why ``value`` cannot be a ``which`` ("user" or "item") id of this model, or None:
        ids are strings, or integers (never bools), as in training."""
        ints = self.user_ids_are_ints if which == "user" else self.item_ids_are_ints
        ok = (
            (isinstance(value, int) and not isinstance(value, bool))
            if ints
            else isinstance(value, str)
        )
        if ok:
            return None
        text = repr(value)
        shown = text if len(text) <= 40 else text[:37] + "..."
        wanted = "integers" if ints else "strings"
        return f"{which} ids of this model are {wanted}, got {type(value).__name__} {shown}"

    # --- top-K --------------------------------------------------------------------------------
    def recommend(
        self, users: Sequence[Any], k: int, *, exclude_seen: bool = True
    ) -> list[Recommendation]:
        """Top ``k`` items for each user (already type-checked ids), in request order."""
        rows = [self._users.get(user) for user in users]
        known = [i for i, row in enumerate(rows) if row is not None]
        answers: list[Recommendation | None] = [None] * len(users)
        for start in range(0, len(known), CHUNK_USERS):
            chunk = known[start : start + CHUNK_USERS]
            chunk_rows = np.fromiter((rows[i] for i in chunk), dtype=np.int64, count=len(chunk))
            ranked = self._top_k(chunk_rows, k, exclude_seen)
            for i, (top, scores) in zip(chunk, ranked, strict=True):
                answers[i] = Recommendation(users[i], self._ids(top), scores, cold_start=False)
        cold = None
        for i, row in enumerate(rows):
            if row is None:
                cold = cold or self._cold_start(k)
                answers[i] = Recommendation(users[i], cold[0], cold[1], cold_start=True)
        return answers  # type: ignore[return-value] - every slot is filled above

    def _top_k(
        self, user_rows: np.ndarray, k: int, exclude_seen: bool
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        scores = self._user_factors[user_rows] @ self._item_factors_t  # (users, items) float32
        if exclude_seen:
            for j, row in enumerate(user_rows.tolist()):
                scores[j, self._seen_items[self._seen_indptr[row] : self._seen_indptr[row + 1]]] = (
                    _EXCLUDED
                )
        kk = min(k, self.n_items)
        if kk < self.n_items:  # the kk largest, unordered: linear in the catalogue
            part = np.argpartition(scores, self.n_items - kk, axis=1)[:, self.n_items - kk :]
        else:
            part = np.broadcast_to(np.arange(self.n_items), scores.shape)
        results = []
        for j in range(scores.shape[0]):
            cand = part[j]
            cand_scores = scores[j, cand]
            order = np.lexsort((cand, -cand_scores))  # best first; ties by item row
            top, top_scores = cand[order], cand_scores[order]
            keep = top_scores != _EXCLUDED
            results.append((top[keep], top_scores[keep]))
        return results

    def _cold_start(self, k: int) -> tuple[list[Any], np.ndarray]:
        top = self._popular[:k]
        return self._ids(top), self._popularity[top]

    def _ids(self, rows: np.ndarray) -> list[Any]:
        ids = self._item_ids
        return [ids[r] for r in rows.tolist()]

    # --- pairs --------------------------------------------------------------------------------
    def score_pairs(self, users: Sequence[Any], items: Sequence[Any]) -> np.ndarray:
        """float32 score per (user, item); NaN where either is unknown to the model."""
        u = np.fromiter((self._users.get(x, -1) for x in users), dtype=np.int64, count=len(users))
        i = np.fromiter((self._items.get(x, -1) for x in items), dtype=np.int64, count=len(items))
        known = (u >= 0) & (i >= 0)
        scores = np.full(len(users), np.nan, dtype=np.float32)
        if known.any():
            uf, itf = self._user_factors[u[known]], self._item_factors_t[:, i[known]]
            scores[known] = np.einsum("ij,ji->i", uf, itf)
        return scores
