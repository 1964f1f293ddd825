"""Batch scoring bench: ``spark_jobs.predict`` on local[1] and local[2] against a pandas floor.

Generates a tabular Parquet table in 8 files (default 1,000,000 rows, gaps and categories),
signs one scikit-learn pipeline, then measures in this run:

- the floor: one process reading the Parquet with pandas, ``conform`` + ``predict_proba``;
- ``predict`` on local[1] and local[2] (each in its own process: one SparkContext per process),
  the scoring stage's rows/s from the job's summary, and the peak RSS of the Python workers
  (read from /proc while the job runs).

Prints one JSON document; ratios are against numbers measured in the same run.
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
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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
    for part, chunk in enumerate(np.array_split(np.arange(rows), 8)):  # 8 files: 8 partitions
        frame.iloc[chunk].to_parquet(path / f"part-{part}.parquet")


def make_model(store: Path, key: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import artifacts
    from artifacts import tabular
    from tests.spark_jobs.test_predict import SCHEMA, _pipeline, table

    raw = table(2000, seed=1)
    frame = tabular.conform(raw.drop(columns="id"), SCHEMA)
    bill = frame["bill"].fillna(45.0).to_numpy()
    species = np.where(bill > 45, "Gentoo", np.where(frame["island"] == "Dream", "Chin", "Ad"))
    model = _pipeline(LogisticRegression(max_iter=500)).fit(frame, species)
    artifacts.save(model, store, "species", version="1", signer=artifacts.load_signer(key),
                   input_schema=SCHEMA)  # fmt: skip


def floor(data: Path, store: Path, key: Path) -> dict:
    import artifacts
    from artifacts import tabular

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
    peak = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"pyspark.daemon" not in cmd and b"pyspark.worker" not in cmd:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return peak


def spark_run(master: str, data: Path, store: Path, key: Path, out: Path, batch: int) -> dict:
    """Run the job in a child process; sample worker RSS meanwhile."""
    code = (
        "import json, sys; from pyspark.sql import SparkSession;"
        "from spark_jobs.predict.job import run; from spark_jobs.predict.settings import "
        "PredictSettings as S;"
        f"s = SparkSession.builder.master({master!r}).config('spark.ui.enabled','false')"
        ".getOrCreate(); s.sparkContext.setLogLevel('ERROR');"
        f"r = run(S(model={str(store / 'species')!r}, verify_key={str(key)!r}, "
        f"data={str(data)!r}, output={str(out)!r}, keep=('id',), batch_size={batch})"
        ".validate(), s);"
        "print('SUMMARY' + json.dumps(r))"
    )
    peak = {"rss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], _worker_rss())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=False)  # fmt: skip
    done.set()
    sampler.join()
    line = next((x for x in result.stdout.splitlines() if x.startswith("SUMMARY")), None)
    if line is None:
        raise SystemExit(f"{master} failed:\n{result.stderr[-3000:]}")
    summary = json.loads(line[len("SUMMARY") :])
    return {
        "rows_per_second": summary["rows_per_second"],
        "seconds": summary["seconds"],
        "worker_rss_mb": round(peak["rss"] / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    import artifacts

    with tempfile.TemporaryDirectory(prefix="predict-bench-") as tmp:
        tmp = Path(tmp)
        key = artifacts.generate_keys("hmac-sha256", tmp / "keys")["secret"]
        data = tmp / "rows.parquet"
        make_data(data, args.rows)
        make_model(tmp / "store", key)
        results = {"rows": args.rows, "batch_size": args.batch_size}
        results["pandas_floor"] = floor(data, tmp / "store", key)
        for master in ("local[1]", "local[2]"):
            out = tmp / f"out-{master[6]}"
            results[master] = spark_run(master, data, tmp / "store", key, out, args.batch_size)
        one, two = results["local[1]"], results["local[2]"]
        results["local2_over_local1"] = round(two["rows_per_second"] / one["rows_per_second"], 2)
        results["local2_over_floor"] = round(
            two["rows_per_second"] / results["pandas_floor"]["rows_per_second"], 2
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
