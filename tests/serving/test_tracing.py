"""OpenTelemetry tracing: spans per request and step, W3C propagation, no payload, off = absent.

In-process tests record spans with the SDK's in-memory exporter; the last test runs the real
Gunicorn server exporting over OTLP/HTTP to a loopback receiver (tests/serving/otlp.py; no
collector binary is available here).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import requests
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from serving import create_app
from serving.settings import Settings, SettingsError
from serving.tracing import STEPS

from .auth_files import write_credentials
from .conftest import PENGUIN_ROW, png_bytes
from .live import running_server, wait_until
from .otlp import otlp_receiver

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
ALLOWED_ATTRIBUTES = {
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "url.scheme",
    "model.name",
    "model.version",
    "error.type",
}


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def provider(exporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture(scope="module")
def creds(tmp_path_factory):
    return write_credentials(tmp_path_factory.mktemp("tracing-creds"))


@pytest.fixture(scope="module")
def traced(session_store, creds, provider):
    """An app with auth on (so the auth step runs), traced into the in-memory exporter."""
    config = {**session_store.config(default_model="mnist"), **creds.config()}
    return create_app({**config, "tracer_provider": provider}).test_client()


@pytest.fixture(scope="module")
def traced_tabular(tabular_store, creds, provider):
    config = {**tabular_store.config(default_model="penguins"), **creds.config()}
    return create_app({**config, "tracer_provider": provider}).test_client()


@pytest.fixture
def spans(exporter):
    """The spans finished during the test (the exporter is shared by the module's apps)."""
    exporter.clear()

    def finished() -> list[ReadableSpan]:
        return list(exporter.get_finished_spans())

    return finished


@pytest.fixture
def auth(creds) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_key}"}


def _v2_body(pixels: np.ndarray) -> dict:
    return {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP64", "data": [*pixels]}]}


def _server(spans: list[ReadableSpan]) -> ReadableSpan:
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    return server


def _assert_request_trace(
    spans: list[ReadableSpan], route: str, model: str, version: str, steps=STEPS
) -> None:
    """One server span named after the route; one child per step, in order, in its trace."""
    server = _server(spans)
    assert server.name == f"POST {route}"
    assert server.attributes["http.route"] == route
    assert server.attributes["http.response.status_code"] == 200
    assert (server.attributes["model.name"], server.attributes["model.version"]) == (model, version)
    assert server.status.status_code == StatusCode.UNSET
    children = sorted((s for s in spans if s is not server), key=lambda s: s.start_time)
    assert [s.name for s in children] == list(steps)
    for child in children:
        assert child.kind == SpanKind.INTERNAL
        assert child.context.trace_id == server.context.trace_id
        assert child.parent.span_id == server.context.span_id
        assert server.start_time <= child.start_time <= child.end_time <= server.end_time
    (predict,) = [s for s in children if s.name == "predict"]
    assert predict.attributes["model.name"] == model


def test_upload_predict_spans(traced, spans, auth, digit):
    pixels, label = digit
    files = {"file": (io.BytesIO(png_bytes(pixels)), "digit.png", "image/png")}
    response = traced.post("/predict", data=files, headers=auth)
    assert response.status_code == 200, response.data
    assert response.json["digit"] == label
    _assert_request_trace(spans(), "/predict", "mnist", "2")


@pytest.mark.parametrize(
    ("path", "route", "version"),
    [
        ("/v1/models/mnist:predict", "/v1/models/<name>:predict", "2"),
        (
            "/v1/models/mnist/versions/1:predict",
            "/v1/models/<name>/versions/<version>:predict",
            "1",
        ),
    ],
)
def test_v1_spans(traced, spans, auth, digit, path, route, version):
    response = traced.post(path, json={"instances": [[*digit[0]]]}, headers=auth)
    assert response.status_code == 200, response.data
    _assert_request_trace(spans(), route, "mnist", version)


def test_v2_spans(traced, spans, auth, digit):
    response = traced.post("/v2/models/mnist/infer", json=_v2_body(digit[0]), headers=auth)
    assert response.status_code == 200, response.data
    _assert_request_trace(spans(), "/v2/models/<name>/infer", "mnist", "2")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"dataframe_records": [PENGUIN_ROW]})),
        ("text/csv", "bill_length,visits,island,member,plan\n41.5,3,Dream,true,pro\n"),
    ],
)
def test_invocations_spans(traced_tabular, spans, auth, content_type, body):
    headers = {**auth, "Content-Type": content_type}
    response = traced_tabular.post("/invocations", data=body, headers=headers)
    assert response.status_code == 200, response.data
    _assert_request_trace(spans(), "/invocations", "penguins", "1")


