"""Fault injection against real Gunicorn: killed workers, a stopped master, a vanished
model store and a tampered artifact arriving through hot reload."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import artifacts
from tests.e2e.conftest import server_env
from tests.e2e.traffic import Call, Client, mixed_calls
from tests.serving.conftest import MNIST_SCHEMA
from tests.serving.live import accepted_by, live_server, pids_that_logged, ready, wait_until
from tests.support.v2_requests import json_body

CLIENTS = 4


def v2_call(rows: np.ndarray) -> Call:
    jtype = {"Content-Type": "application/json"}
    return Call("v2-json", "POST", "/v2/models/mnist/infer", json_body(rows), jtype)


class Load:
    """CLIENTS threads sending requests until stopped; outcomes kept with their client and send
    time: (client, started, ok, detail)."""

    def __init__(self, base: str, api_key: str, calls: list[Call]) -> None:
        self.base, self.api_key, self.calls = base, api_key, calls
        self.stop = threading.Event()
        self.outcomes: list[tuple[int, float, bool, str]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _run(self, offset: int) -> None:
        client = Client(self.base, self.api_key, timeout=20)
        i = offset
        while not self.stop.is_set():
            started = time.monotonic()
            result = client.send(self.calls[i % len(self.calls)])
            ok = result is not None and result[0] < 400
            detail = "" if ok else (client.failures[-1] if client.failures else "?")
            with self.lock:
                self.outcomes.append((offset, started, ok, detail))
            i += 1
            if result is None:
                client = Client(self.base, self.api_key, timeout=20)  # reconnect like a real client
        client.close()

    def failures(self, since: float = 0.0) -> list[str]:
        with self.lock:
            return [d for _, started, ok, d in self.outcomes if not ok and started >= since]

    def count(self, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for _, started, _, _ in self.outcomes if started >= since)


def fresh_get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One request on a new connection (so successive calls spread over the workers)."""
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def bearer(api_key: str) -> dict[str, str]:
    """GET /status lists models and failures only to authenticated callers."""
    return {"Authorization": f"Bearer {api_key}"}


