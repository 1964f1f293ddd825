"""The predict job's driver: verify → read → check columns → score → write → rename.

Everything that can be refused is refused before Spark does any work: the artifact is
verified and opened by :func:`artifacts.runtime.open` exactly as serving opens it (signature
over the stored bytes, every digest, ``<name>/<version>`` identity, library versions) before a
session even starts; the output is checked next, then the input's columns against the model's
schema. Executors score with the same runtime :class:`~artifacts.runtime.Model`
(:mod:`spark_jobs.predict.scoring`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyspark.accumulators import AccumulatorParam

import artifacts
from artifacts import runtime
from artifacts.runtime import Model
from artifacts.schema import CLASSIFICATION, REGRESSION, VECTOR, InputSchema
from spark_jobs import sources
from spark_jobs.errors import DataError, UsageError
from spark_jobs.predict import scoring, topk
from spark_jobs.predict.errors import ModelRefused, OutputWriteError
from spark_jobs.predict.output import SUMMARY_FILE, Target, summary_bytes
from spark_jobs.predict.settings import PredictSettings
from spark_jobs.progress import stage
from spark_jobs.session import get_session

log = logging.getLogger(__name__)

_NUMERIC = ("byte", "short", "int", "bigint", "long", "float", "double")
_EXECUTOR_ERROR = re.compile(r"(DataError|VersionSkew): (.+)")
_MAX_EXAMPLES = 10


def verify(settings: PredictSettings) -> Model:
    """Resolve and open the artifact as serving does, or refuse: nothing else has run yet."""
    store, name, version = settings.model_ref()
    try:
        verifier = artifacts.load_verifier(settings.verify_key, scheme=settings.signature_scheme)
    except (artifacts.ArtifactError, OSError, ValueError) as exc:
        raise UsageError(f"verification key {settings.verify_key}: {exc}") from exc
    try:
        ref = artifacts.resolve(store, name, version or artifacts.LATEST)
    except (artifacts.ArtifactError, ValueError) as exc:
        raise UsageError(f"--model {settings.model}: {exc}") from exc
    try:  # the driver never scores: the executors compile their own (exact) paths
        return runtime.open(ref, verifier, skew_policy=settings.version_skew, compiled=False)
    except (artifacts.ArtifactError, ValueError) as exc:
        raise ModelRefused(f"refusing {ref.path}: {type(exc).__name__}: {exc}") from exc


# --- reading and checking the input --------------------------------------------------------


@dataclass(frozen=True)
class Input:
    frame: Any  # pyspark DataFrame
    kind: str
    text: bool
    features: tuple[str, ...]
    keep: tuple[str, ...]


def read(spark, settings: PredictSettings, model: Model) -> Input:
    """The input as a DataFrame the scoring function understands, columns checked."""
    fmt = settings.input_format
    if fmt == "auto":
        fmt = sources.detect(settings.data)
    if model.inputs.is_tabular:
        if fmt not in ("parquet", "csv", "table"):
            raise UsageError(f"{model.name} is tabular; --data must be Parquet, CSV or a table")
        return _tabular(spark, settings, model, fmt)
    if model.inputs.kind == VECTOR:
        if fmt not in ("parquet", "table"):
            raise UsageError(
                f"{model.name} takes a feature vector; --data must be Parquet or a table"
            )
        return _vectors(spark, settings, model, fmt)
    if not model.inputs.is_image:
        raise ModelRefused(f"{model.name}: {model.inputs.kind} models are not scored in batch yet")
    if fmt == "images":
        return _images(spark, settings)
    if fmt == "idx":
        return _idx(spark, settings)
    raise UsageError(f"{model.name} takes images; --data must be an image folder or IDX file")


def _tabular(spark, settings: PredictSettings, model: Model, fmt: str) -> Input:
    if fmt == "csv":
        frame = spark.read.option("header", True).option("inferSchema", False).csv(settings.data)
    elif fmt == "parquet":
        frame = spark.read.parquet(settings.data)
    else:
        frame = spark.table(settings.data)
    types = dict(frame.dtypes)
    schema = model.inputs
    problems = _unknown_and_kept(frame.columns, set(schema.column_names), settings)
    missing = [c.name for c in schema.columns if c.name not in types and not c.nullable]
    if missing:
        problems.append(f"missing required column(s) {', '.join(missing)}")
    text = fmt == "csv"
    if not text:
        problems += _type_problems(schema, types)
    if problems:
        raise DataError(f"{settings.data}: " + "; ".join(problems))
    features = tuple(c.name for c in schema.columns if c.name in types)
    columns = list(dict.fromkeys([*settings.keep, *features]))
    from pyspark.sql import functions as sf

    selected = [
        sf.col(_q(c)).cast("double").alias(c) if types[c].startswith("decimal") else sf.col(_q(c))
        for c in columns
    ]
    return Input(frame.select(*selected), scoring.TABULAR, text, features, settings.keep)


def _vectors(spark, settings: PredictSettings, model: Model, fmt: str) -> Input:
    """One vector per row: an ML vector or numeric array column, or the model's named columns.

    Rows are checked on the executors as serving checks a request (width, finite values, the
    trained range); a column that can never hold a vector is refused here, before any work.
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    frame = spark.read.parquet(settings.data) if fmt == "parquet" else spark.table(settings.data)
    fields = {f.name: f.dataType for f in frame.schema.fields}
    names = list(model.inputs.names or ())
    column = settings.features_col
    if column in fields:
        kind = fields[column]
        if isinstance(kind, VectorUDT):
            vector = vector_to_array(sf.col(_q(column)), "float64")
        elif isinstance(kind, st.ArrayType) and isinstance(kind.elementType, st.NumericType):
            vector = sf.col(_q(column)).cast("array<double>")
        else:
            raise DataError(
                f"{settings.data}: column {column} is {kind.simpleString()}; "
                f"{model.name} takes a vector of {model.inputs.features} numbers "
                "(an ML vector or an array of numbers)"
            )
        used = {column}
    elif names and all(n in fields for n in names):
        vector = sf.array(*(sf.col(_q(n)).cast("double") for n in names))
        used = set(names)
    else:
        hint = f" or the model's named columns ({', '.join(names[:5])}…)" if names else ""
        raise DataError(
            f"{settings.data}: no column {column} (--features-col){hint}; "
            f"{model.name} takes a vector of {model.inputs.features} numbers"
        )
    problems = _unknown_and_kept(frame.columns, used, settings)
    if problems:
        raise DataError(f"{settings.data}: " + "; ".join(problems))
    selected = [sf.col(_q(c)) for c in settings.keep] + [vector.alias(scoring.FEATURES)]
    return Input(frame.select(*selected), scoring.VECTOR, False, (), settings.keep)


