"""MLflow's batch scoring on Spark: ``mlflow.pyfunc.spark_udf`` over a Parquet table, timed.

Runs inside MLflow's own venv (``.venv-mlflow/bin/python``, see bench/peer_venv.py), started by
bench/predict_bench.py, which hands it the verified estimator as a joblib file (the one our
``predict`` job scores) and a sample of the model's input frame. It saves the estimator with
``mlflow.sklearn.save_model`` into a temporary directory (no tracking server; a signature
inferred from the sample, as MLflow recommends), starts one Spark session on ``--master``,
reads the Parquet, casts each column to the pipeline's input type (Spark's own ``cast``, what a
user of spark_udf writes), adds ``udf(*columns)`` as ``prediction`` and writes ``id`` and
``prediction`` as Parquet to ``--output``/run-<i>, ``--runs`` times in the same session.
With ``--outputs probabilities`` the model is saved with ``pyfunc_predict_fn="predict_proba"``
(MLflow's way to serve probabilities) and the UDF returns ``array<double>``, written as
``probability`` — the output our job writes beside its label. Only
each write action is timed (Spark's start, the save and the Parquet footer read are not, as in
the job summary of ours); the first run is reported as cold (JIT, Python worker start, model
load), the median of the others as the steady state.

Prints one JSON document on stdout: rows, seconds and rows_per_second (the median warm run),
best_rows_per_second and warm_seconds, cold_seconds and cold_rows_per_second of the first,
mlflow and pyspark versions.

    .venv-mlflow/bin/python -m bench.mlflow.spark_udf --estimator E.joblib --sample S.parquet \
        --data rows.parquet --output out.parquet --master 'local[2]' --cast bill=double ...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support import processes  # the standard library only: importable in MLflow's venv

LABELS, PROBABILITIES = "labels", "probabilities"


def save(estimator: Path, sample: Path, where: Path, outputs: str) -> Path:
    import joblib
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    model = joblib.load(estimator)
    frame = pd.read_parquet(sample)
    out = where / "mlflow-model"
    method = "predict_proba" if outputs == PROBABILITIES else "predict"
    mlflow.sklearn.save_model(
        model,
        str(out),
        signature=infer_signature(frame, getattr(model, method)(frame)),
        pyfunc_predict_fn=method,
        # MLflow 3 saves with skops and refuses types it does not know; numpy.dtype is safe.
        skops_trusted_types=["numpy.dtype"],
    )
    return out


def score(args: argparse.Namespace, model_dir: Path) -> dict:
    import mlflow
    import pyspark
    from pyspark.sql import SparkSession, functions

    spark = (
        SparkSession.builder.master(args.master)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_size))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        kind, column = (
            ("array<double>", "probability")
            if args.outputs == PROBABILITIES
            else ("string", "prediction")
        )
        udf = mlflow.pyfunc.spark_udf(spark, str(model_dir), result_type=kind, env_manager="local")
        frame = spark.read.parquet(args.data)
        casts = dict(item.split("=", 1) for item in args.cast)
        columns = [functions.col(name).cast(kind).alias(name) for name, kind in casts.items()]
        scored = frame.select(functions.col(args.id), udf(*columns).alias(column))
        times, cpu = [], []
        for run in range(args.runs):
            start, before = time.perf_counter(), processes.cpu_seconds(os.getpid())
            scored.write.mode("errorifexists").parquet(f"{args.output}/run-{run}")
            times.append(time.perf_counter() - start)
            cpu.append(processes.cpu_seconds(os.getpid()) - before)
        rows = spark.read.parquet(f"{args.output}/run-0").count()
    finally:
        spark.stop()
    warm = statistics.median(times[1:]) if len(times) > 1 else times[-1]
    return {
        "rows": rows,
        "seconds": round(warm, 3),
        "rows_per_second": round(rows / warm, 1),
        "best_rows_per_second": round(rows / min(times[1:] or times), 1),
        "warm_seconds": [round(t, 3) for t in times[1:]],
        "cores_busy": processes.cores_busy(cpu[1:] or cpu, times[1:] or times),
        "cold_seconds": round(times[0], 3),
        "cold_rows_per_second": round(rows / times[0], 1),
        "outputs": args.outputs,
        "mlflow": mlflow.__version__,
        "pyspark": pyspark.__version__,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", type=Path, required=True, help="joblib of the pipeline")
    parser.add_argument("--sample", type=Path, required=True, help="input frame sample (Parquet)")
    parser.add_argument("--data", required=True, help="the Parquet table")
    parser.add_argument("--output", required=True, help="where the predictions go (Parquet)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--id", default="id", help="the id column written beside predictions")
    parser.add_argument("--batch-size", type=int, default=10_000, help="rows per Arrow batch")
    parser.add_argument(
        "--runs",
        type=int,
        default=2,
        help="scoring actions, each to OUTPUT/run-<i>; the first is cold, the median of the "
        "rest is reported",
    )
    parser.add_argument(
        "--cast", nargs="+", required=True, help="name=spark_type per model input column"
    )
    parser.add_argument(
        "--outputs",
        choices=(LABELS, PROBABILITIES),
        default=LABELS,
        help="what the UDF returns: predict's labels, or predict_proba's rows as array<double>",
    )
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="mlflow-udf-") as tmp:
        model_dir = save(args.estimator, args.sample, Path(tmp), args.outputs)
        result = score(args, model_dir)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
