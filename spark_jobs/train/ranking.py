"""Ranking metrics of a recommender: precision@k, recall@k and NDCG@k on held-out interactions.

The lists being judged are what serving answers with ``exclude_seen``: the top k items by the
exported float32 factors, never an item the user had in training. They are computed on the
executors (``mapInPandas`` over user rows, the factor arrays broadcast once) and scored by
MLlib's ``RankingEvaluator`` against each user's relevant held-out items:

- implicit feedback: every held-out interaction with a positive strength;
- explicit ratings: held-out items rated at or above the mean training rating (recorded in the
  metrics as ``relevance_threshold``), so a low rating does not count as a hit.

Only users with at least one relevant held-out item known to the model are scored.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

METRICS = {"precision": "precisionAtK", "recall": "recallAtK", "ndcg": "ndcgAtK"}
_BATCH = 256
"""Users scored per matrix product on an executor (bounds memory at batch × items floats)."""


def top_k_unseen(
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    seen_indptr: np.ndarray,
    seen_items: np.ndarray,
    users: np.ndarray,
    k: int,
) -> list[np.ndarray]:
    """Per user row in ``users``: the indices of the k best-scoring items not seen in training."""
    result = []
    for start in range(0, len(users), _BATCH):
        rows = users[start : start + _BATCH]
        scores = user_factors[rows] @ item_factors.T
        for j, user in enumerate(rows):
            scores[j, seen_items[seen_indptr[user] : seen_indptr[user + 1]]] = -np.inf
        n = min(k, scores.shape[1])
        best = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        for j in range(len(rows)):
            ranked = best[j][np.argsort(-scores[j, best[j]], kind="stable")]
            result.append(ranked[np.isfinite(scores[j, ranked])])
    return result


def relevant(held_out: DataFrame, threshold: float | None) -> DataFrame:
    """``_u`` → ``relevant`` (array of item indices as doubles) from known held-out pairs."""
    kept = held_out.where(sf.col("_r") > 0 if threshold is None else sf.col("_r") >= threshold)
    return kept.groupBy("_u").agg(
        sf.array_distinct(sf.collect_list(sf.col("_i").cast("double"))).alias("relevant")
    )


def recommended(users: DataFrame, shared: Broadcast, k: int) -> DataFrame:
    """``_u`` → ``recommended`` (the top-k unseen item indices as doubles), on the executors.

    ``shared`` is the broadcast (user factors, item factors, seen indptr, seen items).
    """

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        uf, itf, indptr, seen = shared.value
        for batch in batches:
            rows = batch["_u"].to_numpy(dtype=np.int64)
            lists = top_k_unseen(uf, itf, indptr, seen, rows, k)
            yield pd.DataFrame(
                {"_u": batch["_u"], "recommended": [r.astype(np.float64) for r in lists]}
            )

    return users.select("_u").mapInPandas(score, "_u int, recommended array<double>")


def evaluate(
    spark: SparkSession, held_out: DataFrame, factors, k: int, threshold: float | None
) -> dict:
    """precision@k, recall@k, NDCG@k (RankingEvaluator) and how many users they average."""
    from pyspark.ml.evaluation import RankingEvaluator

    shared = spark.sparkContext.broadcast(
        (factors.user_factors, factors.item_factors, factors.seen_indptr, factors.seen_items)
    )
    # one scoring task per core: each task pays for a Python worker and the broadcast arrays,
    # so the 200 partitions a shuffle leaves behind would cost far more than the scoring
    parallelism = max(1, spark.sparkContext.defaultParallelism)
    wanted = relevant(held_out, threshold).coalesce(parallelism).persist()
    judged = recommended(wanted, shared, k).join(wanted, "_u").persist()
    results: dict[str, float | int] = {"users_ranked": judged.count()}
    if results["users_ranked"]:  # no relevant held-out item: no figure rather than a NaN
        for name, metric in METRICS.items():
            evaluator = RankingEvaluator(
                predictionCol="recommended", labelCol="relevant", metricName=metric, k=k
            )
            results[f"{name}@{k}"] = float(evaluator.evaluate(judged))
    judged.unpersist()
    wanted.unpersist()
    shared.destroy()
    return results