@pytest.fixture(scope="module")
def traced_recommender(tmp_path_factory, provider):
    """ALS factors (issue 16's pickle-free recommender artifact), traced like the others."""
    import artifacts
    from tests.artifacts.recommender_data import make_factors

    root = tmp_path_factory.mktemp("tracing-rec")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    artifacts.save_recommender(
        root / "store", "recs", make_factors(string_ids=True), signer=artifacts.load_signer(key),
        version="1", rank=8, implicit=True, cold_start="nan",
    )  # fmt: skip
    config = {"model_store": root / "store", "verify_key_file": key, "auth_enabled": False}
    config |= {"rate_limit_enabled": False, "reload_interval": 0, "tracer_provider": provider}
    return create_app(config).test_client()


@pytest.mark.parametrize(
    ("path", "body", "route", "steps"),
    [
        (
            "/v2/models/recs/infer",
            {"inputs": [{"name": "user", "datatype": "BYTES", "shape": [1], "data": ["u3"]}]},
            "/v2/models/<name>/infer",
            STEPS[1:],
        ),
        (
            "/v1/models/recs:predict",
            {"instances": [{"user": "u1", "item": "i9"}]},
            "/v1/models/<name>:predict",
            ("decode", "predict"),  # pair scores: lookup, dot products and answer in one step
        ),
    ],
)
def test_recommender_spans(traced_recommender, spans, path, body, route, steps):
    response = traced_recommender.post(path, json=body)
    assert response.status_code == 200, response.data
    _assert_request_trace(spans(), route, "recs", "1", steps)


def test_incoming_traceparent_is_continued(traced, spans, auth, digit):
    headers = {**auth, "traceparent": TRACEPARENT, "tracestate": "vendor=opaque-value"}
    response = traced.post("/v2/models/mnist/infer", json=_v2_body(digit[0]), headers=headers)
    assert response.status_code == 200
    finished = spans()
    server = _server(finished)
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT_ID
    assert server.parent.is_remote
    assert server.context.trace_state.get("vendor") == "opaque-value"
    assert server.context.trace_flags.sampled
    assert {format(s.context.trace_id, "032x") for s in finished} == {TRACE_ID}