def _unknown_and_kept(columns: list[str], used: set[str], settings: PredictSettings) -> list[str]:
    unknown = [c for c in columns if c not in {*used, *settings.keep, *settings.drop}]
    problems = []
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(unknown)} (copy them with --keep or ignore them "
            "with --drop)"
        )
    absent = [c for c in settings.keep if c not in columns]
    if absent:
        problems.append(f"--keep column(s) not in the data: {', '.join(absent)}")
    return problems


def _type_problems(schema: InputSchema, types: dict[str, str]) -> list[str]:
    """Typed sources: a column whose Spark type can never hold the model's values."""
    problems = []
    for col in schema.columns:
        have = types.get(col.name)
        if have is None:
            continue
        numeric = have in _NUMERIC or have.startswith("decimal")
        fits = {
            "double": numeric,
            "long": numeric,
            "string": have == "string",
            "boolean": have in ("boolean", "string"),
        }[col.type]
        if not fits:
            problems.append(f"column {col.name} is {have} in the data; the model takes {col.type}")
    return problems


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _images(spark, settings: PredictSettings) -> Input:
    from pyspark.sql import functions as sf

    raw = (
        spark.read.format("image")
        .option("dropInvalid", False)
        .option("recursiveFileLookup", True)
        .load(settings.data)
    )
    keep = settings.keep or ("origin",)
    if set(keep) - {"origin"}:
        raise UsageError("image folders can keep only the 'origin' column (the file's URI)")
    frame = raw.select(
        sf.col("image.origin").alias("origin"),
        *(sf.col(f"image.{name}").alias(name) for name in scoring.IMAGE_FIELDS),
    )
    return Input(frame, scoring.IMAGE, False, (), keep)


def _idx(spark, settings: PredictSettings) -> Input:
    from spark_jobs.sources.idx import image_records

    keep = settings.keep or ("origin",)
    if set(keep) - {"origin"}:
        raise UsageError("IDX files can keep only the 'origin' column (file#index)")
    records = (
        spark.sparkContext.binaryFiles(settings.data)
        .flatMap(lambda kv: ((f"{kv[0]}#{i}", px) for i, px in image_records(kv[0], kv[1])))
    )  # fmt: skip
    frame = spark.createDataFrame(records, "origin string, features array<double>")
    return Input(frame, scoring.PIXELS, False, (), keep)


