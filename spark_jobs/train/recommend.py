"""The recommendation path: read ratings → split → index ids → fit ALS → export → evaluate → save.

``--task recommendation`` routes ``spark_jobs.train.job.run`` here. The stages mirror the classifier
path (signer and target version checked before Spark works, one progress line per stage,
lineage in the manifest, exit codes from ``spark_jobs.errors``), but the model is MLlib's ALS
and the artifact is pickle-free factor arrays (``artifacts.recommender``).

- **Split** by rating rows: a row is held out when the seeded hash of its (user, item) pair
  falls below ``--test-fraction``, so duplicates of a pair stay together and the split depends
  only on the data and the seed.
- **Ids** are indexed from the training split only, in natural order (numbers by value, strings
  by code point): the artifact knows exactly the users and items the factors were fitted on,
  and held-out rows whose user or item never occurs in training count as cold (not scored).
- **Metrics** on the held-out rows whose user and item are known: RMSE and MAE (explicit
  ratings), precision@k, recall@k and NDCG@k (both kinds; see ``spark_jobs.train.ranking``).
  They rank with the exported factors, so the export comes before the evaluation here.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from spark_jobs import lineage, sources
from spark_jobs.destination import signer_for, write_recommender
from spark_jobs.errors import DataError, UsageError
from spark_jobs.progress import stage
from spark_jobs.session import data_errors, get_session
from spark_jobs.settings import JobSettings
from spark_jobs.sources import ratings as ratings_mod
from spark_jobs.train import factors as factors_mod
from spark_jobs.train import ranking

log = logging.getLogger(__name__)

_BUCKETS = 1_000_003
CHECKPOINT_INTERVAL = 5
"""ALS iterations between checkpoints: without them the lineage of ten iterations already
overflows an executor's stack when a task is deserialised."""
_TEMP_PREFIX = "als-checkpoints-"


def checkpoint_plan(master: str, requested: str | None, current: str | None) -> str | None:
    """Where ALS checkpoints: ``--checkpoint-dir``, the session's own folder, or None.

    None means a temporary local folder, which only works when every executor shares the
    driver's disk: a ``local`` master. Any other master (``spark://``, ``k8s://``, ``yarn``)
    without a folder is refused (exit 2, one line) before anything is read: ALS without
    checkpoints would die of a stack overflow in an executor after minutes of work, and no
    storage every executor shares can be guessed from the master alone.
    """
    if requested:
        return requested
    if current and _TEMP_PREFIX not in current:
        return current
    if not master.startswith("local"):
        raise UsageError(
            f"ALS needs a checkpoint folder every executor can reach on master {master}: "
            "pass --checkpoint-dir (e.g. hdfs://…/checkpoints) or --conf spark.checkpoint.dir=…"
        )
    return None


@contextmanager
def checkpoints(spark: SparkSession, folder: str | None) -> Iterator[None]:
    """Checkpoint into ``folder`` (see :func:`checkpoint_plan`), or a temporary local one."""
    sc = spark.sparkContext
    if folder:
        if folder != sc.getCheckpointDir():  # setting it again would nest a new sub-folder
            sc.setCheckpointDir(folder)
        yield
        return
    with tempfile.TemporaryDirectory(prefix=_TEMP_PREFIX) as scratch:
        sc.setCheckpointDir(scratch)
        yield


@dataclass
class Indexed:
    """Rating rows with integer ids for ALS (``_u``, ``_i``, ``_r``) and the id maps."""

    train: DataFrame
    held_out: DataFrame
    """Held-out rows whose user and item are both in training (the others are cold)."""
    users: DataFrame
    """``user`` (original id) → ``_u``."""
    items: DataFrame
    user_ids: list
    """Original user ids; position r is ``_u`` = r."""
    item_ids: list
    sizes: dict


@dataclass
class AlsTrained:
    """What fit hands to evaluate, export and save."""

    estimator: object
    model: object
    data: Indexed
    metrics: dict


def split(frame: DataFrame, test_fraction: float) -> tuple[DataFrame, DataFrame]:
    """(train, test) by the seeded pair hash ``_key``."""
    q = sf.pmod("_key", sf.lit(_BUCKETS)) / sf.lit(float(_BUCKETS))
    return frame.where(q >= test_fraction), frame.where(q < test_fraction)