@pytest.mark.parametrize(
    "traceparent", [None, "00-not-a-trace-01", f"00-{'0' * 32}-{PARENT_ID}-01"]
)
def test_without_a_valid_traceparent_a_new_trace_starts(traced, spans, auth, digit, traceparent):
    headers = {**auth, **({"traceparent": traceparent} if traceparent else {})}
    traced.post("/v2/models/mnist/infer", json=_v2_body(digit[0]), headers=headers)
    server = _server(spans())
    assert server.parent is None
    assert format(server.context.trace_id, "032x") not in (TRACE_ID, "0" * 32)


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/ping"]
)
def test_probes_are_not_traced(traced, spans, auth, path):
    response = traced.get(path, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert spans() == []
    traced.get("/v2/models/mnist", headers=auth)  # the exporter is live: this one is recorded
    assert [s.name for s in spans() if s.kind == SpanKind.SERVER] == ["GET /v2/models/<name>"]


def test_no_payload_credentials_or_headers_in_spans(traced_tabular, spans, auth, creds):
    """Values sent, the credential, cookies, query strings and refusal messages stay out."""
    marker = "Payload-Marker-7f3a"
    good = {**PENGUIN_ROW, "island": "Torgersen", "bill_length": 47.123456789}
    bad = {**PENGUIN_ROW, "plan": marker}  # refused, and the refusal message quotes it
    headers = {**auth, "Cookie": f"session={marker}", "X-Api-Key": marker}
    for row, status in ((good, 200), (bad, 400)):
        response = traced_tabular.post(
            f"/invocations?token={marker}", json={"dataframe_records": [row]}, headers=headers
        )
        assert response.status_code == status
    assert marker in response.get_data(as_text=True)  # the client is told; the trace is not
    finished = spans()
    assert len(finished) == 6 + 4  # the refused request stops in preprocess
    for span in finished:
        assert set(span.attributes) <= ALLOWED_ATTRIBUTES, span.attributes
        assert not span.events
    text = "".join(span.to_json() for span in finished)
    for secret in (marker, creds.api_key, "47.123456789", "Torgersen", "41.5"):
        assert secret not in text


def test_a_refused_request_marks_the_step_that_refused_it(traced, spans, auth):
    body = {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP64", "data": ["x"]}]}
    response = traced.post("/v2/models/mnist/infer", json=body, headers=auth)
    assert response.status_code == 400
    finished = spans()
    server = _server(finished)
    # OpenTelemetry HTTP conventions: a 4xx is the client's error, not the server span's.
    assert server.status.status_code == StatusCode.UNSET
    assert server.attributes["error.type"] == "400"
    assert server.attributes["http.response.status_code"] == 400
    failed = [s for s in finished if s.status.status_code == StatusCode.ERROR]
    assert [s.name for s in failed] == ["decode"]
    assert failed[0].attributes["error.type"] == "InvalidDatatype"


def test_missing_credentials_fail_the_auth_span(traced, spans, digit):
    response = traced.post("/v2/models/mnist/infer", json=_v2_body(digit[0]))
    assert response.status_code == 401
    finished = spans()
    server = _server(finished)
    assert server.attributes["error.type"] == "401"
    assert "model.name" not in server.attributes  # refused before the model was looked up
    (auth_span,) = [s for s in finished if s is not server]
    assert auth_span.name == "auth"
    assert auth_span.status.status_code == StatusCode.ERROR
    assert auth_span.attributes["error.type"] == "Unauthorized"


def test_unknown_model_and_url(traced, spans, auth):
    assert traced.post("/v2/models/nope/infer", json={}, headers=auth).status_code == 404
    assert traced.get("/no/such/path", headers=auth).status_code == 404
    named = {s.name: s for s in spans() if s.kind == SpanKind.SERVER}
    assert set(named) == {"POST /v2/models/<name>/infer", "GET"}  # no URL path in span names
    for server in named.values():
        assert server.attributes["error.type"] == "404"
        assert server.status.status_code == StatusCode.UNSET
    assert "http.route" not in named["GET"].attributes


def test_server_errors_mark_the_server_span(tmp_path, provider, spans, session_store):
    """5xx: no model loaded (503) and an unhandled exception (500)."""
    empty = tmp_path / "empty-store"
    empty.mkdir()
    app = create_app({**session_store.config(model_store=empty), "tracer_provider": provider})

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail")

    client = app.test_client()
    assert client.post("/predict", json={"pixels": [0.0] * 784}).status_code == 503
    assert client.get("/boom").status_code == 500
    servers = sorted((s for s in spans() if s.kind == SpanKind.SERVER), key=lambda s: s.start_time)
    assert [s.attributes["http.response.status_code"] for s in servers] == [503, 500]
    assert [s.status.status_code for s in servers] == [StatusCode.ERROR] * 2
    assert "internal detail" not in "".join(s.to_json() for s in spans())


def test_setting_is_off_by_default_and_checked():
    assert Settings().tracing == "off"
    assert Settings.from_env({"SERVING_TRACING": "otlp"}).tracing == "otlp"
    with pytest.raises(SettingsError, match="SERVING_TRACING"):
        Settings.from_env({"SERVING_TRACING": "jaeger"})


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "model-server"),
        ({"OTEL_SERVICE_NAME": "scoring"}, "scoring"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=edge,team=ml"}, "edge"),
    ],
)
def test_service_name_defaults_to_model_server(monkeypatch, env, name):
    from serving import __version__, otel

    for key in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    attributes = otel.resource().attributes
    assert attributes["service.name"] == name
    assert attributes["service.version"] == __version__


