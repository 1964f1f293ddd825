"""Export of a fitted ALS model to plain arrays, and the parity checks that gate the artifact.

``collect`` turns the model into ``artifacts.recommender.Factors``: user and item factors as
float32 matrices whose row r is the id with index r, the original ids in that order, the
training interactions per user as a CSR (``seen_indptr``/``seen_items``) and each item's
popularity (the number of distinct training users who had it).

``check_parity`` then compares the arrays with Spark itself, and refuses the export (exit 4,
nothing written) when they disagree:

- scores: Spark's ``transform`` on held-out (user, item) pairs against the float32 dot product
  of the exported rows. The error is relative to the sum of the absolute products
  ``Σ|u_j·v_j|``, the scale float32 rounding works at, so a score that cancels to about zero is
  not held to a bound no float32 sum can meet. Tolerance 1e-5.
- top-K: ``recommendForUserSubset`` against numpy's top-K over all items (seen ones included,
  as Spark does) for a seeded sample of users. The sets must be equal up to ties: an item in
  one list and not the other must score within the tolerance of the list's k-th score, and
  every score Spark reports must match ours within the tolerance.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

import artifacts
from spark_jobs.errors import DataError, ExportError

TOLERANCE = 1e-5
TOP_K_USERS = 50
"""Users whose Spark top-K is compared with ours."""
_TINY = np.finfo(np.float32).tiny


def _matrix(frame: DataFrame, n: int, what: str) -> np.ndarray:
    """A factor DataFrame (``id``, ``features``) as a float32 matrix in id order."""
    table = frame.orderBy("id").toPandas()
    ids = table["id"].to_numpy()
    if len(ids) != n or not np.array_equal(ids, np.arange(n)):
        raise ExportError(f"ALS returned {len(ids)} {what} factor rows for {n} indexed {what}s")
    return np.stack([np.asarray(v, dtype=np.float32) for v in table["features"]])


def collect(model, train: DataFrame, user_ids: list, item_ids: list):
    """The fitted model and its training pairs as ``Factors`` (validated); ``user_ids[r]`` is
    the original id of ALS user r, likewise ``item_ids``."""
    from artifacts.recommender import Factors

    user_factors = _matrix(model.userFactors, len(user_ids), "user")
    item_factors = _matrix(model.itemFactors, len(item_ids), "item")
    pairs = train.select("_u", "_i").distinct().orderBy("_u", "_i").toPandas()
    rows = pairs["_u"].to_numpy(dtype=np.int64)
    seen_items = pairs["_i"].to_numpy(dtype=np.int32)
    counts = np.bincount(rows, minlength=len(user_ids))
    seen_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    popularity = np.bincount(seen_items, minlength=len(item_ids)).astype(np.float32)
    factors = Factors(
        user_ids=user_ids,
        item_ids=item_ids,
        user_factors=user_factors,
        item_factors=item_factors,
        seen_indptr=seen_indptr,
        seen_items=seen_items,
        popularity=popularity,
    )
    try:
        return factors.validate()
    except artifacts.ArtifactError as exc:  # RecommenderInvalid
        raise ExportError(f"the exported factors are inconsistent: {exc}") from exc


def _relative(ours: np.ndarray, theirs: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.abs(ours.astype(np.float64) - theirs) / np.maximum(scale, _TINY)


def score_parity(model, held_out: DataFrame, factors, rows: int) -> dict:
    """Spark ``transform`` vs exported factors on up to ``rows`` held-out known pairs."""
    sample = held_out.select("_u", "_i", "_key").orderBy("_key").limit(rows)
    got = model.transform(sample).select("_u", "_i", "prediction").toPandas()
    if got.empty:
        raise DataError(
            "no held-out rating has both its user and its item in the training split, so "
            "the export cannot be checked; use more data or another --test-fraction/--seed"
        )
    u = factors.user_factors[got["_u"].to_numpy()]
    v = factors.item_factors[got["_i"].to_numpy()]
    ours = np.einsum("ij,ij->i", u, v)
    scale = np.einsum("ij,ij->i", np.abs(u), np.abs(v)).astype(np.float64)
    error = _relative(ours, got["prediction"].to_numpy(dtype=np.float64), scale)
    worst = float(error.max())
    return {"rows": len(got), "max_relative_error": worst, "passed": worst <= TOLERANCE}


def _compare_top_k(scores: np.ndarray, scale: np.ndarray, spark_top: list, k: int) -> dict:
    """One user's lists: Spark's [(item, score)] vs ours from ``scores`` (all items)."""
    n = min(k, len(scores))
    ours = np.argsort(-scores, kind="stable")[:n]
    boundary = scores[ours[-1]]
    theirs = np.array([item for item, _ in spark_top], dtype=np.int64)
    their_scores = np.array([score for _, score in spark_top], dtype=np.float64)
    tol = TOLERANCE * scale
    score_error = _relative(scores[theirs], their_scores, scale[theirs]) if n else np.zeros(0)
    differing = np.setxor1d(ours, theirs)
    tied = np.abs(scores[differing].astype(np.float64) - boundary) <= np.maximum(
        tol[differing], TOLERANCE * scale[ours[-1]]
    )
    ok = len(theirs) == n and bool(tied.all()) and bool((score_error <= TOLERANCE).all())
    return {"ok": ok, "ties": len(differing) // 2, "max_error": float(score_error.max(initial=0))}


def top_k_parity(spark: SparkSession, model, factors, k: int, seed: int) -> dict:
    """Spark's ``recommendForUserSubset`` vs numpy top-K over all items, on sampled users."""
    n_users = len(factors.user_ids)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n_users, size=min(TOP_K_USERS, n_users), replace=False))
    users = spark.createDataFrame([(int(u),) for u in sample], "_u int")
    recs = model.recommendForUserSubset(users, k).select(
        "_u", sf.col("recommendations._i").alias("items"), sf.col("recommendations.rating")
    )
    got = {row["_u"]: list(zip(row["items"], row["rating"], strict=True)) for row in recs.collect()}
    abs_items = np.abs(factors.item_factors)
    mismatched, ties, worst = [], 0, 0.0
    for user in sample:
        u = factors.user_factors[user]
        result = _compare_top_k(
            factors.item_factors @ u,
            (abs_items @ np.abs(u)).astype(np.float64),
            got.get(int(user), []),
            k,
        )
        ties += result["ties"]
        worst = max(worst, result["max_error"])
        if not result["ok"]:
            mismatched.append(factors.user_ids[user])
    return {
        "users": len(sample),
        "k": k,
        "tied_swaps": ties,
        "max_relative_error": worst,
        "mismatched_users": mismatched[:10],
        "passed": not mismatched,
    }


def check_parity(spark: SparkSession, model, held_out: DataFrame, factors, settings) -> dict:
    """Both checks; an ExportError naming what disagreed when either fails."""
    scores = score_parity(model, held_out, factors, settings.parity_rows)
    top_k = top_k_parity(spark, model, factors, settings.k, settings.seed)
    parity = {"tolerance": TOLERANCE, "rows": scores["rows"], "scores": scores, "top_k": top_k}
    parity["passed"] = bool(scores["passed"] and top_k["passed"])
    if not scores["passed"]:
        raise ExportError(
            f"exported factors disagree with Spark's transform: max relative error "
            f"{scores['max_relative_error']:.3g} > {TOLERANCE:g} on {scores['rows']} pairs"
        )
    if not top_k["passed"]:
        raise ExportError(
            f"exported factors disagree with Spark's recommendForUserSubset top-{settings.k} "
            f"beyond ties for users {top_k['mismatched_users']}"
        )
    return parity
