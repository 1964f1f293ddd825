"""Admission control and deadlines (issue 17, first part): the gate, the app, a real overload."""

from __future__ import annotations

import io
import itertools
import json
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import requests
from PIL import Image
from urllib3 import encode_multipart_formdata

from serving import create_app
from serving.admission import ARRIVED, GATE, VERDICT, Decision, Gate, overloaded_response
from serving.deadline import budget
from serving.errors import InvalidTimeout
from serving.settings import Settings, SettingsError
from serving.worker import request_head

from .live import live_server, wait_until

# --- the gate, on a fake clock ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _gate(limit=4, threads=2, wait=1.0, unready_for=5.0) -> tuple[Gate, Clock, list[str]]:
    clock, refused = Clock(), []
    gate = Gate(limit, threads, wait, unready_for, clock=clock)
    gate.on_reject = refused.append
    return gate, clock, refused


def test_gate_runs_on_free_threads_then_queues_then_refuses():
    gate, _, refused = _gate()
    decisions = [gate.offer(n) for n in range(5)]
    assert decisions == [Decision.RUN] * 2 + [Decision.WAIT] * 2 + [Decision.REJECT]
    assert refused == ["overloaded"]
    assert gate.held == 4


def test_gate_hands_a_finished_thread_to_the_oldest_waiter():
    gate, _, _ = _gate()
    for n in range(4):
        gate.offer(n)
    assert gate.release() == 2
    assert gate.release() == 3
    assert (gate.running, len(gate.waiting)) == (2, 0)
    assert gate.release() is None
    assert gate.running == 1


def test_gate_does_not_let_a_newcomer_overtake_waiters():
    gate, _, _ = _gate(limit=4, threads=1)
    gate.offer("a")
    gate.offer("b")
    assert gate.release() == "b"  # a's thread goes to b, not to whoever arrives next
    assert gate.offer("c") is Decision.WAIT


def test_gate_refuses_waiters_when_their_wait_is_over():
    gate, clock, refused = _gate(wait=0.5)
    for n in range(4):
        gate.offer(n)
    clock.now += 0.1
    gate.offer("late")  # refused: full
    assert gate.expire() == []
    assert gate.next_expiry() == pytest.approx(100.5)
    clock.now += 0.5
    assert gate.expire() == [2, 3]
    assert refused == ["overloaded", "wait_timeout", "wait_timeout"]


def test_gate_without_wait_refuses_as_soon_as_threads_are_busy():
    gate, _, _ = _gate(wait=0)
    assert [gate.offer(n) for n in range(3)] == [Decision.RUN, Decision.RUN, Decision.REJECT]


def _refuse_for(gate: Gate, clock: Clock, seconds: float, step: float = 0.1, counted=True):
    """Refusals every ``step`` seconds for ``seconds`` (the gate is full: each offer refused)."""
    for _ in range(round(seconds / step)):
        assert gate.offer("late", counted=lambda: counted) is Decision.REJECT
        clock.now += step


def test_clients_waiting_their_turn_are_all_served_in_order():
    """Eight clients that each send again once answered: a line that never overflows."""
    gate, clock, refused = _gate(limit=Settings().in_flight_limit, threads=1, wait=1.0)
    for n in range(8):
        gate.offer(n)
    served = []
    for n in range(8, 300):
        clock.now += 0.05
        assert gate.expire() == []
        served.append(gate.release())
        assert gate.offer(n) is Decision.WAIT  # the client answered sends its next request
    assert served == list(range(1, 293))
    assert refused == []
    assert not gate.overflowed()


def test_a_burst_waits_in_line_and_is_served_in_full():
    """A page loading eight things at once: every request waits its turn, none is refused."""
    gate, clock, refused = _gate(limit=8, threads=1, wait=1.0)
    decisions = [gate.offer(n) for n in range(8)]
    assert decisions == [Decision.RUN] + [Decision.WAIT] * 7
    served = []
    for _ in range(8):
        clock.now += 0.02  # each takes 20 ms
        assert gate.expire() == []
        served.append(gate.release())
    assert served == [1, 2, 3, 4, 5, 6, 7, None]
    assert refused == []


