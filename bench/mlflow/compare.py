"""MLflow's own ``mlflow models serve`` vs our model-server: one tabular pipeline, one run.

The model is a stock scikit-learn ``Pipeline`` fitted here on a generated table (8 numeric and
4 string categorical columns, about 5 % of the cells missing, a 3-class string label):
``ColumnTransformer`` (``SimpleImputer(median)`` on the numbers, ``OneHotEncoder(
handle_unknown="ignore")`` on the categories, missing ones a category of their own) →
``LogisticRegression``. It is saved signed with a typed tabular schema for ours; the signed
artifact is then verified, loaded and written with ``mlflow.sklearn.save_model`` (with an
inferred signature, as MLflow recommends) inside MLflow's own venv (``.venv-mlflow``, see
bench/peer_venv.py), so both servers score the same fitted object.

Both run on 127.0.0.1 with the same number of worker processes: ours as Gunicorn sync workers
behind a master, MLflow 3's scoring server as ``uvicorn --workers N`` (``mlflow models serve
-w N --env-manager local``); both with one BLAS thread per worker. The load is serving_bench's
(wrk, or its Python fallback): the same ``POST /invocations`` ``dataframe_split`` body of 1 and
256 rows to each, in alternating short rounds (serving_bench.interleaved) so a busy machine
slows both alike. Before the load both must return the same predictions for the 256 rows (rows
with a missing category excepted, see ``agree``).

Besides rows/s and p50/p99, the CPU time each server's process tree spent during its rounds
gives rows per server CPU-second: on a machine shared with other work the scheduler hands more
CPU to the server with more runnable threads (MLflow runs each prediction in a thread pool), so
throughput alone partly measures CPU share; rows per CPU-second measures the work.

Ours runs as deployed by default: API-key auth and Prometheus metrics on (MLflow has neither);
rate limiting off so it does not throttle the load generator. Goal (issue 12): ours ≥ 3× MLflow's
rows/s at both sizes with a p99 no worse. Results: bench/results/mlflow.json. When MLflow
cannot be installed or started, the reason is recorded (``mlflow_skipped``) and ours is
measured alone.

    .venv/bin/python -m bench.mlflow.compare [--duration 10] [--workers 2] [--connections 8]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

import artifacts
from artifacts.runtime import tabular
from bench import peer_venv
from bench import serving_bench as sb
from tests.support import processes

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
ROOT = BENCH.parent

log = logging.getLogger("bench.mlflow")
RESULTS = BENCH / "results" / "mlflow.json"
MODEL = "tabular"
SIZES = (1, 256)
GOAL_THROUGHPUT = 3.0
NUMERIC = tuple(f"x{i}" for i in range(8))
CATEGORIES = {
    "region": ("north", "south", "east", "west", "centre"),
    "channel": ("web", "store", "phone"),
    "plan": ("basic", "plus", "pro", "team"),
    "device": ("ios", "android", "desktop", "tv", "other", "kiosk"),
}
CLASSES = ("churn", "stay", "upgrade")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SAVE_SCRIPT = """
import sys, joblib, mlflow, pandas as pd
from mlflow.models import infer_signature
pickle, sample, out, signed = sys.argv[1:5]
model = joblib.load(pickle)
frame = pd.read_pickle(sample)
signature = infer_signature(frame, model.predict(frame)) if signed == "1" else None
# MLflow 3 saves with skops by default and refuses types it does not trust: the OneHotEncoder's
# dtype attribute is a numpy.dtype, which is as safe as it gets.
mlflow.sklearn.save_model(model, out, signature=signature, skops_trusted_types=["numpy.dtype"])
print(mlflow.__version__)
"""


# ---------------------------------------------------------------- the model


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """A generated table in the frame form (float64 with NaN, str with None) plus label ``y``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows) * (i + 1) for i, name in enumerate(NUMERIC)})
    score = frame["x0"] - 0.5 * frame["x1"] + 0.2 * frame["x2"] + rng.normal(size=rows)
    for name, values in CATEGORIES.items():
        picks = rng.integers(len(values), size=rows)
        frame[name] = np.array(values, dtype=object)[picks]
        score += (picks % 3 - 1) * 0.7
    for name in frame.columns:
        gaps = rng.random(rows) < 0.05
        frame.loc[gaps, name] = np.nan if name in NUMERIC else None
    frame["y"] = np.array(CLASSES, dtype=object)[
        np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    ]
    return frame


