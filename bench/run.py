"""`make bench`: every benchmark in one run, then one table of ratios.

Runs, in this order and in separate processes (so one's memory never inflates another's):
bench/train_bench.py (Spark job vs the seed trainer), bench/serving_bench.py (our server vs
the seed baseline under wrk), bench/mlserver/compare.py (MLServer's sklearn runtime on the
same model, cold start and RSS of all three), bench/mlflow/compare.py (MLflow's
`mlflow models serve` vs ours on one tabular pipeline, POST /invocations),
bench/real_clients.py (accuracy of the upload path on real clients' digit pictures),
bench/recommend_bench.py (top-K recommendations: 100k items × rank 64, in process and over
HTTP), bench/tracing_bench.py (the server with OpenTelemetry tracing on against off) and
bench/predict_bench.py (batch scoring: the `predict` Spark job on local[1] and local[2] against
MLflow's `spark_udf` on the same masters, with labels and with probabilities, and a
single-process pandas floor) and bench/stack_floor.py (server CPU per seed upload of a bare
WSGI app and a one-route Flask app under each Gunicorn worker, against the seed app and ours).
Ratios are only meaningful within one run: everything here shares the same machine, load
generator, worker count and minute.

    .venv/bin/python -m bench.run [--duration 10] [--workers 2] [--connections 8]
                                  [--train-factors 1,4,16] [--skip-train] [--batch-rows 1000000]

Writes bench/results/{train,serving,mlserver,mlflow,real_clients,recommend,tracing,predict,
stack_floor,summary}.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent  # the benchmarks run as `python -m bench.NAME` from here
RESULTS = BENCH / "results"
NAN = float("nan")


def ratio(value: float | None, width: int) -> str:
    """A ratio column: blank (not 'nan') where the comparison does not apply."""
    return f"{value:{width}.2f}" if value is not None else " " * (width - 1) + "-"


def step(name: str, command: list[str]) -> str | None:
    """Run one benchmark with its output streaming through; a failure is reported, not fatal."""
    sys.stdout.write(f"\n=== {name}: {' '.join(command[1:])}\n")
    sys.stdout.flush()
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    sys.stdout.write(f"=== {name}: exit {code} after {time.monotonic() - started:.0f}s\n")
    return None if code == 0 else f"{name} exited with status {code} (see its output above)"


def serving_rows(serving: dict | None, mlserver: dict | None) -> list[str]:
    head = f"{'scenario':28} {'req/s':>8} {'rows/s':>9} {'p50 ms':>7} {'p99 ms':>8} "
    head += f"{'x thrpt':>7} {'x p99':>6} {'vs ours':>7}"
    lines = [head, "-" * len(head)]
    scenarios = dict(serving["scenarios"]) if serving else {}
    if mlserver:
        scenarios.update(mlserver.get("servers", {}).get("mlserver", {}).get("scenarios", {}))
    for name, r in scenarios.items():
        if "skipped" in r:
            lines.append(f"{name:28} n/a: {r['skipped']}")
            continue
        lines.append(
            f"{name:28} {r['req_per_s']:8.0f} {r['rows_per_s']:9.0f} {r['p50_ms']:7.2f} "
            f"{r['p99_ms']:8.2f} {ratio(r.get('throughput_ratio'), 7)} "
            f"{ratio(r.get('p99_ratio'), 6)} {ratio(r.get('vs_ours_throughput'), 7)}"
        )
    if mlserver and mlserver.get("mlserver_skipped"):
        lines.append(f"{'mlserver/*':28} n/a: {mlserver['mlserver_skipped']}")
    return lines


def tabular_rows(mlflow: dict | None) -> list[str]:
    """Ours vs MLflow per scenario; the ratio columns are ours / MLflow at the same size."""
    if not mlflow:
        return ["(no MLflow comparison results)"]
    head = f"{'scenario':28} {'req/s':>8} {'rows/s':>9} {'p50 ms':>7} {'p99 ms':>8} "
    head += f"{'rows/cpu-s':>10} {'x thrpt':>7} {'x p99':>6} {'x cpu':>6} {'goal':>6}"
    lines = [head, "-" * len(head)]
    for name, r in sorted(mlflow.get("scenarios", {}).items()):
        row = f"{name:28} {r['req_per_s']:8.0f} {r['rows_per_s']:9.0f} {r['p50_ms']:7.2f} "
        row += f"{r['p99_ms']:8.2f} {r.get('rows_per_cpu_s') or NAN:10.0f}"
        compared = mlflow.get("comparison", {}).get(f"{r['rows']}row")
        if compared and name.startswith("ours/"):
            met = "met" if compared["goal_met"] else "missed"
            row += f" {compared['throughput_ratio']:7.2f} {compared['p99_ratio']:6.2f} "
            row += f"{ratio(compared.get('cpu_efficiency_ratio'), 6)} {met:>6}"
        lines.append(row)
    if mlflow.get("mlflow_skipped"):
        lines.append(f"{'mlflow/*':28} n/a: {mlflow['mlflow_skipped']}")
    return lines


def footprint_rows(mlserver: dict | None) -> list[str]:
    if not mlserver:
        return ["(no footprint results)"]
    head = f"{'server':10} {'cold start s':>12} {'x base':>7} {'RSS/worker MB':>14} {'x base':>7}"
    head += f" {'RSS total MB':>13}"
    lines = [head, "-" * len(head)]
    for name, s in mlserver["servers"].items():
        lines.append(
            f"{name:10} {s['cold_start_s']:12.2f} {s['cold_start_ratio']:7.2f} "
            f"{s.get('rss_per_worker_mb') or NAN:14.1f} {ratio(s.get('rss_per_worker_ratio'), 7)} "
            f"{s['rss_total_mb']:13.1f}"
        )
    return lines


def training_rows(train: dict | None) -> list[str]:
    if not train:
        return ["(no training results)"]
    head = f"{'rows':>7} {'spark s':>8} {'x':>5} {'driver MB':>9} {'x':>5} {'seed sgd s':>10}"
    lines = [head, "-" * len(head)]
    for size in train["sizes"]:
        s, k = size["spark"], size["sklearn"]
        lines.append(
            f"{s['train_rows']:>7} {s['wall_s']:8.1f} {s['time_ratio']:5.2f} "
            f"{s['driver_peak_rss_mb']:9.0f} {s['rss_ratio']:5.2f} {k['wall_s']:10.1f}"
        )
    return lines


def real_client_rows(real: dict | None) -> list[str]:
    """Accuracy per form and on the seed cases, as bench/real_clients.py laid the table out."""
    if not real:
        return ["(no real-client results)"]
    return [f"model: {real['model']}", *real["table"]]


def recommend_rows(rec: dict | None) -> list[str]:
    if not rec:
        return ["(no recommendation results)"]
    single, batch = rec["in_process"]["single_user"], rec["in_process"]["batch"]
    met = "met" if rec["in_process"]["goal_met"] else "missed"
    lines = [
        f"in process  p50 {single['p50_ms']:.2f} ms  p99 {single['p99_ms']:.2f} ms  "
        f"(goal p99 <= {rec['in_process']['goal_p99_ms']:g} ms: {met}); "
        f"batches of {batch['size']}: {batch['users_per_s']:.0f} users/s",
    ]
    if "http" in rec:
        http = rec["http"]["single_user"]
        lines.append(
            f"over HTTP   p50 {http['p50_ms']:.2f} ms  p99 {http['p99_ms']:.2f} ms  "
            f"(x p50 vs in process {http['p50_ms'] / single['p50_ms']:.1f})"
        )
        if "healthz" in rec["http"]:
            cold, probe = rec["http"]["cold_start_user"], rec["http"]["healthz"]
            lines.append(
                f"  same connection: unknown user (no scoring) p50 {cold['p50_ms']:.2f} ms, "
                f"GET /healthz p50 {probe['p50_ms']:.2f} ms; client CPU "
                f"{rec['http']['client_cpu_ms_per_request']:.2f} ms/request"
            )
    return lines


def tracing_rows(tracing: dict | None) -> list[str]:
    """Tracing on (every request sampled) against off, V2 JSON with one row."""
    if not tracing:
        return ["(no tracing results)"]
    rows = [f"{'':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"]
    for name, r in tracing["scenarios"].items():
        rows.append(f"{name:12} {r['req_per_s']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}")
    x = tracing["on_over_off"]
    rows.append(f"{'x on / off':12} {x['req_per_s']:9.2f} {x['p50_ms']:8.2f} {x['p99_ms']:8.2f}")
    return rows


def batch_rows(predict: dict | None) -> list[str]:
    """Scoring-stage rows/s per engine and master, then the ratios against the goals."""
    if not predict:
        return ["(no batch scoring results)"]
    head = f"{'engine':18} {'master':9} {'rows/s':>8} {'seconds':>7} {'cold rows/s':>11} "
    head += f"{'cold s':>7} {'worker RSS MB':>13} {'cores busy':>10}"
    lines = [head, "-" * len(head)]
    floor = predict["pandas_floor"]
    lines.append(f"{'pandas floor':18} {'1 process':9} {floor['rows_per_second']:8.0f} "
                 f"{floor['seconds']:7.2f} {'-':>11} {'-':>7} {'-':>13}")  # fmt: skip
    engines = (
        ("ours (predict)", "ours"),
        ("MLflow spark_udf", "mlflow_spark_udf"),
        ("MLflow, proba", "mlflow_spark_udf_probabilities"),
    )
    for label, key in engines:
        for master, r in predict.get(key, {}).items():
            lines.append(f"{label:18} {master:9} {r['rows_per_second']:8.0f} "
                         f"{r['seconds']:7.2f} {r['cold_rows_per_second']:11.0f} "
                         f"{r['cold_seconds']:7.2f} {r['worker_rss_mb']:13.0f} "
                         f"{r.get('cores_busy', NAN):10.2f}")  # fmt: skip
    if predict.get("mlflow_skipped"):
        lines.append(f"{'MLflow spark_udf':22} n/a: {predict['mlflow_skipped']}")
    x, goals = predict["ratios"], predict["goals"]
    lines += [
        f"x ours / MLflow: local[1] {ratio(x['ours_over_mlflow_local1'], 5).strip()}, "
        f"local[2] {ratio(x['ours_over_mlflow_local2'], 5).strip()} "
        f"(goal >= 2: {'met' if goals['ours_over_mlflow >= 2'] else 'missed'}; MLflow writes "
        "the label only)",
        f"x ours / MLflow with probabilities (both write them): local[1] "
        f"{ratio(x.get('ours_over_mlflow_probabilities_local1'), 5).strip()}, local[2] "
        f"{ratio(x.get('ours_over_mlflow_probabilities_local2'), 5).strip()} (goal >= 2: "
        f"{'met' if goals.get('ours_over_mlflow_probabilities >= 2') else 'missed'})",
        f"x local[2] / local[1]: ours {ratio(x['ours_local2_over_local1'], 5).strip()} "
        f"(goal >= 1.7: {'met' if goals['local2_over_local1 >= 1.7'] else 'missed'}), "
        f"MLflow {ratio(x['mlflow_local2_over_local1'], 5).strip()}",
        f"x ours local[2] / pandas floor: {ratio(x['ours_local2_over_floor'], 5).strip()}",
    ]
    if "agreement" in predict:
        lines.append(f"same prediction on all {predict['agreement']['rows_compared']} rows")
    if "probability_agreement" in predict:
        same = predict["probability_agreement"]
        lines.append(
            f"probabilities identical on {same['identical_rows']} of {same['rows_compared']} "
            f"rows (largest difference {same['max_abs_difference']:g})"
        )
    return lines


def floor_rows(floor: dict | None) -> list[str]:
    """Server CPU per seed upload of the bare stack, the seed app and ours; the 1.5x budget."""
    if not floor:
        return ["(no stack floor results)"]
    budget = floor["budget_cpu_ms_per_request"]
    lines = [f"budget for {floor['target']}: {budget:.3f} ms of server CPU per request"]
    lines.append(f"{'server':16} {'req/s':>8} {'x base':>7} {'p99 ms':>7} {'cpu ms/req':>10} "
                 f"{'x budget':>9}")  # fmt: skip
    for name, r in floor["rows"].items():
        lines.append(f"{name:16} {r['req_per_s']:8.0f} {r['req_per_s_vs_baseline']:7.2f} "
                     f"{r['p99_ms']:7.2f} {r['server_cpu_ms_per_request']:10.3f} "
                     f"{r['share_of_budget']:9.2f}")  # fmt: skip
    return lines


def load(path: Path, since: float) -> dict | None:
    """A result file written by this run (older files would mix runs, so they are ignored)."""
    if path.exists() and path.stat().st_mtime >= since:
        return json.loads(path.read_text())
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--train-factors", default="1,4,16")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument(
        "--batch-rows", type=int, default=1_000_000, help="rows in the batch scoring table"
    )
    args = parser.parse_args()
    python, started = sys.executable, time.time()
    load_args = ["--duration", str(args.duration), "--workers", str(args.workers)]
    load_args += ["--connections", str(args.connections)]
    problems = []
    if not args.skip_train:
        problems.append(
            step("train", [python, "-m", "bench.train_bench", "--factors", args.train_factors])
        )
    problems.append(step("serving", [python, "-m", "bench.serving_bench", *load_args]))
    compare = [python, "-m", "bench.mlserver.compare", *load_args]
    problems.append(step("mlserver", [*compare, "--cold-runs", str(args.cold_runs)]))
    problems.append(step("mlflow", [python, "-m", "bench.mlflow.compare", *load_args]))
    problems.append(step("real clients", [python, "-m", "bench.real_clients"]))
    problems.append(step("recommend", [python, "-m", "bench.recommend_bench"]))
    problems.append(step("tracing", [python, "-m", "bench.tracing_bench", *load_args]))
    predict_bench = [python, "-m", "bench.predict_bench", "--rows", str(args.batch_rows)]
    problems.append(step("batch", predict_bench))
    floor = [python, "-m", "bench.stack_floor", *load_args]
    problems.append(step("stack floor", floor))
    train = load(RESULTS / "train.json", started)
    serving = load(RESULTS / "serving.json", started)
    mlserver = load(RESULTS / "mlserver.json", started)
    mlflow = load(RESULTS / "mlflow.json", started)
    real = load(RESULTS / "real_clients.json", started)
    rec = load(RESULTS / "recommend.json", started)
    tracing = load(RESULTS / "tracing.json", started)
    predict = load(RESULTS / "predict.json", started)
    stack = load(RESULTS / "stack_floor.json", started)
    lines = [
        "",
        f"== Serving ({args.workers} workers, {args.connections} connections, "
        f"{args.duration}s per scenario; x = ratio to baseline/seed_28px rows/s or the "
        "baseline's matching scenario; vs ours = MLServer / ours)",
        *serving_rows(serving, mlserver),
        "",
        f"== Tabular POST /invocations, dataframe_split (ours vs MLflow's `mlflow models serve`, "
        f"{args.workers} workers each; x = ours / MLflow at the same size, x cpu in rows per "
        "server CPU-second; goal: x thrpt >= 3, x p99 <= 1)",
        *tabular_rows(mlflow),
        "",
        "== Cold start (process start -> ready) and memory after warm load; x = / baseline",
        *footprint_rows(mlserver),
        "",
        "== Training (Spark job local[2] vs the seed's SGDClassifier); x = / smallest size",
        *(training_rows(train) if not args.skip_train else ["(skipped: --skip-train)"]),
        "",
        "== Real clients' digits: accuracy through decode + to_mnist + model, per form "
        "(goals: overall >= 0.90, each form >= 0.80; seed cases all right)",
        *real_client_rows(real),
        "",
        "== Recommendations: top-10 of 100k items x rank 64, one user, exclude_seen "
        "(one worker, one BLAS thread)",
        *recommend_rows(rec),
        "",
        "== OpenTelemetry tracing on (always_on, OTLP/HTTP to a loopback sink) vs off, V2 JSON "
        "1 row; x = on / off",
        *tracing_rows(tracing),
        "",
        f"== Batch scoring: {predict['rows'] if predict else args.batch_rows} Parquet rows "
        "(8 files), one signed scikit-learn pipeline; scoring stage (map + Parquet write) "
        "rows/s, second run in the session (cold = first); x = ratio of those, in this run",
        *batch_rows(predict),
        "",
        "== The stack's floor: server CPU per 28 px seed upload of a bare WSGI app and a "
        "one-route Flask app (no model), the seed app and ours; x budget = / the CPU a request "
        "may cost for 1.5x the seed app's throughput",
        *floor_rows(stack),
    ]
    problems = [p for p in problems if p]
    lines += [f"!! {p}" for p in problems]
    sys.stdout.write("\n".join(lines) + "\n")
    summary = {"started": started, "args": vars(args), "problems": problems}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