def test_an_overflowed_line_shrinks_and_admits_only_the_recently_arrived():
    """Issue 27: under 2x overload an admitted request must not wait behind a deep line."""
    gate, clock, refused = _gate(limit=Settings().in_flight_limit, threads=1, wait=1.0)
    service, arrivals, waited = 0.05, itertools.count(), {}
    gate.offer(next(arrivals))
    arrived, standing, longest = {}, 0, 0
    for step in range(400):  # 20 s: two arrivals per service time, one thread
        n = next(arrivals)
        arrived[n] = clock.now
        gate.offer(n)
        clock.now += service / 2
        if step > 20:  # after the first second
            standing += gate.overflowed()
            longest = max(longest, len(gate.waiting))
        if step % 2:
            gate.expire()
            item = gate.release()  # the freed thread goes to ``item``
            if item is not None:
                waited[item] = clock.now - arrived[item]
    assert standing > 370  # overloaded nearly all the time
    assert longest <= gate.running_limit
    steady = [w for n, w in waited.items() if arrived[n] > 100.0 + 1.0]  # after the first second
    assert max(steady) <= 2 * service + 1e-9, steady  # not the 7 service times of a FIFO of 8
    assert refused.count("overloaded") + refused.count("wait_timeout") > 150


def test_a_full_gate_or_a_burst_is_not_an_overload():
    gate, _, refused = _gate(limit=2, threads=1, wait=0, unready_for=5.0)
    assert not gate.shedding()
    gate.offer(1)
    assert gate.held == gate.limit - 1
    for _ in range(100):  # a burst: a hundred refusals within the same instant
        gate.offer(2)
    assert len(refused) == 100
    assert not gate.shedding()  # every slot held, many refused, but not for long


def test_shedding_after_sustained_counted_refusals_and_for_a_while_after():
    gate, clock, _ = _gate(limit=1, threads=1, wait=0, unready_for=5.0)
    gate.offer(1)
    _refuse_for(gate, clock, 0.9)
    assert not gate.shedding()
    _refuse_for(gate, clock, 0.3)  # now refusing for over a second without a pause
    assert gate.shedding()
    gate.release()
    clock.now += 4.8
    assert gate.shedding()  # for unready_for seconds after the last refusal
    clock.now += 0.3
    assert not gate.shedding()


def test_a_pause_starts_the_run_again():
    gate, clock, _ = _gate(limit=1, threads=1, wait=0, unready_for=5.0)
    gate.offer(1)
    for _ in range(5):  # bursts every 1.5 s: each a run of its own
        _refuse_for(gate, clock, 0.5)
        clock.now += 1.0
        assert not gate.shedding()


def test_refusals_without_valid_credentials_never_make_a_pod_unready():
    gate, clock, refused = _gate(limit=1, threads=1, wait=0, unready_for=5.0)
    gate.offer(1)
    _refuse_for(gate, clock, 10.0, counted=False)
    assert len(refused) == 100  # still answered 503 and counted in the metrics
    assert not gate.shedding()


def test_uncounted_waiters_expire_without_readiness_effect():
    gate, clock, refused = _gate(limit=3, threads=1, wait=0.5, unready_for=5.0)
    gate.offer(1)
    for second in range(3):
        gate.offer(f"a{second}")
        gate.offer(f"b{second}")
        clock.now += 0.6
        assert gate.expire(counted=lambda item: False) == [f"a{second}", f"b{second}"]
    assert refused == ["wait_timeout"] * 6
    assert not gate.shedding()


def test_shedding_off_when_readiness_ignores_load():
    gate, _, _ = _gate(limit=1, threads=1, unready_for=0)
    gate.offer(1)
    gate.offer(2)
    assert not gate.shedding()


# --- settings, header and request parsing ------------------------------------------------------