def fit(rows: pd.DataFrame, labels: pd.Series):
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    columns = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(NUMERIC)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORIES)),
        ]
    )
    pipeline = Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipeline.fit(rows, labels.to_numpy(dtype=object))


def input_schema(frame: pd.DataFrame) -> artifacts.InputSchema:
    """Typed columns: doubles with their observed range, strings with their categories."""
    numeric = [
        artifacts.Column(name, "double", range=(float(frame[name].min()), float(frame[name].max())))
        for name in NUMERIC
    ]
    categorical = [
        artifacts.Column(name, "string", categories=tuple(sorted(values)))
        for name, values in CATEGORIES.items()
    ]
    return artifacts.InputSchema.tabular(numeric + categorical)


def train_store(work: Path) -> tuple[Path, Path, pd.DataFrame]:
    """Fit once; write the signed artifact. Returns (store, verify key, held-out request rows).

    The pipeline is fitted on the artifact contract's frame form (``tabular.conform``: str with
    ``None`` for a missing category), as a Spark export is. Fitted on pandas' own string dtype
    instead, the encoder learns NaN as the missing category and then treats the ``None`` our
    server sends as unknown: the two servers would disagree on every row with a gap.
    """
    frame = table(6000)
    features = frame.drop(columns="y")
    schema = input_schema(features)
    rows = tabular.conform(features, schema)
    pipeline = fit(rows.iloc[:5000], frame["y"].iloc[:5000])
    key = artifacts.generate_keys("hmac-sha256", work / "keys")["secret"]
    store = work / "store"
    artifacts.save(
        pipeline,
        store,
        MODEL,
        version="1",
        signer=artifacts.load_signer(key),
        input_schema=schema,
        output_schema=artifacts.OutputSchema(
            "classification", label="y", classes=tuple(pipeline.classes_)
        ),
    )
    return store, key, rows.iloc[5000:].reset_index(drop=True)


def mlflow_model(python: Path, work: Path, store: Path, key: Path, sample, signature: bool):
    """The verified artifact's estimator, saved by ``mlflow.sklearn.save_model`` (MLflow's venv)."""
    loaded = artifacts.load(store / MODEL / "1", verifier=artifacts.load_verifier(key))
    joblib.dump(loaded.estimator, work / "estimator.joblib")
    sample.to_pickle(work / "sample.pkl")
    out = work / "mlflow-model"
    done = subprocess.run(
        [
            *(str(python), "-c", SAVE_SCRIPT),
            *(str(work / "estimator.joblib"), str(work / "sample.pkl"), str(out)),
            "1" if signature else "0",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow.sklearn.save_model failed:\n{done.stderr[-3000:]}")
    return out, done.stdout.strip().splitlines()[-1]


# ---------------------------------------------------------------- requests


def split_body(rows: pd.DataFrame) -> bytes:
    """``{"dataframe_split": ...}`` as pandas' ``to_dict(orient="split")``; gaps are JSON null."""
    data = [
        [None if isinstance(v, float) and np.isnan(v) else v for v in row]
        for row in rows.itertuples(index=False)
    ]
    return json.dumps({"dataframe_split": {"columns": list(rows.columns), "data": data}}).encode()


def answer(url: str, body: bytes, extra: str) -> dict:
    """One JSON reply; ``extra`` holds header lines as serving_bench's load generators take them."""
    status, reply = sb.post(url, body, "application/json", extra)
    if status >= 400:
        raise RuntimeError(f"{url} answered HTTP {status}: {reply[:500]!r}")
    return json.loads(reply)


# ---------------------------------------------------------------- servers


def ours(args, work: Path, store: Path, key: Path) -> tuple[list[str], dict, str, str]:
    port = processes.free_port()
    api_key = "bench-" + os.urandom(16).hex()
    (work / "api-keys").write_text(api_key + "\n")
    env = {
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key),
        "SERVING_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.workers),
        "SERVING_WORKER_CLASS": "sync",
        "SERVING_ACCESS_LOG": "false",
        "SERVING_METRICS_ENABLED": "true",
        "SERVING_AUTH_ENABLED": "true",
        "SERVING_API_KEYS_FILE": str(work / "api-keys"),
        "SERVING_RATE_LIMIT_ENABLED": "false",
    }
    command = [sys.executable, "-m", "serving.cli"]
    return command, env, f"http://127.0.0.1:{port}", f"Authorization: Bearer {api_key}"


def mlflow_server(args, python: Path, model_dir: Path) -> tuple[list[str], dict, str]:
    port = processes.free_port()
    command = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir)]
    command += ["-h", "127.0.0.1", "-p", str(port), "-w", str(args.workers)]
    command += ["--env-manager", "local"]
    env = {
        **ONE_THREAD,
        # `mlflow models serve` runs `bash -c "exec uvicorn ..."`: uvicorn must be on PATH.
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": (model_dir.parent / "mlruns").as_uri(),
    }
    return command, env, f"http://127.0.0.1:{port}"


