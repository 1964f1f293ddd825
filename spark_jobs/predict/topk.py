"""Batch top-K for a recommender artifact: one output row per input user, like Spark's
``ALSModel.recommendForUserSubset``, scored by the same code as serving's ``:recommend``.

The driver verifies the pickle-free artifact with :func:`artifacts.load_recommender`
(signature and digests before any array is parsed, ``allow_pickle=False``); executors get the
parsed arrays as a broadcast and build one :class:`artifacts.runtime.topk.FactorScorer` per Python
worker, keyed by the digest of the verified manifest. Output columns: the kept columns, the
user, ``recommendations`` (``array<struct<item, score>>``, best first), ``cold_start`` (an
unknown user gets the most popular items), ``model_name`` and ``model_version``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spark_jobs.errors import DataError, UsageError

_SCORERS: dict[str, Any] = {}  # digest → FactorScorer; one model per worker at a time


@dataclass(frozen=True)
class TopKPlan:
    """What each batch needs; pickled into the ``mapInPandas`` closure (the arrays are not)."""

    digest: str
    payload: Any  # Spark broadcast of (Factors, manifest) parsed from the verified artifact
    user_col: str
    keep: tuple[str, ...]
    k: int
    exclude_seen: bool
    on_error: str
    model_name: str
    model_version: str
    rows: Any = None  # Spark accumulators (None outside Spark)
    bad_rows: Any = None
    cold_users: Any = None

    def score(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """The ``mapInPandas`` function."""
        scorer = scorer_for(self.digest, self.payload)
        for batch in batches:
            yield top_k_batch(self, scorer, batch)


def scorer_for(digest: str, payload: Any) -> Any:
    """The scorer for ``digest``, built from the broadcast only on this worker's first call."""
    from artifacts.runtime.topk import FactorScorer

    scorer = _SCORERS.get(digest)
    if scorer is None:
        factors, manifest = payload.value if hasattr(payload, "value") else payload
        scorer = FactorScorer(factors, manifest)
        _SCORERS.clear()
        _SCORERS[digest] = scorer
    return scorer


def top_k_batch(plan: TopKPlan, scorer: Any, batch: pd.DataFrame) -> pd.DataFrame:
    """One Arrow batch of users → their top ``k`` items; a null user follows ``on_error``."""
    users = [_plain(u) for u in batch[plan.user_col].tolist()]
    bad = np.array([u is None for u in users], dtype=bool)
    if bad.any() and plan.on_error == "fail":
        row = int(np.flatnonzero(bad)[0])
        ids = ", ".join(f"{c}={_plain(batch[c].iloc[row])!r}" for c in plan.keep[:3])
        where = f"row {row} ({ids})" if ids else f"row {row}"
        raise DataError(f"{where} of the batch: the user id is null")
    good = ~bad
    answers = scorer.recommend([u for u, g in zip(users, good, strict=True) if g], plan.k,
                               exclude_seen=plan.exclude_seen)  # fmt: skip
    if plan.rows is not None:
        plan.rows.add(len(batch))
        plan.bad_rows.add(int(bad.sum()))
        plan.cold_users.add(sum(a.cold_start for a in answers))
    lists = [
        [{"item": item, "score": float(s)} for item, s in zip(a.items, a.scores, strict=True)]
        for a in answers
    ]
    cold = [a.cold_start for a in answers]
    if plan.on_error == "skip":
        batch = batch[good]
    else:  # null: bad rows keep their place with no recommendations
        lists, cold = _spread(lists, good), _spread(cold, good)
    out = {name: batch[name].to_numpy() for name in plan.keep}
    out[plan.user_col] = batch[plan.user_col].to_numpy()
    out["recommendations"] = lists
    out["cold_start"] = cold
    out["model_name"] = [plan.model_name] * len(batch)
    out["model_version"] = [plan.model_version] * len(batch)
    return pd.DataFrame(out)


def _spread(values: list, good: np.ndarray) -> list:
    it = iter(values)
    return [next(it) if g else None for g in good]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


# --- driver --------------------------------------------------------------------------------


def plan(spark, settings, name: str, version: str, factors, manifest: dict, frame) -> tuple:
    """The plan (arrays broadcast once) and the output schema; the user column checked."""
    from pyspark.sql import types as st

    fields = {f.name: f.dataType for f in frame.schema.fields}
    column = settings.user_col
    if column not in fields:
        raise DataError(f"{settings.data}: no user column {column!r} (--user-col)")
    ints = isinstance(factors.user_ids[0], int)
    kind = fields[column]
    integral = isinstance(kind, st.IntegralType)
    if ints != integral:
        wanted = "integers" if ints else "strings"
        raise DataError(
            f"{settings.data}: column {column} is {kind.simpleString()}; the model's user ids "
            f"are {wanted}"
        )
    keep = tuple(c for c in settings.keep if c != column)
    known = {column, *keep, *settings.drop}
    unknown = [c for c in frame.columns if c not in known]
    if unknown:
        raise DataError(
            f"{settings.data}: unknown column(s) {', '.join(unknown)} (copy them with --keep "
            "or ignore them with --drop)"
        )
    item_type = st.LongType() if isinstance(factors.item_ids[0], int) else st.StringType()
    entry = st.StructType(
        [st.StructField("item", item_type, False), st.StructField("score", st.FloatType(), False)]
    )
    schema = st.StructType(
        [*(st.StructField(c, fields[c], True) for c in keep),
         st.StructField(column, kind, True),
         st.StructField("recommendations", st.ArrayType(entry, False), True),
         st.StructField("cold_start", st.BooleanType(), True),
         st.StructField("model_name", st.StringType(), False),
         st.StructField("model_version", st.StringType(), False)]
    )  # fmt: skip
    sc = spark.sparkContext
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    the_plan = TopKPlan(
        digest=digest, payload=sc.broadcast((factors, manifest)), user_col=column,
        keep=keep, k=settings.k, exclude_seen=not settings.include_seen,
        on_error=settings.on_error, model_name=name, model_version=version,
        rows=sc.accumulator(0), bad_rows=sc.accumulator(0), cold_users=sc.accumulator(0),
    )  # fmt: skip
    return the_plan, schema


def read_users(spark, settings):
    """The users table (Parquet or a Spark table; CSV ids would lose their type)."""
    from spark_jobs import sources

    fmt = settings.input_format
    if fmt == "auto":
        fmt = sources.detect(settings.data)
    if fmt == "parquet":
        return spark.read.parquet(settings.data)
    if fmt == "table":
        return spark.table(settings.data)
    raise UsageError("recommendations are scored from Parquet or a table of users (--data)")


def summary(settings, name: str, version: str, the_plan: TopKPlan, uri: str, seconds: float):
    rows, bad = the_plan.rows.value, the_plan.bad_rows.value
    return {
        "model": {"name": name, "version": version, "task": "recommendation"},
        "data": settings.data,
        "output": uri,
        "format": settings.format,
        "k": settings.k,
        "exclude_seen": not settings.include_seen,
        "on_error": settings.on_error,
        "rows_read": rows,
        "rows_written": rows - bad if settings.on_error == "skip" else rows,
        "bad_rows": bad,
        "cold_start_users": the_plan.cold_users.value,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds > 0 else None,
    }