def id_index(
    spark: SparkSession, train: DataFrame, column: str, position: str
) -> tuple[DataFrame, list]:
    """Distinct ids of ``column`` in training, sorted, numbered 0… in ``position`` (int).

    The ids come to the driver anyway (they are the artifact's ``ids.json``); sorting them
    there saves a distributed sort and a numbering pass. Python's order of strings (code
    points) is Spark's (UTF-8 bytes).
    """
    ids = sorted(row[0] for row in train.select(column).distinct().collect())
    schema = st.StructType(
        [
            st.StructField(column, train.schema[column].dataType, False),
            st.StructField(position, st.IntegerType(), False),
        ]
    )
    numbered = [(value, row) for row, value in enumerate(ids)]
    return spark.createDataFrame(numbered, schema).persist(), ids


def index(spark: SparkSession, frame: DataFrame, settings: JobSettings) -> Indexed:
    """Split, then number the training ids and translate both parts."""
    train_raw, test_raw = split(frame, settings.test_fraction)
    users, user_ids = id_index(spark, train_raw, ratings_mod.USER, "_u")
    items, item_ids = id_index(spark, train_raw, ratings_mod.ITEM, "_i")

    def translate(part: DataFrame, how: str) -> DataFrame:
        joined = part.join(users, ratings_mod.USER, how).join(items, ratings_mod.ITEM, how)
        return joined.select("_u", "_i", sf.col(ratings_mod.RATING).alias("_r"), "_key")

    train = translate(train_raw, "inner").persist()
    test = translate(test_raw, "left")
    is_known = sf.col("_u").isNotNull() & sf.col("_i").isNotNull()
    counts = test.agg(sf.count(sf.lit(1)), sf.count(sf.when(is_known, 1))).first()
    sizes = {
        "train": train.count(),
        "test": counts[0],
        "users": len(user_ids),
        "items": len(item_ids),
        "test_known": counts[1],
        "test_cold": counts[0] - counts[1],
    }
    known = test.where(is_known).persist()
    return Indexed(train, known, users, items, user_ids, item_ids, sizes)


def estimator(settings: JobSettings, blocks: int):
    """MLlib's ALS configured from the settings, with ``blocks`` user and item blocks."""
    from pyspark.ml.recommendation import ALS

    return ALS(
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        checkpointInterval=CHECKPOINT_INTERVAL,
        rank=settings.rank,
        maxIter=settings.max_iter,
        regParam=settings.reg_param,
        alpha=settings.alpha,
        implicitPrefs=settings.implicit,
        coldStartStrategy=settings.cold_start,
        userCol="_u",
        itemCol="_i",
        ratingCol="_r",
        seed=settings.seed,
    )


def fit(spark: SparkSession, settings: JobSettings, frame: DataFrame, timings: dict) -> AlsTrained:
    """Split, index and fit; metrics are filled in by ``evaluate``."""
    with stage("split", timings) as st_:
        data = index(spark, frame, settings)
        st_.rows, st_.facts = data.sizes["train"] + data.sizes["test"], dict(data.sizes)
    if not data.sizes["train"] or not data.sizes["test_known"]:
        raise DataError(
            f"too few ratings to hold out known pairs ({data.sizes['train']} training, "
            f"{data.sizes['test_known']} held out with a known user and item)"
        )
    with stage("fit", timings) as st_:
        als = estimator(settings, max(1, spark.sparkContext.defaultParallelism))
        model = als.fit(data.train)
        st_.facts = {"rank": settings.rank, "implicit": settings.implicit}
    return AlsTrained(als, model, data, {})


