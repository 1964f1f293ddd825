"""MLServer (Seldon) vs our model-server vs the seed baseline: same model, same load, one run.

The model is the signed artifact ``serving_bench.train_store`` writes; it is verified and
loaded with ``artifacts.load``, then dumped with joblib into an MLServer model directory
(``model-settings.json``, implementation ``mlserver_sklearn.SKLearnModel``). MLServer runs
from its own venv (``.venv-mlserver``, see bench/peer_venv.py) on 127.0.0.1 with
``parallel_workers`` equal to our Gunicorn worker count: MLServer has one uvicorn front-end
process feeding that many inference worker processes; ours has that many Gunicorn sync
workers behind a master. The load generator is serving_bench's (wrk, or its Python
fallback) with the same duration and connections.

Also measured for all three servers: cold start (process start → readiness probe 200;
median of --cold-runs) and resident memory per worker after a short warm load.
Results: bench/results/mlserver.json. Ratios are against the seed baseline's figures in the
serving_bench results of the same `make bench` run (bench/results/serving.json).

    .venv/bin/python -m bench.mlserver.compare [--duration 10] [--workers 2] [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

import artifacts
from bench import peer_venv
from bench import serving_bench as sb
from tests.support import processes, v2_requests

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
ROOT = BENCH.parent

log = logging.getLogger("bench.mlserver")
RESULTS = BENCH / "results" / "mlserver.json"


# ---------------------------------------------------------------- processes


def mlserver_workers(main: int) -> list[int]:
    """MLServer's inference pool: child processes other than multiprocessing helpers."""
    return [
        p for p in processes.descendants(main) if "resource_tracker" not in processes.cmdline(p)
    ]


# ---------------------------------------------------------------- servers


class Server:
    """How to start one contender, probe its readiness and find its workers."""

    def __init__(self, name, command, env, probe, accept, workers, cwd=None) -> None:
        self.name, self.command, self.env = name, command, env
        self.probe, self.accept, self.workers, self.cwd = probe, accept, workers, cwd