# --- scoring -----------------------------------------------------------------------------------


class _Examples(AccumulatorParam):
    """A few bad-record descriptions, for the summary."""

    def zero(self, value: list) -> list:
        return []

    def addInPlace(self, a: list, b: list) -> list:  # noqa: N802 - pyspark's name
        return (a + b)[:_MAX_EXAMPLES]


def _prediction_type(model: Model):
    from pyspark.sql import types as st

    if model.outputs.task == REGRESSION:
        return st.DoubleType()
    if model.outputs.task != CLASSIFICATION:
        return st.LongType()
    labels = model.labels
    if all(isinstance(v, bool) for v in labels):
        return st.BooleanType()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return st.LongType()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in labels):
        return st.DoubleType()
    return st.StringType()


def _probability_names(model: Model) -> tuple[str, ...]:
    names: list[str] = []
    for label in model.labels:
        name = "probability_" + re.sub(r"[^0-9A-Za-z_]", "_", str(label))
        while name in names:
            name += "_"
        names.append(name)
    return tuple(names)


def plan(spark, settings: PredictSettings, model: Model, data: Input) -> tuple[scoring.Plan, Any]:
    """The scoring plan (model bytes broadcast once) and the output schema."""
    from pyspark.sql import types as st

    payload, digest = scoring.serialise(model.estimator)
    sc = spark.sparkContext
    label_type = _prediction_type(model)
    labels = model.labels
    if isinstance(label_type, st.StringType):
        labels = tuple(str(v) for v in labels)
    has_proba = model.has_probabilities
    array = has_proba and settings.format == "parquet"
    per_class = (
        _probability_names(model)
        if has_proba and (settings.probability_columns or settings.format == "csv")
        else ()
    )
    kept = {f.name: f for f in data.frame.schema.fields}
    fields = [st.StructField(k, kept[k].dataType, True) for k in data.keep]
    results = [st.StructField("prediction", label_type, True)]
    if array:
        results.append(st.StructField("probability", st.ArrayType(st.DoubleType(), False), True))
    results += [st.StructField(n, st.DoubleType(), True) for n in per_class]
    results += [
        st.StructField("model_name", st.StringType(), False),
        st.StructField("model_version", st.StringType(), False),
    ]
    fields += results
    the_plan = scoring.Plan(
        digest=digest,
        payload=sc.broadcast(payload),
        framework=dict(model.manifest.get("framework") or {}),
        skew_policy=settings.version_skew,
        kind=data.kind,
        manifest=model.manifest,
        features=data.features,
        keep=data.keep,
        text=data.text,
        task=model.task,
        labels=tuple(labels),
        probability_array=array,
        probability_columns=per_class,
        on_error=settings.on_error,
        model_name=model.name,
        model_version=model.version,
        result_types=_arrow_types(spark, results),
        rows=sc.accumulator(0),
        bad_rows=sc.accumulator(0),
        examples=sc.accumulator([], _Examples()),
    )
    log.info("model %s/%s: %d bytes broadcast", model.name, model.version, len(payload))
    return the_plan, st.StructType(fields)


def _arrow_types(spark, fields: list) -> dict:
    """The Arrow type Spark reads back for each column the job adds (``mapInArrow``)."""
    from pyspark.sql.pandas.types import to_arrow_type

    large = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false") == "true"
    return {f.name: to_arrow_type(f.dataType, prefers_large_types=large) for f in fields}


