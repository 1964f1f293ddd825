"""Probes and Prometheus metrics in-process (multiprocess mode is covered in test_gunicorn)."""

from __future__ import annotations

import subprocess
import sys

from serving import create_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["ready"] is True
    assert body["default_model"] == "mnist"
    assert {"name": "tabular", "version": "1", "status": "loaded"} in body["models"]


def test_readiness_fails_without_models(signed_store, tmp_path):
    app = create_app(signed_store.config(model_store=tmp_path / "empty"))
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    assert client.get("/v2/health/ready").status_code == 503
    assert client.get("/healthz").status_code == 200  # alive: a restart would not help


def test_metrics_count_requests_and_predictions(signed_store, session_store):
    app = create_app(signed_store.config(default_model="mnist"))
    client = app.test_client()
    rows = session_store.images[:6].tolist()
    client.post("/predict", json={"instances": rows})
    client.post("/predict?model=nope", json={"instances": rows})
    response = client.get("/metrics")
    assert response.headers["Content-Type"].count("charset") == 1
    text = response.get_data(as_text=True)
    assert 'model_server_requests_total{method="POST",route="/predict",status="200"} 1.0' in text
    assert 'model_server_requests_total{method="POST",route="/predict",status="404"} 1.0' in text
    assert 'model_server_request_duration_seconds_count{method="POST",route="/predict"} 2.0' in text
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("model_server_predictions_total{label=")
    ]
    assert sum(counted) == 6
    assert "model_server_models_loaded 3.0" in text


def test_metrics_can_be_disabled(signed_store):
    app = create_app(signed_store.config(metrics_enabled=False))
    assert app.test_client().get("/metrics").status_code == 404


def test_serving_never_imports_pyspark(signed_store):
    code = (
        "import sys; from serving import create_app; "
        f"create_app({{'model_store': {str(signed_store.path)!r}, "
        f"'verify_key_file': {str(signed_store.key_file)!r}, 'reload_interval': 0}}); "
        "assert 'pyspark' not in sys.modules, 'serving imported pyspark'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