def predict_version(base: str, api_key: str, rows: np.ndarray) -> str:
    body = json.dumps({"pixels": rows[0].tolist()}).encode()
    request = urllib.request.Request(
        base + "/predict",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["version"]


def admin_reload(base: str, admin_key: str) -> dict:
    request = urllib.request.Request(
        base + "/admin/reload", method="POST", headers={"Authorization": f"Bearer {admin_key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_sigkill_worker_under_load_only_in_flight_fail(tmp_path, session_store, credentials):
    env = server_env(session_store.path, session_store.key_file, credentials)
    calls = mixed_calls(session_store.images)[:6]  # model endpoints only
    with live_server(env, tmp_path / "server.log") as server:
        before = server.worker_pids()
        assert len(before) == 2
        with Load(server.base, credentials.api_key, calls) as load:
            assert wait_until(lambda: load.count(since=0) > 60, 60), "no traffic before the kill"
            os.kill(before[0], signal.SIGKILL)
            killed_at = time.monotonic()
            assert wait_until(lambda: len(set(server.worker_pids()) - {before[0]}) == 2, 30)
            assert wait_until(lambda: ready(server.base), 30)
            recovered_at = time.monotonic()
            wait_until(lambda: load.count(since=recovered_at) > 50, 60)
        assert load.count(since=recovered_at) > 50, "no traffic after recovery"
        assert load.failures(since=recovered_at) == []
        # each client had at most one request in flight (or one idle connection) on the worker:
        # it loses at most one request, either sent before the kill or, on a keep-alive
        # connection idle on the killed worker, the first one it sent after the kill
        lost = load.failures(since=0)
        assert len(lost) <= CLIENTS, lost
        for client in range(CLIENTS):
            sent = [(started, ok) for c, started, ok, _ in load.outcomes if c == client]
            failed = [started for started, ok in sent if not ok]
            assert len(failed) <= 1, (client, failed)
            if failed and failed[0] > killed_at:
                assert failed[0] == min(started for started, _ in sent if started > killed_at)
        assert len(load.outcomes) > 100
        assert server.process.poll() is None, "the master must survive a worker's death"


def _start_partial_request(port: int, api_key: str, body: bytes) -> socket.socket:
    """Send the headers and half the body of a V2 request: it is in flight in a worker."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /v2/models/mnist/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) // 2])
    return sock


def _finish(sock: socket.socket, body: bytes) -> bytes:
    sock.sendall(body[len(body) // 2 :])
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


@pytest.mark.slow
def test_sigterm_master_lets_in_flight_requests_complete(tmp_path, session_store, credentials):
    env = server_env(
        session_store.path, session_store.key_file, credentials, SERVING_GRACEFUL_TIMEOUT="15"
    )
    body = v2_call(session_store.images[:64]).body
    with live_server(env, tmp_path / "server.log") as server:
        # one per worker: a sync worker holds one connection at a time, and a connection still
        # in the listen backlog when the master closes it was never in flight
        in_flight = [
            _start_partial_request(server.port, credentials.api_key, body)
            for _ in server.worker_pids()
        ]
        workers = server.worker_pids()
        assert wait_until(  # each half-sent request is held by a worker, not the backlog
            lambda: all(accepted_by(workers, s.getsockname()[1]) for s in in_flight), 30
        )
        server.process.send_signal(signal.SIGTERM)
        # the master is draining: listeners closed, workers told to stop
        refused = wait_until(lambda: not ready(server.base), 10)
        replies = [_finish(sock, body) for sock in in_flight]
        code = server.process.wait(timeout=30)
    for reply in replies:
        assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        assert b'"outputs"' in reply
    assert refused, "new connections must not be served once the master is stopping"
    assert code == 0, server.log()[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["renamed", "replaced-by-file"])
def test_unreadable_store_keeps_serving_loaded_models(
    tmp_path, store_copy, session_store, credentials, fault
):
    env = server_env(store_copy, session_store.key_file, credentials, SERVING_RELOAD_INTERVAL="0.3")
    with live_server(env, tmp_path / "server.log") as server:
        # /readyz answers as soon as one worker is up; break the store only once every worker
        # serves it (the master loaded it before forking them: preload)
        preloaded = "serving mnist/2 (preloaded in the master)"
        assert wait_until(lambda: len(pids_that_logged(server.log(), preloaded)) == 2, 60)
        assert predict_version(server.base, credentials.api_key, session_store.images) == "2"
        store_copy.rename(store_copy.with_name("store.gone"))
        if fault == "replaced-by-file":
            store_copy.write_text("not a directory\n")
        # a poll has seen the broken store and kept its models (pollers start with a
        # worker's first request, so a worker that served none yet has not polled)
        assert wait_until(lambda: pids_that_logged(server.log(), "cannot load any model"), 30)
        result = admin_reload(server.base, credentials.admin_key)
        assert result["changed"] is False
        assert result["refused"], "the unreadable store must be reported"
        for _ in range(8):  # fresh connections: every worker
            status, readiness = fresh_get(server.base, "/status", bearer(credentials.api_key))
            assert status == 200, readiness
            assert {m["version"] for m in readiness["models"] if m["name"] == "mnist"} == {
                "1",
                "2",
            }
            version = predict_version(server.base, credentials.api_key, session_store.images)
            assert version == "2", server.log()[-4000:]
        assert server.process.poll() is None


@pytest.mark.slow
def test_not_ready_only_when_no_model_is_loaded(tmp_path, session_store, credentials):
    empty = tmp_path / "empty-store"
    empty.mkdir()
    env = server_env(empty, session_store.key_file, credentials)
    env.pop("SERVING_DEFAULT_MODEL")
    with live_server(env, tmp_path / "server.log", probe="/healthz") as server:
        assert fresh_get(server.base, "/readyz")[0] == 503
        assert fresh_get(server.base, "/v2/health/ready")[0] == 503
        assert fresh_get(server.base, "/healthz")[0] == 200


def _tampered_copy(source: Path, target: Path) -> None:
    """Copy an artifact and flip one byte in the middle of its model file."""
    staging = target.with_name("." + target.name + ".staging")
    shutil.copytree(source, staging)
    model = staging / "model.joblib.gz"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    staging.rename(target)


def _foreign_signed(store: Path, estimator, tmp: Path) -> None:
    """Write mnist/3 signed with a key the server does not trust."""
    other = artifacts.generate_keys("hmac-sha256", tmp / "other-keys")["secret"]
    artifacts.save(
        estimator,
        store,
        "mnist",
        version="3",
        signer=artifacts.load_signer(other),
        input_schema=MNIST_SCHEMA,
    )


@pytest.mark.slow
@pytest.mark.parametrize("tamper", ["flipped-byte", "foreign-key"])
def test_tampered_artifact_in_hot_reload_is_refused(
    tmp_path, store_copy, session_store, credentials, tamper
):
    env = server_env(store_copy, session_store.key_file, credentials, SERVING_RELOAD_INTERVAL="0.3")
    api = credentials.api_key
    estimator = artifacts.load(
        store_copy / "mnist" / "2", verifier=artifacts.load_verifier(session_store.key_file)
    ).estimator
    with live_server(env, tmp_path / "server.log") as server:
        if tamper == "flipped-byte":
            _tampered_copy(store_copy / "mnist" / "2", store_copy / "mnist" / "3")
        else:
            _foreign_signed(store_copy, estimator, tmp_path)
        result = admin_reload(server.base, credentials.admin_key)
        assert [(r["name"], r["version"]) for r in result["refused"]] == [("mnist", "3")]
        assert result["added"] == []

        def all_workers_refused() -> bool:
            replies = [
                fresh_get(server.base, "/status", bearer(credentials.api_key))[1] for _ in range(6)
            ]
            return all(
                any(f["version"] == "3" for f in reply.get("failures", [])) for reply in replies
            )

        assert wait_until(all_workers_refused, 10)
        for _ in range(8):
            assert predict_version(server.base, api, session_store.images) == "2"
        # control: a correctly signed version arriving the same way is swapped in
        signer = artifacts.load_signer(session_store.key_file)
        artifacts.save(
            estimator, store_copy, "mnist", version="4", signer=signer, input_schema=MNIST_SCHEMA
        )
        assert wait_until(
            lambda: all(
                predict_version(server.base, api, session_store.images) == "4" for _ in range(6)
            ),
            10,
        )
        assert "Traceback" not in server.log()