@contextmanager
def executor_errors(source: str) -> Iterator[None]:
    """A failed Spark job → one line: a bad record (3), version skew on a worker (6), or else."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (Py4JJavaError, PySparkException) as exc:
        text = str(exc)
        found = _EXECUTOR_ERROR.search(text)
        if found and found.group(1) == "DataError":
            raise DataError(found.group(2).strip()) from exc
        if found:
            raise ModelRefused(f"on an executor: {found.group(2).strip()}") from exc
        first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        raise OutputWriteError(f"scoring {source} failed: {first.strip()[:300]}") from exc


def run(settings: PredictSettings, spark=None) -> dict:
    """Score ``settings.data`` and write the predictions; returns the summary."""
    timings: dict[str, float] = {}
    with stage("verify", timings) as st:
        model = verify(settings)
        st.facts = {"model": f"{model.name}/{model.version}", "task": model.task}
    if model.is_recommender:
        return _run_top_k(settings, model, spark, timings)
    spark = spark or get_session(f"predict-{model.name}")
    target = Target(spark, settings.output)
    target.check(settings.mode)
    with stage("read", timings) as st, executor_errors(settings.data):
        data = read(spark, settings, model)
        st.facts = {"kind": data.kind, "keep": ",".join(data.keep) or "-"}
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.batch_size))
    the_plan, schema = plan(spark, settings, model, data)

    def write(uri: str) -> None:
        writer = data.frame.mapInArrow(the_plan.score, schema).write.mode("errorifexists")
        writer = writer.format(settings.format)
        if settings.format == "csv":
            writer = writer.option("header", True)
        writer.save(uri)

    summary = _score_and_commit(
        settings, target, the_plan, timings, write,
        facts=lambda: {"bad_rows": the_plan.bad_rows.value, "on_error": settings.on_error},
        summarise=lambda seconds: _summary(settings, model, the_plan, target, seconds),
    )  # fmt: skip
    if summary["bad_rows"]:
        log.warning(
            "%d bad row(s) %s; see %s/%s", summary["bad_rows"],
            "skipped" if settings.on_error == "skip" else "written with null predictions",
            target.uri, SUMMARY_FILE,
        )  # fmt: skip
    return summary


def _run_top_k(settings: PredictSettings, model: Model, spark, timings: dict) -> dict:
    """Top ``--k`` items per user of the users table, written like any prediction."""
    if settings.format != "parquet":
        raise UsageError("recommendations are arrays per user: use --format parquet")
    spark = spark or get_session(f"predict-{model.name}")
    target = Target(spark, settings.output)
    target.check(settings.mode)
    with stage("read", timings), executor_errors(settings.data):
        frame = topk.read_users(spark, settings)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.batch_size))
    the_plan, schema = topk.plan(
        spark, settings, model.name, model.version, model.recommender.factors(), model.manifest,
        frame,
    )  # fmt: skip
    columns = list(dict.fromkeys([*settings.keep, settings.user_col]))

    def write(uri: str) -> None:
        selected = frame.select(*(_q(c) for c in columns))
        selected.mapInPandas(the_plan.score, schema).write.mode("errorifexists").parquet(uri)

    return _score_and_commit(
        settings, target, the_plan, timings, write,
        facts=lambda: {"cold_start_users": the_plan.cold_users.value, "k": settings.k},
        summarise=lambda seconds: topk.summary(
            settings, model.name, model.version, the_plan, target.uri, seconds
        ),
    )  # fmt: skip


def _score_and_commit(
    settings: PredictSettings,
    target: Target,
    the_plan: Any,
    timings: dict,
    write: Callable[[str], None],
    facts: Callable[[], dict],
    summarise: Callable[[float], dict],
) -> dict:
    """The score stage writes into the target's hidden temporary folder, the summary joins it,
    and the commit moves it into place; on any failure the temporary folder is removed, so
    nothing half-written is left. The verified model's broadcast is released either way."""
    start = time.perf_counter()
    try:
        with stage("score", timings) as st, executor_errors(settings.data):
            write(target.temp_uri)
            st.rows = the_plan.rows.value
            st.facts = facts()
        summary = summarise(time.perf_counter() - start)
        target.put(SUMMARY_FILE, summary_bytes(summary))
        with stage("commit", timings):
            target.commit(settings.mode)
    except BaseException:
        target.abort()
        raise
    finally:
        the_plan.payload.unpersist()
    return summary


def _summary(settings, model: Model, the_plan, target: Target, seconds: float) -> dict:
    rows, bad = the_plan.rows.value, the_plan.bad_rows.value
    return {
        "model": {"name": model.name, "version": model.version, "task": model.task},
        "data": settings.data,
        "output": target.uri,
        "format": settings.format,
        "on_error": settings.on_error,
        "rows_read": rows,
        "rows_written": rows - bad if settings.on_error == "skip" else rows,
        "bad_rows": bad,
        "bad_examples": list(the_plan.examples.value),
        "batch_size": settings.batch_size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds > 0 else None,
    }


__all__ = ["Model", "executor_errors", "plan", "read", "run", "verify"]