def test_in_flight_limit_defaults_to_twice_the_threads_and_at_least_8():
    assert Settings().worker_threads == 1
    assert Settings().in_flight_limit == 8
    assert Settings(threads=3).in_flight_limit == 8
    assert Settings(threads=6).in_flight_limit == 12
    assert Settings(threads=3, max_in_flight=4).in_flight_limit == 4


def test_buffer_budget_follows_the_container_memory():
    mib = 1024 * 1024
    assert Settings(buffer_budget_bytes=5 * mib).buffer_budget_for(4, 1 << 40) == 5 * mib
    assert Settings().buffer_budget_for(1, 1024 * mib) == 128 * mib  # an eighth per worker
    assert Settings().buffer_budget_for(4, 1024 * mib) == 32 * mib
    assert Settings().buffer_budget_for(16, 1024 * mib) == 16 * mib  # twice max_body_bytes
    assert Settings().buffer_budget_for(1, 64 * 1024 * mib) == 256 * mib
    assert Settings().buffer_budget_for(1, 0) == 64 * mib  # no limit


def test_default_threads_are_1_with_or_without_tls(tmp_path):
    """The event loop decrypts TLS requests too, so admission holds them in line like plain
    ones: TLS needs no spare threads."""
    tls = Settings(tls_cert_file=tmp_path / "cert.pem", tls_key_file=tmp_path / "key.pem")
    assert tls.worker_threads == 1
    assert Settings(threads=2).worker_threads == 2
    assert tls.merged({"threads": 3}).worker_threads == 3


@pytest.mark.parametrize(
    ("name", "raw"),
    [("max_in_flight", "-1"), ("admission_wait", "-0.1"), ("request_timeout", "0")],
)
def test_bad_admission_settings_are_refused_by_name(name, raw):
    with pytest.raises(SettingsError, match="SERVING_" + name.upper()):
        Settings.from_env({"SERVING_" + name.upper(): raw})


@pytest.mark.parametrize(
    ("raw", "seconds"), [(None, 30.0), ("2.5", 2.5), (" 1 ", 1.0), ("120", 30.0), ("1e-3", 0.001)]
)
def test_budget_is_the_header_capped_by_the_server(raw, seconds):
    assert budget(raw, 30.0) == seconds


@pytest.mark.parametrize("raw", ["", "abc", "0", "-1", "nan", "inf", "1s", "0x10"])
def test_malformed_timeout_header_is_refused(raw):
    with pytest.raises(InvalidTimeout):
        budget(raw, 30.0)


