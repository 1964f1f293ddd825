"""The stack's floor: server CPU per seed-contract request before any application work.

Issue 16 asks ``POST /predict`` (a 28 px PNG upload) for 1.5x the seed app's throughput on the
same Flask + Gunicorn stack. On a CPU-bound machine throughput is the inverse of the CPU a
request costs, so 1.5x means at most 1/1.5 of the seed app's CPU per request: the *budget*.
This bench measures, in one run with interleaved rounds (bench/serving_bench.py's helpers),
what part of that budget the stack takes before the application does anything:

- ``bare/<worker>``: a bare WSGI callable that reads the body and answers ``{"digit": 7}``
  (bench/floor_apps.py), under Gunicorn's ``sync`` worker and under ours (``buffered``, one
  thread, as served by default);
- ``flask/<worker>``: the same in a one-route Flask app;
- ``baseline/sync``: the seed app (bench/baseline_seed), which sets the budget;
- ``ours/buffered``: our server as ``make serve`` runs it (API-key auth and metrics on).

All get the same multipart body (a 28 px PNG of an MNIST digit) from the same load generator
(wrk with 8 connections when installed) with the same worker count. Printed and written to
bench/results/stack_floor.json: req/s, p99 and server CPU ms per request, and each row's
share of the budget.

    .venv/bin/python -m bench.stack_floor [--duration 6] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from bench import serving_bench as sb
from tests.support import processes

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "stack_floor.json"
TARGET = 1.5  # issue 16: /predict at 28 px, 1.5x the seed app's throughput
WORKERS = {"sync": "sync", "buffered": "serving.worker.BufferingWorker"}
FLOORS = {"bare": "floor_apps:bare", "flask": "floor_apps:flask_app"}


def gunicorn(app: str, worker: str, port: int, workers: int, chdir: Path) -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", WORKERS[worker]]
    command += ["--threads", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(chdir), app]
    return command


def servers(args, work: Path, trained: tuple) -> tuple[dict, str]:
    """name → (command, env, port) for every row, and the Authorization header for ours."""
    store, key, plain, _ = trained
    found: dict[str, tuple[list[str], dict, int]] = {}
    path = {"PYTHONPATH": str(sb.ROOT)}  # the buffered worker is serving.worker's
    for floor, app in FLOORS.items():
        for worker in WORKERS:
            port = processes.free_port()
            command = gunicorn(app, worker, port, args.workers, BENCH)
            found[f"{floor}/{worker}"] = (command, path, port)
    port = processes.free_port()
    command = gunicorn("app:app", "sync", port, args.workers, BENCH / "baseline_seed")
    found["baseline/sync"] = (command, {"BASELINE_MODEL_FILE": str(plain)}, port)
    api_key = secrets.token_urlsafe(32)
    port = processes.free_port()
    env = sb.our_env(store, key, api_key, "buffered", port, args, work)
    found["ours/buffered"] = ([sys.executable, "-m", "serving.cli"], env, port)
    return found, f"Authorization: Bearer {api_key}"


def measure(args, work: Path) -> dict:
    load = sb.load_generator()
    trained = sb.train_store(work)
    body, ctype = sb.multipart(sb.png_of(trained[3][0]))
    started, auth = servers(args, work, trained)
    with contextlib.ExitStack() as stack:
        runs, pids = {}, {}
        for name, (command, env, port) in started.items():
            url, pids[name] = stack.enter_context(
                sb.server(command, env, port, work / f"{name.replace('/', '-')}.log")
            )
            headers = auth if name.startswith("ours/") else ""
            runs[name] = (url + "/predict", body, ctype, headers)
        rows = sb.interleaved(runs, load, args, work, pids)
    budget = rows["baseline/sync"]["server_cpu_ms_per_request"] / TARGET
    for row in rows.values():
        cpu = row["server_cpu_ms_per_request"]
        row["share_of_budget"] = round(cpu / budget, 2)
        row["req_per_s_vs_baseline"] = round(
            row["req_per_s"] / rows["baseline/sync"]["req_per_s"], 2
        )
    return {
        **sb.load_facts(args, load),
        "load_average": os.getloadavg(),
        "target": f"{TARGET}x the seed app's throughput at 28 px",
        "budget_cpu_ms_per_request": round(budget, 3),
        "rows": rows,
    }


def report(results: dict) -> None:
    from bench.run import floor_rows

    sys.stdout.write("\n".join(floor_rows(results)) + "\n")


def main() -> int:
    parser = sb.load_options(__doc__, "gunicorn workers for every server", RESULTS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.set_defaults(our_env=[])  # ours runs as `make serve` runs it: no extra settings
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stack-floor-"))
    try:
        results = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sb.save(results, args.output, report)


if __name__ == "__main__":
    sys.exit(main())
