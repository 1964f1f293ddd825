"""Batch scoring bench: ``spark_jobs.predict`` against MLflow's ``spark_udf`` and a pandas floor.

Generates a tabular Parquet table in 8 files (default 1,000,000 rows, gaps and categories),
signs one scikit-learn pipeline, then measures in this run:

- the floor: one process reading the Parquet with pandas, ``conform`` + ``predict_proba``;
- ``predict`` on local[1] and local[2], and ``mlflow.pyfunc.spark_udf`` (env_manager="local")
  on the same masters (bench/mlflow/spark_udf.py in .venv-mlflow), each in its own process:
  the scoring action's rows/s (map + Parquet write), ``--runs`` times per Spark session (the
  first is reported as cold; the figure is the median of the warm ones, the best warm one is
  reported too), the Python workers' peak RSS (read from /proc while the job runs) and the CPU
  seconds of the process tree. MLflow runs twice per master: with spark_udf's default output
  (``predict``'s label; ours writes more) and with ``predict_proba``'s rows as
  ``array<double>`` (``pyfunc_predict_fn="predict_proba"``), the output ours writes beside the
  label: the like-for-like comparison;
- that both engines give every row the same prediction and the same probabilities (within
  1e-9; the bench fails otherwise).

Writes bench/results/predict.json (``--output``) and prints it; ratios are between numbers
measured in the same run. ``--rows`` makes a smoke run quick (at least 800).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from bench import peer_venv
from tests.support import processes

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

RESULTS = BENCH / "results" / "predict.json"
MASTERS = ("local[1]", "local[2]")
FILES = 8  # Parquet files in the generated table (Spark packs them into one split per core)
PROBA = "probabilities"  # spark_udf.py --outputs: MLflow writes predict_proba's rows as ours does
RUNS = 2  # default scoring actions per Spark session: the first is cold, the rest warm


def make_data(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    islands = np.array(["Biscoe", "Dream", "Ærø"], dtype=object)
    bill = rng.uniform(30, 60, rows)
    bill[rng.random(rows) < 0.1] = np.nan
    island = islands[rng.integers(0, 3, rows)]
    island[rng.random(rows) < 0.05] = None
    frame = pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "bill": bill,
            "visits": rng.integers(0, 10, rows),
            "island": island,
            "member": rng.integers(0, 2, rows).astype(bool),
        }
    )
    path.mkdir()
    for part, chunk in enumerate(np.array_split(np.arange(rows), FILES)):
        frame.iloc[chunk].to_parquet(path / f"part-{part}.parquet")


def make_model(store: Path, key: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import artifacts
    from artifacts.runtime import tabular
    from tests.support.predict_rows import SCHEMA, pipeline, table

    raw = table(2000, seed=1)
    frame = tabular.conform(raw.drop(columns="id"), SCHEMA)
    bill = frame["bill"].fillna(45.0).to_numpy()
    species = np.where(bill > 45, "Gentoo", np.where(frame["island"] == "Dream", "Chin", "Ad"))
    model = pipeline(LogisticRegression(max_iter=500)).fit(frame, species)
    artifacts.save(model, store, "species", version="1", signer=artifacts.load_signer(key),
                   input_schema=SCHEMA)  # fmt: skip


def floor(data: Path, store: Path, key: Path) -> dict:
    import artifacts
    from artifacts.runtime import tabular

    loaded = artifacts.load(store / "species" / "1", verifier=artifacts.load_verifier(key))
    schema = artifacts.schema.input_schema(loaded.manifest)
    start = time.perf_counter()
    raw = pd.read_parquet(data)  # the whole directory, as one frame
    frame = tabular.conform(raw.drop(columns="id"), schema)
    loaded.estimator.predict_proba(frame)
    seconds = time.perf_counter() - start
    return {"rows_per_second": round(len(raw) / seconds, 1), "seconds": round(seconds, 2)}


def _worker_rss() -> int:
    """Largest RSS (bytes) of any pyspark Python worker/daemon process on this machine now."""
    pids = (int(p) for p in os.listdir("/proc") if p.isdigit())
    marks = ("pyspark.daemon", "pyspark.worker")
    workers = [p for p in pids if any(m in processes.cmdline(p) for m in marks)]
    return max((processes.rss_kb(p) for p in workers), default=0) * 1024


def _sampled(command: list[str], env: dict) -> tuple[subprocess.CompletedProcess, int, float]:
    """Run ``command``; sample the Python workers' peak RSS (bytes) and the CPU seconds of its
    process tree (driver, JVM, Python workers; a process's last 0.2 s may be missed)."""
    peak = {"rss": 0}
    cpu: dict[int, float] = {}
    done = threading.Event()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=ROOT)  # fmt: skip

    def sample() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], _worker_rss())
            for pid, seconds in processes.tree_cpu(child.pid).items():
                cpu[pid] = max(cpu.get(pid, 0.0), seconds)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = child.communicate()
    finally:
        done.set()
        sampler.join()
    result = subprocess.CompletedProcess(command, child.returncode, out, err)
    return result, peak["rss"], round(sum(cpu.values()), 1)