def contenders(args, work: Path, store: Path, key: Path, plain: Path, mlserver: Path | None):
    python = sys.executable
    port = processes.free_port()
    baseline = Server(
        "baseline",
        [
            python,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(BENCH / "baseline_seed"),
            "app:app",
        ],
        {"BASELINE_MODEL_FILE": str(plain)},
        f"http://127.0.0.1:{port}/predict",
        {405},  # GET on the POST-only route: a worker has imported the app and the model
        processes.gunicorn_workers,
    )
    port = processes.free_port()
    api_key = "bench-" + os.urandom(16).hex()
    (work / "api-keys").write_text(api_key + "\n")
    ours = Server(
        "ours",
        [python, "-m", "serving.cli"],
        {
            "SERVING_MODEL_STORE": str(store),
            "SERVING_VERIFY_KEY_FILE": str(key),
            "SERVING_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.workers),
            "SERVING_WORKER_CLASS": "sync",  # as serving_bench's default
            "SERVING_ACCESS_LOG": "false",
            "SERVING_AUTH_ENABLED": "true",
            "SERVING_API_KEYS_FILE": str(work / "api-keys"),
            "SERVING_RATE_LIMIT_ENABLED": "false",
        },
        f"http://127.0.0.1:{port}/readyz",
        {200},
        processes.gunicorn_workers,
    )
    ours.api_key = api_key
    servers = [baseline, ours]
    if mlserver is not None:
        port = processes.free_port()
        root = model_repository(work, store, key, args.workers, port)
        servers.append(
            Server(
                "mlserver",
                [str(mlserver), "start", str(root)],
                {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                f"http://127.0.0.1:{port}/v2/models/mnist/ready",
                {200},
                mlserver_workers,
                cwd=root,
            )
        )
    return servers


def model_repository(work: Path, store: Path, key: Path, workers: int, port: int) -> Path:
    """The signed artifact, verified, re-dumped as plain joblib for MLServer's sklearn runtime."""
    loaded = artifacts.load(store / "mnist" / "1", verifier=artifacts.load_verifier(key))
    root = work / "mlserver-models"
    model_dir = root / "mnist"
    model_dir.mkdir(parents=True)
    joblib.dump(loaded.estimator, model_dir / "model.joblib")
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "mnist",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    (root / "settings.json").write_text(
        json.dumps(
            {
                "debug": False,
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": processes.free_port(),
                "metrics_port": processes.free_port(),
                "parallel_workers": workers,
            }
        )
    )
    return root


# ---------------------------------------------------------------- load


def mlserver_bodies(rows: np.ndarray) -> dict[str, tuple[bytes, str, str]]:
    """V2 bodies asking for label and probabilities, like ours returns by default."""
    body = v2_requests.json_body(rows, outputs=("predict", "predict_proba"))
    binary = sb.v2_bodies(rows)["binary"]
    return {"json": (body, "application/json", ""), "binary": binary}


def probe_once(url: str, body: bytes, content_type: str, extra: str) -> tuple[int, str]:
    status, reply = sb.post(url, body, content_type, extra)
    return status, "" if status < 400 else reply[:300].decode(errors="replace")


def run_mlserver_scenarios(server: Server, features: np.ndarray, load, args, work: Path) -> dict:
    base = server.probe.rsplit("/v2/", 1)[0]
    url = base + "/v2/models/mnist/infer"
    scenarios: dict[str, dict] = {
        "mlserver/seed_28px": {
            "skipped": "MLServer's sklearn runtime has no image-upload endpoint (V2 tensors only)"
        }
    }
    for rows, kinds in ((1, ("json",)), (256, ("json", "binary"))):
        bodies = mlserver_bodies(features[:rows])
        for kind in kinds:
            body, ctype, extra = bodies[kind]
            name = f"mlserver/v2_{kind}_{rows}row"
            status, detail = probe_once(url, body, ctype, extra)
            if status != 200:
                scenarios[name] = {
                    "skipped": f"MLServer answered HTTP {status} to this request"
                    + (" (no binary tensor extension in its REST API)" if kind == "binary" else "")
                    + (f": {detail}" if detail else "")
                }
                continue
            scenarios[name] = {**load(url, body, ctype, extra, args, work), "rows": rows}
    return scenarios


def warm(server: Server, features: np.ndarray, load, args, work: Path) -> None:
    """A short load so RSS is measured on a worker that has served requests."""
    short = argparse.Namespace(**{**vars(args), "duration": 2})
    base = server.probe.rsplit("/", 1)[0] if server.name == "ours" else None
    if server.name == "baseline":
        body, ctype = sb.multipart(sb.png_of(features[0]))
        load(server.probe, body, ctype, "", short, work)
    elif server.name == "ours":
        auth = f"Authorization: Bearer {server.api_key}"
        body, ctype = sb.multipart(sb.png_of(features[0]))
        load(base + "/predict", body, ctype, auth, short, work)
        body, ctype, _ = sb.v2_bodies(features[:256])["json"]
        load(base + "/v2/models/mnist/infer", body, ctype, auth, short, work)


def measure(server: Server, features, load, args, work: Path) -> dict:
    log_file = work / f"{server.name}.log"
    starts, result = [], {}
    for attempt in range(args.cold_runs):
        started = time.perf_counter()
        with processes.running(
            server.command,
            server.env,
            log_file,
            lambda: processes.status_of(server.probe) in server.accept,
            interval=0.02,
            cwd=server.cwd,
        ) as proc:
            starts.append(time.perf_counter() - started)
            if attempt == args.cold_runs - 1:
                if server.name == "mlserver":
                    result["scenarios"] = run_mlserver_scenarios(server, features, load, args, work)
                else:
                    warm(server, features, load, args, work)
                result.update(processes.memory(proc.pid, server.workers))
    result["cold_start_s"] = round(statistics.median(starts), 3)
    result["cold_start_runs_s"] = [round(s, 3) for s in starts]
    return result


# ---------------------------------------------------------------- report


def with_ratios(results: dict, serving: dict | None) -> dict:
    """Ratios to the baseline (same run); MLServer's also to ours' matching scenario."""
    base = results["servers"]["baseline"]
    for server in results["servers"].values():
        server["cold_start_ratio"] = server["cold_start_s"] / base["cold_start_s"]
        if server.get("rss_per_worker_mb") and base.get("rss_per_worker_mb"):
            server["rss_per_worker_ratio"] = server["rss_per_worker_mb"] / base["rss_per_worker_mb"]
    scenarios = results["servers"].get("mlserver", {}).get("scenarios", {})
    if not serving:
        return results
    reference = serving["scenarios"]["baseline/seed_28px"]
    for name, scenario in scenarios.items():
        if "skipped" in scenario:
            continue
        scenario["rows_per_s"] = scenario["req_per_s"] * scenario["rows"]
        scenario["throughput_ratio"] = scenario["rows_per_s"] / reference["rows_per_s"]
        scenario["p99_ratio"] = scenario["p99_ms"] / reference["p99_ms"]
        scenario["compared_with"] = "baseline/seed_28px"
        ours = serving["scenarios"].get(name.replace("mlserver/", "ours/"))
        if ours:
            scenario["vs_ours_throughput"] = scenario["rows_per_s"] / ours["rows_per_s"]
            scenario["vs_ours_p99"] = scenario["p99_ms"] / ours["p99_ms"]
    return results


def report(results: dict) -> None:
    out = [f"{'server':10} {'cold start s':>12} {'x base':>7} {'RSS/worker MB':>14} {'x base':>7}"]
    for name, s in results["servers"].items():
        rss = s.get("rss_per_worker_mb")
        out.append(
            f"{name:10} {s['cold_start_s']:12.2f} {s['cold_start_ratio']:7.2f} "
            f"{rss if rss is not None else float('nan'):14.1f} "
            f"{s.get('rss_per_worker_ratio', float('nan')):7.2f}"
        )
    if results.get("mlserver_skipped"):
        out.append(f"mlserver   skipped: {results['mlserver_skipped']}")
    for name, s in results["servers"].get("mlserver", {}).get("scenarios", {}).items():
        if "skipped" in s:
            out.append(f"{name:28} skipped: {s['skipped']}")
    sys.stdout.write("\n".join(out) + "\n")


def run(args) -> dict:
    load = sb.load_generator()
    work = Path(tempfile.mkdtemp(prefix="mlserver-bench-"))
    results: dict = {
        **sb.load_facts(args, load),
        "worker_model": (
            "baseline/ours: Gunicorn master + N sync workers; "
            "mlserver: one uvicorn front-end process + parallel_workers=N inference processes"
        ),
        "servers": {},
    }
    mlserver = None
    try:
        mlserver = peer_venv.ensure(args.mlserver_venv, HERE / "requirements.txt", "mlserver")
        results["mlserver_version"] = subprocess.run(
            [str(mlserver), "--version"], capture_output=True, text=True
        ).stdout.strip()
    except peer_venv.EnvironmentUnavailable as exc:
        results["mlserver_skipped"] = str(exc)
    try:
        store, key, plain, features = sb.train_store(work)
        for server in contenders(args, work, store, key, plain, mlserver):
            results["servers"][server.name] = measure(server, features, load, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    serving = (
        json.loads(args.serving_results.read_text()) if args.serving_results.exists() else None
    )
    if serving:
        results["serving_results"] = str(args.serving_results.relative_to(ROOT))
    return with_ratios(results, serving)


def main() -> int:
    parser = sb.load_options(__doc__, "worker processes for each server", RESULTS)
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per server")
    parser.add_argument("--mlserver-venv", type=Path, default=ROOT / ".venv-mlserver")
    parser.add_argument("--serving-results", type=Path, default=BENCH / "results" / "serving.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return sb.save(run(args), args.output, report)


if __name__ == "__main__":
    sys.exit(main())