@pytest.mark.parametrize(
    ("data", "path", "whole", "keep_alive"),
    [
        (b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", "/readyz", True, True),
        (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", "/metrics", True, True),
        (b"POST /predict HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "/predict", True, True),
        (b"POST /predict HTTP/1.1\r\nConnection: close\r\n\r\n", "/predict", True, False),
        (b"POST /predict HTTP/1.0\r\n\r\n", "/predict", True, False),
        (b"POST /p HTTP/1.1\r\nContent-Length: 9\r\n\r\n{}", "/p", False, True),  # over limit
        (b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "/p", False, True),
        (b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", "/a", False, True),  # pipelined
        (b"garbage\r\n\r\n", "", False, False),
    ],
)
def test_request_head(data, path, whole, keep_alive):
    assert request_head(data) == (path, whole, keep_alive)


def test_the_worker_tells_the_application_when_and_what():
    """The buffered worker's WSGI wrapper passes arrival time, verdict and gate in the environ."""
    from types import SimpleNamespace

    from serving.worker import BufferingWorker

    seen = {}

    def application(environ, start_response):
        seen.update(environ)
        return [b""]

    worker = object.__new__(BufferingWorker)  # no Gunicorn arbiter: only the wrapper is under test
    worker.app = SimpleNamespace(wsgi=lambda: application)
    worker.gate, _, _ = _gate()
    worker.serving = threading.local()
    worker.load_wsgi()
    worker.serving.conn = SimpleNamespace(arrived=123.5, verdict="overloaded")
    worker.wsgi({}, None)
    assert (seen[ARRIVED], seen[VERDICT], seen[GATE]) == (123.5, "overloaded", worker.gate)
    seen.clear()
    worker.serving.conn = SimpleNamespace(arrived=124.0, verdict=None)
    worker.wsgi({}, None)
    assert seen[ARRIVED] == 124.0
    assert VERDICT not in seen


def test_the_event_loop_answer_is_a_complete_problem_response():
    raw = overloaded_response("/predict", keep_alive=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"\r\nRetry-After: 1\r\n" in head
    assert b"Content-Type: application/problem+json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert b'"instance": "/predict"' in body


# --- the application: deadlines, refusals the worker delegates, readiness ----------------------


@pytest.fixture(scope="module")
def app(session_store):
    return create_app(session_store.config(default_model="mnist", request_timeout=5))


@pytest.fixture
def calls(app, monkeypatch):
    """Counts model calls, to show that refused requests did no work."""
    from artifacts.runtime import Model

    counted = []
    original = Model.predict

    def counting(self, inputs):
        counted.append(self.name)
        return original(self, inputs)

    monkeypatch.setattr(Model, "predict", counting)
    return counted


def _rejected(app, reason: str) -> float:
    metrics = app.extensions["model_server"].metrics
    return metrics.rejected.labels(reason)._value.get()


def test_request_past_its_deadline_is_answered_504_without_running(app, calls, digit):
    before = _rejected(app, "deadline")
    waited = {ARRIVED: time.monotonic() - 6}  # the worker got it 6 s ago; the budget is 5
    response = app.test_client().post(
        "/predict", json={"pixels": digit[0].tolist()}, environ_base=waited
    )
    assert response.status_code == 504
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("deadline-exceeded")
    assert calls == []
    assert _rejected(app, "deadline") == before + 1


def test_client_timeout_header_shortens_the_deadline(app, calls, digit):
    client = app.test_client()
    arrived = {ARRIVED: time.monotonic() - 2}
    rows = {"instances": [digit[0].tolist()]}
    late = client.post(
        "/predict", json=rows, headers={"X-Request-Timeout": "1"}, environ_base=arrived
    )
    assert late.status_code == 504
    fine = client.post(
        "/predict", json=rows, headers={"X-Request-Timeout": "3"}, environ_base=arrived
    )
    assert fine.status_code == 200
    capped = client.post(
        "/predict", json=rows, headers={"X-Request-Timeout": "3600"}, environ_base={ARRIVED: 0.0}
    )
    assert capped.status_code == 504  # the server's 5 s maximum, not the client's hour
    assert calls == ["mnist"]


@pytest.mark.parametrize("path", ["/predict", "/v2/models/mnist/infer", "/invocations"])
def test_malformed_timeout_header_is_a_400_problem(app, calls, path):
    response = app.test_client().post(path, json={}, headers={"X-Request-Timeout": "soon"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "X-Request-Timeout" in response.json["detail"]
    assert calls == []


def test_deadline_is_checked_again_right_before_the_model(app, calls, digit, monkeypatch):
    """Time spent reading and parsing the body counts: a deadline passed meanwhile is a 504."""
    import serving.inputs as inputs

    real = inputs.check_batch

    def slow_parse(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(inputs, "check_batch", slow_parse)
    response = app.test_client().post(
        "/v1/models/mnist:predict",
        json={"instances": [digit[0].tolist()]},
        headers={"X-Request-Timeout": "0.2"},
    )
    assert response.status_code == 504
    assert calls == []


def test_probes_have_no_deadline(app):
    client = app.test_client()
    long_ago = {ARRIVED: 0.0}
    for path in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/metrics"):
        assert client.get(path, environ_base=long_ago).status_code == 200, path


def test_refusal_delegated_by_the_worker_is_a_503_problem_with_retry_after(app, calls, digit):
    response = app.test_client().post(
        "/predict", json={"pixels": digit[0].tolist()}, environ_base={VERDICT: "overloaded"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["type"].endswith("overloaded")
    assert calls == []


def test_probes_are_never_refused(app):
    client = app.test_client()
    for path in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/metrics", "/ping"):
        response = client.get(path, environ_base={VERDICT: "overloaded"})
        assert response.status_code == 200, path


def test_readiness_follows_shedding_and_liveness_does_not(app):
    gate, clock, _ = _gate(limit=1, threads=1, wait=0)
    client = app.test_client()
    environ = {GATE: gate}
    assert client.get("/readyz", environ_base=environ).status_code == 200
    gate.offer(1)  # the only slot is held
    assert client.get("/readyz", environ_base=environ).status_code == 200  # busy, not overloaded
    _refuse_for(gate, clock, 1.5)  # a sustained overload
    assert client.get("/readyz", environ_base=environ).status_code == 503
    assert client.get("/v2/health/ready", environ_base=environ).json == {"ready": False}
    assert client.get("/readyz", environ_base=environ).json["overloaded"] is True
    assert client.get("/healthz", environ_base=environ).status_code == 200
    assert client.get("/v2/health/live", environ_base=environ).status_code == 200
    gate.release()  # not ready for shed_unready_seconds, even once the slot is free
    assert client.get("/readyz", environ_base=environ).status_code == 503
    clock.now += 5.1
    assert client.get("/readyz", environ_base=environ).status_code == 200


def test_rejections_are_exported(app):
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "model_server_rejected_total" in text


# --- a real Gunicorn at twice its capacity -----------------------------------------------------

OVERLOAD_SECONDS = 30  # the duration: 2x capacity for 30 s
RECOVERY_REQUESTS = 1000
JSON = "application/json"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP answer (reset, refused, timed out)
    seconds: float
    retry_after: str | None = None
    problem: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str


def _send(session: requests.Session, url: str, body: Body) -> Outcome:
    started = time.perf_counter()
    try:
        response = session.post(
            url, data=body.data, headers={"Content-Type": body.content_type}, timeout=15
        )
    except requests.RequestException as exc:
        return Outcome(None, time.perf_counter() - started, error=type(exc).__name__)
    return Outcome(
        response.status_code,
        time.perf_counter() - started,
        response.headers.get("Retry-After"),
        response.headers.get("Content-Type") == "application/problem+json",
    )


def _closed_loop(url: str, body: Body, clients: int, seconds: float) -> list[Outcome]:
    """``clients`` threads, each sending its next request when the last one is answered."""
    outcomes: list[Outcome] = []
    end = time.perf_counter() + seconds

    def client() -> None:
        with requests.Session() as session:
            while time.perf_counter() < end:
                outcomes.append(_send(session, url, body))
                if outcomes[-1].status == 503:
                    time.sleep(0.05)  # refused: a pause, not a storm of retries

    _run_threads(client, clients)
    return outcomes


def _open_loop(url: str, body: Body, rate: float, seconds: float) -> list[Outcome]:
    """Requests due at a fixed ``rate`` whatever the answers (senders enough never to lag)."""
    outcomes: list[Outcome] = []
    numbers = itertools.count()
    start = time.perf_counter()
    total = int(rate * seconds)

    def sender() -> None:
        with requests.Session() as session:
            while (n := next(numbers)) < total:
                time.sleep(max(0.0, start + n / rate - time.perf_counter()))
                outcomes.append(_send(session, url, body))

    _run_threads(sender, 16)
    return outcomes


def _run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a client thread hung"


def _p99(outcomes: list[Outcome]) -> float:
    return float(np.quantile([o.seconds for o in outcomes], 0.99))


def _rejected_total(base: str) -> dict[str, float]:
    text = requests.get(base + "/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        if line.startswith("model_server_rejected_total{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('reason="', 1)[1].split('"', 1)[0]] = float(value)
    return found


@pytest.mark.slow
@pytest.mark.serial  # a p99 ratio and 2x a measured capacity: not beside another test's load
def test_overload_at_twice_capacity_sheds_with_503_and_recovers(session_store, tmp_path):
    """Issue 17: 2x the measured capacity; only 200 or 503+Retry-After; p99 bounded; recovery.

    One worker with the shipped admission defaults (one thread, no waiting line) and big
    uploads keep capacity small enough for a Python client to double on a shared 2-core
    machine. Every bound is a ratio measured in this run.
    """
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": "1",
        "SERVING_AUTH_ENABLED": "false",
        "SERVING_RATE_LIMIT_ENABLED": "false",
        "SERVING_RELOAD_INTERVAL": "0",
        "SERVING_ACCESS_LOG": "false",
    }
    # A big digit photo (1400x1400, a 15 kB PNG): tens of ms of preprocessing per request, so
    # 2x capacity is a rate the client can send with little CPU of its own (it shares the
    # machine with the server), and a refused upload costs the event loop little to read.
    big = Image.fromarray((session_store.images[0].reshape(28, 28) * 255).astype(np.uint8))
    png = io.BytesIO()
    big.resize((1400, 1400), Image.NEAREST).save(png, format="PNG")
    body = Body(*encode_multipart_formdata({"file": ("digit.png", png.getvalue(), "image/png")}))
    small = Body(json.dumps({"pixels": session_store.images[0].tolist()}).encode(), JSON)
    with live_server(env, tmp_path / "server.log") as server:
        url = server.base + "/predict"
        _closed_loop(url, body, 1, 1.0)  # warm up
        unloaded = _closed_loop(url, body, 1, 3.0)
        assert {o.status for o in unloaded} == {200}
        # capacity: what it serves with more clients than it holds (the extra ones see 503s)
        saturating = _closed_loop(url, body, 3, 3.0)
        assert {o.status for o in saturating} <= {200, 503}
        capacity = sum(o.status == 200 for o in saturating) / 3.0

        probes: list[tuple[str, int | None]] = []
        loading = threading.Event()
        loading.set()

        def probe() -> None:
            while loading.is_set():
                for path in ("/healthz", "/readyz"):
                    try:
                        status = requests.get(server.base + path, timeout=5).status_code
                    except requests.RequestException:
                        status = None
                    probes.append((path, status))
                time.sleep(0.2)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        loaded = _open_loop(url, body, 2 * capacity, OVERLOAD_SECONDS)
        loading.clear()
        prober.join(timeout=30)

        assert wait_until(lambda: requests.get(server.base + "/readyz", timeout=5).ok, timeout=30)
        after = []
        while len(after) < RECOVERY_REQUESTS:  # at most what it holds: none may be refused
            after += _closed_loop(url, small, 1, 1.0)
        assert {o.status for o in after} == {200}
        unloaded += _closed_loop(url, body, 1, 3.0)  # before and after: the machine drifts

        admitted = [o for o in loaded if o.status == 200]
        refused = [o for o in loaded if o.status == 503]
        summary = (
            f"capacity {capacity:.0f}/s, sent {len(loaded)}, admitted {len(admitted)}, "
            f"refused {len(refused)}, unloaded p99 {_p99(unloaded) * 1000:.1f} ms, "
            f"admitted p99 {_p99(admitted) * 1000:.1f} ms"
        )
        print(summary)
        others = [o for o in loaded if o.status not in (200, 503)]
        assert others == [], summary  # no other status, no reset, no timeout
        assert all(o.retry_after == "1" and o.problem for o in refused), summary
        assert len(refused) > 0.2 * len(loaded), summary  # it did shed: ~half is expected
        # and kept serving (a loose bound: on a shared machine throughput swings 2x run to run)
        assert len(admitted) > 0.25 * capacity * OVERLOAD_SECONDS, summary
        assert _p99(admitted) <= 3 * _p99(unloaded), summary
        counted = _rejected_total(server.base)
        shed = len(refused) + sum(o.status == 503 for o in saturating)
        assert counted.get("overloaded", 0) + counted.get("wait_timeout", 0) == shed, counted
        assert {status for path, status in probes if path == "/healthz"} == {200}
        assert 503 in {status for path, status in probes if path == "/readyz"}, probes