def running(command: list[str], env: dict, probe: str, log_file: Path):
    """A server process, yielded once ``probe`` answers 200; stopped (SIGTERM) on the way out."""
    return processes.running(command, env, log_file, lambda: processes.status_of(probe) == 200)


# ---------------------------------------------------------------- the run


def prepare_mlflow(args, work: Path, store: Path, key: Path, sample) -> tuple[Path, Path, str]:
    """MLflow's venv and model directory; EnvironmentUnavailable/RuntimeError say why not."""
    requirements = HERE / "requirements.txt"
    mlflow = peer_venv.ensure(args.mlflow_venv, requirements, "mlflow", peer_venv.MLFLOW_LIBRARIES)
    python = mlflow.with_name("python")
    model_dir, version = mlflow_model(python, work, store, key, sample, args.signature)
    return python, model_dir, version


def measure(args, load, work: Path) -> dict:
    store, key, held_out = train_store(work)
    bodies = {rows: split_body(held_out.iloc[:rows]) for rows in SIZES}
    results: dict = {}
    our_cmd, our_env, our_url, auth = ours(args, work, store, key)
    runs = {
        f"ours/invocations_{n}row": (our_url + "/invocations", body, "application/json", auth)
        for n, body in bodies.items()
    }
    with contextlib.ExitStack() as servers:
        mine = servers.enter_context(
            running(our_cmd, our_env, our_url + "/ping", work / "ours.log")
        )
        pids = dict.fromkeys(runs, mine.pid)
        for body in bodies.values():  # a broken server of ours fails the bench, never skips
            answer(our_url + "/invocations", body, auth)
        try:
            python, model_dir, results["mlflow_version"] = prepare_mlflow(
                args, work, store, key, held_out.iloc[:256]
            )
            ml_cmd, ml_env, ml_url = mlflow_server(args, python, model_dir)
            theirs = servers.enter_context(
                running(ml_cmd, ml_env, ml_url + "/ping", work / "mlflow.log")
            )
            agree(results, our_url, ml_url, held_out.iloc[: max(SIZES)], auth)
            for n, body in bodies.items():
                url = ml_url + "/invocations"
                runs[f"mlflow/invocations_{n}row"] = (url, body, "application/json", "")
                pids[f"mlflow/invocations_{n}row"] = theirs.pid
        except (peer_venv.EnvironmentUnavailable, RuntimeError) as exc:
            results["mlflow_skipped"] = str(exc)
            log.warning("MLflow skipped, measuring ours alone: %s", exc)
        results["scenarios"] = sb.interleaved(runs, load, args, work, pids)
    return results


def agree(results: dict, our_url: str, ml_url: str, rows: pd.DataFrame, auth: str) -> None:
    """Both servers must give the same predictions for the same rows, or nothing is compared.

    One known exception, recorded rather than fatal: a row with a missing category. Ours hands
    the pipeline ``None`` (the artifact contract's frame form, which it was fitted on); MLflow
    parses JSON null in a string column into pandas' string dtype, i.e. NaN, which the fitted
    OneHotEncoder does not know as its missing category and encodes as unknown (all zeros).
    """
    body = split_body(rows)
    mine = answer(our_url + "/invocations", body, auth)["predictions"]
    theirs = answer(ml_url + "/invocations", body, "")["predictions"]
    gaps = rows[list(CATEGORIES)].isna().any(axis=1).to_numpy()
    differ = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
    unexplained = [i for i in differ if not gaps[i]]
    if unexplained:
        shown = ", ".join(f"row {i}: ours {mine[i]!r}, MLflow {theirs[i]!r}" for i in unexplained)
        raise RuntimeError(f"the servers disagree on {len(unexplained)} rows: {shown[:600]}")
    results["agreement"] = {
        "rows": len(mine),
        "same_prediction": len(mine) - len(differ),
        "rows_with_a_missing_category": int(gaps.sum()),
        "differ_on_missing_category": len(differ),
    }
    if differ:
        log.warning(
            "%d of %d rows with a missing category are scored differently (None vs NaN)",
            len(differ),
            int(gaps.sum()),
        )