def spark_run(
    master: str, data: Path, store: Path, key: Path, out: Path, batch: int, runs: int = RUNS
) -> dict:
    """Run the job in a child process (one SparkContext per process); sample worker RSS."""
    code = (
        "import json, os, sys; from pyspark.sql import SparkSession;"
        "from spark_jobs.predict.job import run; from spark_jobs.predict.settings import "
        "PredictSettings as S; from tests.support import processes; import time\n"
        f"s = SparkSession.builder.master({master!r}).config('spark.ui.enabled','false')"
        ".getOrCreate(); s.sparkContext.setLogLevel('ERROR')\n"
        f"for i in range({runs}):\n"
        " before, started = processes.cpu_seconds(os.getpid()), time.perf_counter()\n"
        f" r = run(S(model={str(store / 'species')!r}, verify_key={str(key)!r}, "
        f"data={str(data)!r}, output={str(out)!r} + f'/run-{{i}}', keep=('id',), "
        f"batch_size={batch}).validate(), s)\n"
        " r['cpu_seconds'] = processes.cpu_seconds(os.getpid()) - before\n"
        " r['call_seconds'] = time.perf_counter() - started\n"
        " print('SUMMARY' + json.dumps(r), flush=True)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYSPARK_PYTHON": sys.executable,
    }
    started = time.perf_counter()
    result, rss, cpu = _sampled([sys.executable, "-c", code], env)
    wall = time.perf_counter() - started
    lines = [x for x in result.stdout.splitlines() if x.startswith("SUMMARY")]
    if result.returncode != 0 or len(lines) != runs:
        raise SystemExit(f"predict on {master} failed:\n{result.stderr[-3000:]}")
    cold, *warm = (json.loads(line[len("SUMMARY") :]) for line in lines)
    seconds = [w["seconds"] for w in warm]
    rows = warm[0]["rows_read"]
    return {
        # over the whole run() call (verify, plan, score, write): the span the CPU was read over
        "cores_busy": processes.cores_busy(
            [w["cpu_seconds"] for w in warm], [w["call_seconds"] for w in warm]
        ),
        "rows_per_second": round(rows / float(np.median(seconds)), 1),
        "seconds": round(float(np.median(seconds)), 3),
        "best_rows_per_second": round(rows / min(seconds), 1),
        "warm_seconds": seconds,
        "cold_rows_per_second": cold["rows_per_second"],
        "cold_seconds": cold["seconds"],
        "worker_rss_mb": round(rss / 2**20, 1),
        "process_cpu_s": cpu,
        "process_wall_s": round(wall, 1),
    }


