"""Tracing overhead: the same model-server with tracing off and on, V2 JSON with one row.

Two model-servers (Gunicorn, same worker count, auth and metrics on) serve the same model; one
runs with ``SERVING_TRACING=otlp`` and samples every request (``always_on``, the worst case),
exporting through the batch span processor over OTLP/HTTP to a loopback sink in this process
that accepts and counts the exports. The load alternates between the two in short rounds
(``serving_bench.interleaved``), so a busy machine slows both alike. Printed and written to
bench/results/tracing.json: req/s and p50/p99 of each, and their on/off ratios.

    .venv/bin/python -m bench.tracing_bench [--duration 6] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from bench import serving_bench
from tests.support import processes

RESULTS = serving_bench.ROOT / "bench" / "results" / "tracing.json"
SPANS_PER_REQUEST = 6  # the server span, auth, decode, preprocess, predict, encode


class _Sink(BaseHTTPRequestHandler):
    """Answers every OTLP/HTTP export with 200 and counts it (requests, bytes, spans)."""

    counts: ClassVar[dict[str, int]] = {"exports": 0, "bytes": 0, "spans": 0}
    lock = threading.Lock()

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        size = int(self.headers.get("Content-Length", "0"))
        export = ExportTraceServiceRequest.FromString(self.rfile.read(size))
        spans = sum(len(s.spans) for r in export.resource_spans for s in r.scope_spans)
        with self.lock:
            self.counts["exports"] += 1
            self.counts["bytes"] += size
            self.counts["spans"] += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sink.server_address[1]}"
    finally:
        sink.shutdown()
        sink.server_close()


def benchmark(args, load, work: Path) -> dict:
    store, key, _, features = serving_bench.train_store(work)
    api_key = secrets.token_urlsafe(32)
    (work / "api-keys").write_text(api_key + "\n")
    common = {
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key),
        "WEB_CONCURRENCY": str(args.workers),
        "SERVING_ACCESS_LOG": "false",
        "SERVING_API_KEYS_FILE": str(work / "api-keys"),
        "SERVING_RATE_LIMIT_ENABLED": "false",
    }
    body, ctype, _ = serving_bench.v2_bodies(features[:1])["json"]
    headers = f"Authorization: Bearer {api_key}"
    command = [sys.executable, "-m", "serving.cli"]
    off_port, on_port = processes.free_port(), processes.free_port()
    with otlp_sink() as endpoint:
        traced = {
            **common,
            "SERVING_BIND": f"127.0.0.1:{on_port}",
            "SERVING_TRACING": "otlp",
            "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        }
        untraced = {**common, "SERVING_BIND": f"127.0.0.1:{off_port}"}
        with (
            serving_bench.server(command, untraced, off_port, work / "off.log") as off_url,
            serving_bench.server(command, traced, on_port, work / "on.log") as on_url,
        ):
            path = "/v2/models/mnist/infer"
            runs = {
                "tracing off": (off_url + path, body, ctype, headers),
                "tracing on": (on_url + path, body, ctype, headers),
            }
            scenarios = serving_bench.interleaved(runs, load, args, work)
        exported = dict(_Sink.counts)  # after the servers stopped: their last batches are in
    off, on = scenarios["tracing off"], scenarios["tracing on"]
    # interleaved() gives each run duration // rounds seconds per round
    traced_requests = on["req_per_s"] * args.rounds * max(1, args.duration // args.rounds)
    exported["spans_expected"] = round(traced_requests * SPANS_PER_REQUEST)
    ratios = {
        "req_per_s": on["req_per_s"] / off["req_per_s"],
        "p50_ms": on["p50_ms"] / off["p50_ms"],
        "p99_ms": on["p99_ms"] / off["p99_ms"],
    }
    return {
        **serving_bench.load_facts(args, load),
        "request": "V2 JSON, 1 row, API-key auth, metrics on",
        "sampler": "always_on",
        "exported": exported,
        "scenarios": scenarios,
        "on_over_off": ratios,
    }


def report(results: dict) -> None:
    lines = [f"{'':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"]
    for name, r in results["scenarios"].items():
        lines.append(f"{name:12} {r['req_per_s']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}")
    ratio = results["on_over_off"]
    lines.append(
        f"{'on / off':12} {ratio['req_per_s']:9.2f} {ratio['p50_ms']:8.2f} {ratio['p99_ms']:8.2f}"
    )
    exported = results["exported"]
    lines.append(
        f"exported: {exported['spans']} spans (about {exported['spans_expected']} expected from "
        f"the request count) in {exported['exports']} OTLP requests, {exported['bytes']} bytes"
    )
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> int:
    parser = serving_bench.load_options(__doc__, "gunicorn workers for both", RESULTS)
    parser.set_defaults(duration=6)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    load = serving_bench.load_generator()
    work = Path(tempfile.mkdtemp(prefix="tracing-bench-"))
    try:
        results = benchmark(args, load, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return serving_bench.save(results, args.output, report)


if __name__ == "__main__":
    sys.exit(main())