def with_ratios(results: dict) -> dict:
    """rows/s per scenario; for each size ours / MLflow (throughput) and the p99s, and the goal."""
    scenarios = results["scenarios"]
    for name, r in scenarios.items():
        r["rows"] = int(name.rsplit("_", 1)[1].removesuffix("row"))
        r["rows_per_s"] = r["req_per_s"] * r["rows"]
        per_request = r.get("server_cpu_ms_per_request")
        r["rows_per_cpu_s"] = 1000 * r["rows"] / per_request if per_request else None
    results["comparison"] = {}
    for rows in SIZES:
        mine = scenarios.get(f"ours/invocations_{rows}row")
        theirs = scenarios.get(f"mlflow/invocations_{rows}row")
        if not (mine and theirs):
            continue
        throughput = mine["rows_per_s"] / theirs["rows_per_s"]
        p99 = mine["p99_ms"] / theirs["p99_ms"]
        efficiency = None
        if mine["rows_per_cpu_s"] and theirs["rows_per_cpu_s"]:
            efficiency = round(mine["rows_per_cpu_s"] / theirs["rows_per_cpu_s"], 3)
        results["comparison"][f"{rows}row"] = {
            "throughput_ratio": round(throughput, 3),
            "cpu_efficiency_ratio": efficiency,
            "p99_ratio": round(p99, 3),
            "goal_met": throughput >= GOAL_THROUGHPUT and p99 <= 1.0,
        }
    return results


def report(results: dict) -> None:
    header = (
        f"{'scenario':26} {'req/s':>8} {'rows/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    )
    lines = [header]
    for name, r in sorted(results["scenarios"].items()):
        lines.append(
            f"{name:26} {r['req_per_s']:8.0f} {r['rows_per_s']:10.0f} {r['p50_ms']:8.2f} "
            f"{r['p99_ms']:8.2f} {r['errors']:6d} {r['rows_per_cpu_s'] or float('nan'):10.0f}"
        )
    for size, c in results.get("comparison", {}).items():
        lines.append(
            f"{size}: ours/MLflow rows/s {c['throughput_ratio']:.2f}x, p99 {c['p99_ratio']:.2f}x, "
            f"rows per CPU-second {c['cpu_efficiency_ratio'] or float('nan'):.2f}x "
            f"-> goal (>= {GOAL_THROUGHPUT:.0f}x, p99 <= 1x) {'met' if c['goal_met'] else 'MISSED'}"
        )
    if results.get("mlflow_skipped"):
        lines.append(f"mlflow skipped: {results['mlflow_skipped']}")
    sys.stdout.write("\n".join(lines) + "\n")


def run(args) -> dict:
    load = sb.load_generator()
    work = Path(tempfile.mkdtemp(prefix="mlflow-bench-"))
    results: dict = {
        **sb.load_facts(args, load),
        "body": "POST /invocations, Content-Type application/json, {'dataframe_split': ...}",
        "model": (
            "Pipeline(ColumnTransformer(SimpleImputer(median) x8 numeric, "
            "OneHotEncoder(handle_unknown='ignore') x4 string), LogisticRegression), "
            "3 string classes, ~5% missing cells"
        ),
        "mlflow_signature": args.signature,
        "worker_model": (
            f"ours: Gunicorn master + {args.workers} sync workers; mlflow: mlflow models serve "
            f"-w {args.workers} (uvicorn supervisor + {args.workers} worker processes); "
            "one BLAS thread per worker in both"
        ),
        "auth": "API key (Bearer) and metrics on for ours; MLflow has neither; no rate limit",
        "goal": f"ours >= {GOAL_THROUGHPUT:.0f}x MLflow's rows/s and p99 <= MLflow's, both sizes",
    }
    try:
        results.update(measure(args, load, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return with_ratios(results)


def main() -> int:
    parser = sb.load_options(__doc__, "worker processes for both", RESULTS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per scenario")
    parser.add_argument("--mlflow-venv", type=Path, default=ROOT / ".venv-mlflow")
    parser.add_argument(
        "--no-signature",
        dest="signature",
        action="store_false",
        help="save the MLflow model without a signature (no schema enforcement in MLflow)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return sb.save(run(args), args.output, report)


if __name__ == "__main__":
    sys.exit(main())
