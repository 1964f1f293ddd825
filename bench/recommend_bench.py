"""Top-K recommendation latency: the in-process scorer and the real server over HTTP.

Generated ALS factors (no Spark): a catalogue of --items items × --rank factors, --users users
with --seen training items each, signed and loaded as a real recommender artifact. Measures:

- in process (``artifacts.runtime.FactorScorer``, one BLAS thread as in a server worker):
  single-user latency at k=10 with exclude_seen (p50/p99 over --requests random users) and
  users/s for batches of --batch users;
- over HTTP (``model-server``, one Gunicorn worker, loopback, one keep-alive connection):
  single-user ``POST /v1/models/recs:recommend`` latency p50/p99, and the same round trip for
  unknown users (no scoring: the cold-start list) and ``GET /healthz`` (no model route), so
  the HTTP cost every request pays shows next to the scorer's; plus the client's own CPU per
  request (the Python ``requests`` client is part of the HTTP figure).

Goal (issue 15): p99 <= 5 ms for one user in process at 100k items × rank 64.

    .venv/bin/python -m bench.recommend_bench [--items 100000] [--rank 64] [--requests 500]

Writes bench/results/recommend.json.
"""

from __future__ import annotations

import os

# One BLAS thread, as serving/gunicorn.conf.py sets for every worker (before numpy loads).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import requests  # noqa: E402

import artifacts  # noqa: E402
from artifacts.recommender import Factors  # noqa: E402
from artifacts.runtime import FactorScorer  # noqa: E402
from tests.support import processes  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
GOAL_P99_MS = 5.0
K = 10


def generate(n_users: int, n_items: int, rank: int, seen: int, seed: int = 0) -> Factors:
    rng = np.random.default_rng(seed)
    scale = np.float32(1 / np.sqrt(rank))
    seen_items = rng.integers(0, n_items, size=(n_users, seen), dtype=np.int32)
    seen_items.sort(axis=1)
    return Factors(
        user_ids=[f"u{i}" for i in range(n_users)],
        item_ids=[f"item-{j}" for j in range(n_items)],
        user_factors=rng.standard_normal((n_users, rank), dtype=np.float32) * scale,
        item_factors=rng.standard_normal((n_items, rank), dtype=np.float32) * scale,
        seen_indptr=np.arange(0, n_users * seen + 1, seen, dtype=np.int64),
        seen_items=seen_items.ravel(),
        popularity=np.bincount(seen_items.ravel(), minlength=n_items).astype(np.float32),
    )


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def in_process(scorer: FactorScorer, users: list[str], batch: int) -> dict:
    for user in users[:20]:  # warm caches and BLAS threads
        scorer.recommend([user], K)
    samples = []
    for user in users:
        started = time.perf_counter()
        scorer.recommend([user], K, exclude_seen=True)
        samples.append(time.perf_counter() - started)
    single = percentiles(samples)
    batches = [users[i : i + batch] for i in range(0, len(users), batch)]
    started = time.perf_counter()
    for chunk in batches:
        scorer.recommend(chunk, K, exclude_seen=True)
    elapsed = time.perf_counter() - started
    return {
        "single_user": single,
        "batch": {"size": batch, "users_per_s": round(len(users) / elapsed, 1)},
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": single["p99_ms"] <= GOAL_P99_MS,
    }


def over_http(store: Path, key: Path, users: list[str], log: Path) -> dict:
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "SERVING_BIND": f"127.0.0.1:{port}",
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key),
        "SERVING_AUTH_ENABLED": "false",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
        "WEB_CONCURRENCY": "1",
    }
    server = str(Path(sys.executable).with_name("model-server"))
    ready = lambda: processes.status_of(base + "/readyz") == 200  # noqa: E731
    url = f"{base}/v1/models/recs:recommend"
    with processes.running([server], env, log, ready, timeout=180), requests.Session() as http:
        for user in users[:20]:
            http.post(url, json={"user": user, "k": K}, timeout=30).raise_for_status()
        samples, client_cpu = timed(lambda user: http.post(url, json={"user": user, "k": K}), users)
        # The same round trip without the scorer (an unknown user gets the popularity list)
        # and without the app's route (the liveness probe): what every request costs.
        cold, _ = timed(lambda user: http.post(url, json={"user": f"new-{user}", "k": K}), users)
        probe, _ = timed(lambda _: http.get(base + "/healthz"), users)
    return {
        "single_user": percentiles(samples),
        "cold_start_user": percentiles(cold),
        "healthz": percentiles(probe),
        "client": "requests.Session, keep-alive",
        "client_cpu_ms_per_request": round(client_cpu * 1000, 3),
        "workers": 1,
    }


def timed(send, users: list[str]) -> tuple[list[float], float]:
    """Wall time of each request, and the client's own CPU seconds per request."""
    samples = []
    cpu = time.process_time()
    for user in users:
        started = time.perf_counter()
        reply = send(user)
        samples.append(time.perf_counter() - started)
        reply.raise_for_status()
    return samples, (time.process_time() - cpu) / len(users)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seen", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    factors = generate(args.users, args.items, args.rank, args.seen)
    rng = np.random.default_rng(1)
    users = [factors.user_ids[i] for i in rng.integers(0, args.users, size=args.requests)]
    with tempfile.TemporaryDirectory(prefix="recommend-bench-") as tmp:
        root = Path(tmp)
        key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
        signer = artifacts.load_signer(key)
        artifacts.save_recommender(
            root / "store", "recs", factors, signer=signer, version="1",
            rank=args.rank, implicit=True, cold_start="nan",
        )  # fmt: skip
        started = time.perf_counter()
        loaded, manifest = artifacts.load_recommender(
            root / "store" / "recs" / "1", artifacts.load_verifier(key)
        )
        scorer = FactorScorer(loaded, manifest)
        load_s = time.perf_counter() - started
        result = {
            "catalogue": {"items": args.items, "rank": args.rank, "users": args.users},
            "k": K,
            "exclude_seen": True,
            "load_s": round(load_s, 3),
            "in_process": in_process(scorer, users, args.batch),
        }
        if not args.skip_http:
            result["http"] = over_http(root / "store", key, users, root / "server.log")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recommend.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