def evaluate(spark: SparkSession, trained: AlsTrained, factors, settings: JobSettings) -> dict:
    """Held-out figures: RMSE/MAE (explicit) and the ranking metrics, under ``test``."""
    from pyspark.ml.evaluation import RegressionEvaluator

    held_out = trained.data.held_out
    test: dict[str, float | int] = {
        "pairs": trained.data.sizes["test_known"],
        "cold_pairs": trained.data.sizes["test_cold"],
        "k": settings.k,
    }
    threshold = None
    if not settings.implicit:
        predicted = trained.model.transform(held_out)
        for metric in ("rmse", "mae"):
            evaluator = RegressionEvaluator(
                metricName=metric, labelCol="_r", predictionCol="prediction"
            )
            test[metric] = float(evaluator.evaluate(predicted))
        threshold = float(trained.data.train.agg(sf.mean("_r")).first()[0])
        test["relevance_threshold"] = threshold
    test.update(ranking.evaluate(spark, held_out, factors, settings.k, threshold))
    return {"test": test}


def export(spark: SparkSession, trained: AlsTrained, settings: JobSettings, timings: dict):
    """The fitted factors as arrays, and their parity against Spark's own top-K."""
    with stage("export", timings) as st_:
        factors = factors_mod.collect(
            trained.model, trained.data.train, trained.data.user_ids, trained.data.item_ids
        )
        parity = factors_mod.check_parity(
            spark, trained.model, trained.data.held_out, factors, settings
        )
        st_.facts = {"users": len(factors.user_ids), "items": len(factors.item_ids)}
        st_.facts["passed"] = parity["passed"]
    return factors, parity


def lineage_data(data: ratings_mod.Ratings) -> dict:
    """The data part of the lineage record beyond source, format and digest."""
    return {
        "rows": data.rows,
        "columns": data.columns,
        "user_id_type": data.user_type,
        "item_id_type": data.item_type,
    }


def _release(data: ratings_mod.Ratings, trained: AlsTrained) -> None:
    for frame in (trained.data.train, trained.data.held_out, trained.data.users, data.frame):
        frame.unpersist()
    trained.data.items.unpersist()


def _summary(metrics: dict, k: int) -> str:
    test = metrics["test"]
    parts = [f"RMSE {test['rmse']:.4g}"] if "rmse" in test else []
    if f"ndcg@{k}" in test:
        parts.append(f"NDCG@{k} {test[f'ndcg@{k}']:.4f}")
    return ", ".join(parts) or "no held-out figures"


def run(settings: JobSettings, spark: SparkSession | None = None) -> Path:
    """Train ALS, export and check the factors, save the artifact; returns its directory."""
    if settings.data is None:
        raise UsageError("--task recommendation needs --data (a ratings CSV, Parquet or table)")
    signer = signer_for(settings.signing_key, settings.signature_scheme, settings.artifact_dir)
    spark = spark or get_session(f"train-{settings.artifact_name}")
    sc = spark.sparkContext
    folder = checkpoint_plan(sc.master, settings.checkpoint_dir, sc.getCheckpointDir())
    timings: dict[str, float] = {}
    fmt, source = sources.resolve_source(settings)
    with stage("read", timings) as st_, data_errors(source):
        data = ratings_mod.read(spark, settings, fmt, source)
        st_.rows = data.rows
        st_.facts = {"format": fmt, "users": data.user_type, "items": data.item_type}
    with checkpoints(spark, folder):
        with data_errors(source):
            trained = fit(spark, settings, data.frame, timings)
        factors, parity = export(spark, trained, settings, timings)
        with stage("evaluate", timings) as st_:
            trained.metrics = evaluate(spark, trained, factors, settings)
            st_.rows = trained.data.sizes["test_known"]
            st_.facts = {k: v for k, v in trained.metrics["test"].items() if isinstance(v, float)}
        with stage("save", timings):
            record = lineage.record(
                {"source": data.source, "format": data.format, **lineage_data(data)},
                rows=trained.data.sizes,
                params=settings.to_lineage(),
                model_params={"ALS": lineage.params(trained.estimator)},
                spark=spark,
            )
            record["timings_s"] = dict(timings)
            path = write_recommender(
                factors,
                settings.output,
                settings.artifact_name,
                signer=signer,
                version=settings.version,
                rank=settings.rank,
                implicit=settings.implicit,
                cold_start=settings.cold_start,
                metrics=trained.metrics,
                parity=parity,
                lineage=record,
            )
    _release(data, trained)
    log.info("artifact written: %s (%s)", path, _summary(trained.metrics, settings.k))
    return path