def export_for_mlflow(store: Path, key: Path, work: Path) -> tuple[Path, Path, list[str]]:
    """The verified estimator as joblib, a sample of its input frame, and spark_udf's casts.

    MLflow scores whatever pandas frame Spark hands it, so its user casts each column to the
    pipeline's input form in Spark (the form ``tabular.conform`` gives ours): doubles for
    numbers, strings for categories (Spark casts a boolean to "true"/"false").
    """
    import joblib

    import artifacts
    from artifacts.runtime import tabular
    from tests.support.predict_rows import table

    loaded = artifacts.load(store / "species" / "1", verifier=artifacts.load_verifier(key))
    schema = artifacts.schema.input_schema(loaded.manifest)
    joblib.dump(loaded.estimator, work / "estimator.joblib")
    sample = tabular.conform(table(200, seed=2).drop(columns="id"), schema)
    sample.to_parquet(work / "sample.parquet")
    casts = [
        f"{name}={'string' if sample[name].dtype == object else 'double'}"
        for name in sample.columns
    ]
    return work / "estimator.joblib", work / "sample.parquet", casts


def mlflow_run(
    python: Path,
    exported: tuple,
    master: str,
    data: Path,
    out: Path,
    batch: int,
    runs: int = RUNS,
    outputs: str = "labels",
):
    """``bench/mlflow/spark_udf.py`` in MLflow's venv on ``master``; its JSON plus worker RSS.

    ``outputs``: ``labels`` (spark_udf's default, ``predict``) or ``probabilities``
    (``predict_proba``, what ours writes beside the label)."""
    estimator, sample, casts = exported
    command = [str(python), "-m", "bench.mlflow.spark_udf", "--estimator", str(estimator)]
    command += ["--sample", str(sample), "--data", str(data), "--output", str(out)]
    command += ["--master", master, "--batch-size", str(batch), "--runs", str(runs)]
    command += ["--outputs", outputs, "--cast", *casts]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYSPARK_PYTHON"] = str(python)
    started = time.perf_counter()
    result, rss, cpu = _sampled(command, env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"MLflow spark_udf on {master} failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        **measured,
        "worker_rss_mb": round(rss / 2**20, 1),
        "process_cpu_s": cpu,
        "process_wall_s": round(wall, 1),
    }


def joined(ours: Path, theirs: Path, column: str, rows: int) -> pd.DataFrame:
    """``column`` of both outputs side by side (``<column>_ours``, ``<column>_mlflow``), joined
    on id; the bench fails unless each has every one of ``rows`` rows once."""
    mine = pd.read_parquet(ours, columns=["id", column])
    other = pd.read_parquet(theirs, columns=["id", column])
    both = mine.merge(other, on="id", suffixes=("_ours", "_mlflow"), validate="one_to_one")
    if not (len(mine) == len(other) == len(both) == rows):
        raise SystemExit(f"row counts differ: ours {len(mine)}, MLflow {len(other)}, of {rows}")
    return both


def agreement(ours: Path, theirs: Path, rows: int) -> dict:
    """Every row's prediction from our job equals MLflow's, joined on id; else the bench fails."""
    both = joined(ours, theirs, "prediction", rows)
    differ = both[both["prediction_ours"] != both["prediction_mlflow"]]
    if len(differ):
        shown = differ.head(5).to_dict(orient="records")
        raise SystemExit(f"ours and MLflow disagree on {len(differ)} of {rows} rows: {shown}")
    return {"rows_compared": rows, "same_prediction": rows}


def same_probabilities(ours: Path, theirs: Path, rows: int) -> dict:
    """Our job's probability arrays against MLflow's ``predict_proba`` ones, joined on id."""
    both = joined(ours, theirs, "probability", rows)
    a = np.vstack(both["probability_ours"].to_numpy())
    b = np.vstack(both["probability_mlflow"].to_numpy())
    if a.shape != b.shape:
        raise SystemExit(f"probability widths differ: ours {a.shape}, MLflow {b.shape}")
    identical = int((a == b).all(axis=1).sum())
    worst = float(np.abs(a - b).max()) if a.size else 0.0
    if worst > 1e-9:
        raise SystemExit(f"ours and MLflow's probabilities differ by up to {worst:g}")
    return {"rows_compared": rows, "identical_rows": identical, "max_abs_difference": worst}


def ratio(a: dict | None, b: dict | None) -> float | None:
    if not (a and b):
        return None
    return round(a["rows_per_second"] / b["rows_per_second"], 2)