def test_tracing_without_the_packages_is_a_configuration_error(monkeypatch, session_store):
    from serving import cli

    settings = Settings().merged({**session_store.config(), "tracing": "otlp"})
    assert cli._check(settings) is None
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    assert "pip install 'spark-model-server[tracing]'" in cli._check(settings)


_IMPORTS = textwrap.dedent(
    """
    import sys
    from serving import create_app

    def loaded(config):
        client = create_app(config).test_client()
        response = client.post(
            "/predict", json={{"pixels": [0.0] * 784}}, headers={{"traceparent": {traceparent!r}}}
        )
        assert response.status_code == 200, response.data
        return sorted({{m.split(".")[0] for m in sys.modules if m.startswith("opentelemetry")}})

    print(loaded({config!r}))
    print(loaded({{**{config!r}, "tracing": "otlp"}}))
    """
)


@pytest.mark.slow
def test_off_means_opentelemetry_is_never_imported(session_store):
    """A fresh interpreter serves a request with tracing off: no opentelemetry module is loaded.
    Then the same with tracing on (recording nothing, so nothing is sent): now it is."""
    config = {k: str(v) for k, v in session_store.config(default_model="mnist").items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVING_", "OTEL_"))}
    env["OTEL_TRACES_SAMPLER"] = "always_off"
    script = _IMPORTS.format(config=config, traceparent=TRACEPARENT)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-2:] == ["[]", "['opentelemetry']"]


@pytest.mark.slow
def test_gunicorn_exports_over_otlp_http(session_store, tmp_path, digit):
    """Real Gunicorn (2 workers), real OTLP/HTTP exporter and batch processor: the spans reach
    the receiver when the workers exit (the schedule delay is longer than the test)."""
    with otlp_receiver() as receiver:
        env = {
            "SERVING_MODEL_STORE": str(session_store.path),
            "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
            "SERVING_DEFAULT_MODEL": "mnist",
            "SERVING_AUTH_ENABLED": "false",
            "SERVING_RATE_LIMIT_ENABLED": "false",
            "SERVING_RELOAD_INTERVAL": "0",
            "WEB_CONCURRENCY": "2",
            "SERVING_TRACING": "otlp",
            "OTEL_SERVICE_NAME": "model-server-under-test",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
        }
        with running_server(env, tmp_path / "server.log") as base:
            for _ in range(6):
                headers = {"traceparent": TRACEPARENT}
                response = requests.post(
                    f"{base}/v2/models/mnist/infer",
                    json=_v2_body(digit[0]),
                    headers=headers,
                    timeout=30,
                )
                assert response.status_code == 200
                assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
            assert receiver.snapshot() == []  # batched: nothing has left yet
        assert wait_until(lambda: len(receiver.snapshot()) >= 6 * 5, timeout=30)
        received = receiver.snapshot()
    assert receiver.refused == []
    servers = [s for s in received if s.kind == 2]  # SPAN_KIND_SERVER
    assert [s.name for s in servers] == ["POST /v2/models/<name>/infer"] * 6
    for server in servers:
        assert (server.trace_id, server.parent_span_id) == (TRACE_ID, PARENT_ID)
        assert server.attributes["model.name"] == "mnist"
        assert server.resource["service.name"] == "model-server-under-test"
        children = [s for s in received if s.parent_span_id == server.span_id]
        assert sorted(s.name for s in children) == sorted(STEPS[1:])  # auth is off
    assert len(received) == 6 * 5  # and nothing for /healthz or /readyz