def measure(args: argparse.Namespace, tmp: Path) -> dict:
    import artifacts

    key = artifacts.generate_keys("hmac-sha256", tmp / "keys")["secret"]
    data = tmp / "rows.parquet"
    make_data(data, args.rows)
    store = tmp / "store"
    make_model(store, key)
    results: dict = {
        "rows": args.rows,
        "files": FILES,
        "batch_size": args.batch_size,
        "runs": args.runs,
    }
    results["pandas_floor"] = floor(data, store, key)
    python = None
    if not args.skip_mlflow:
        try:
            requirements = BENCH / "mlflow" / "requirements.txt"
            mlflow = peer_venv.ensure(
                args.mlflow_venv, requirements, "mlflow", peer_venv.MLFLOW_LIBRARIES
            )
            python = mlflow.with_name("python")
            exported = export_for_mlflow(store, key, tmp)
        except peer_venv.EnvironmentUnavailable as exc:
            results["mlflow_skipped"] = str(exc)
    else:
        results["mlflow_skipped"] = "--skip-mlflow"
    ours, theirs, proba = {}, {}, {}
    for master in MASTERS:  # ours then MLflow's at each size, so a load change hits both alike
        n = master[6]
        out = tmp / f"ours-{n}"
        ours[master] = spark_run(master, data, store, key, out, args.batch_size, args.runs)
        if python:
            run = partial(mlflow_run, python, exported, master, data)
            theirs[master] = run(tmp / f"mlflow-{n}", args.batch_size, args.runs)
            proba[master] = run(tmp / f"mlflow-proba-{n}", args.batch_size, args.runs, PROBA)
    results["ours"], results["mlflow_spark_udf"] = ours, theirs
    results["mlflow_spark_udf_probabilities"] = proba
    if python:
        results["agreement"] = agreement(
            tmp / "ours-2" / "run-0", tmp / "mlflow-2" / "run-0", args.rows
        )
        results["probability_agreement"] = same_probabilities(
            tmp / "ours-2" / "run-0", tmp / "mlflow-proba-2" / "run-0", args.rows
        )
    one, two = ours["local[1]"], ours["local[2]"]
    results["ratios"] = {
        "ours_over_mlflow_local1": ratio(one, theirs.get("local[1]")),
        "ours_over_mlflow_local2": ratio(two, theirs.get("local[2]")),
        "ours_over_mlflow_probabilities_local1": ratio(one, proba.get("local[1]")),
        "ours_over_mlflow_probabilities_local2": ratio(two, proba.get("local[2]")),
        "ours_local2_over_local1": ratio(two, one),
        "mlflow_local2_over_local1": ratio(theirs.get("local[2]"), theirs.get("local[1]")),
        "ours_local2_over_floor": ratio(two, results["pandas_floor"]),
    }
    x = results["ratios"]
    results["goals"] = {
        "ours_over_mlflow >= 2": x["ours_over_mlflow_local2"] is not None
        and min(x["ours_over_mlflow_local1"], x["ours_over_mlflow_local2"]) >= 2,
        "ours_over_mlflow_probabilities >= 2": x["ours_over_mlflow_probabilities_local2"]
        is not None
        and min(
            x["ours_over_mlflow_probabilities_local1"], x["ours_over_mlflow_probabilities_local2"]
        )
        >= 2,
        "local2_over_local1 >= 1.7": x["ours_local2_over_local1"] >= 1.7,
    }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated table")
    parser.add_argument("--batch-size", type=int, default=10_000, help="rows per Arrow batch")
    parser.add_argument("--mlflow-venv", type=Path, default=ROOT / ".venv-mlflow")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure ours alone")
    parser.add_argument(
        "--runs", type=int, default=RUNS, help="scoring actions per Spark session (at least 2)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if args.rows < 100 * FILES:
        parser.error(f"--rows must be at least {100 * FILES}")
    if args.runs < 2:
        parser.error("--runs must be at least 2 (the first is cold)")
    with tempfile.TemporaryDirectory(prefix="predict-bench-") as tmp:
        results = measure(args, Path(tmp))
    text = json.dumps(results, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
