"""Model registry: verification before serving, failures reported, atomic swap, defaults."""

from __future__ import annotations

import logging

import pytest

import artifacts
from serving import create_app
from serving.errors import ModelNotFound, NoModelLoaded, VersionNotFound
from serving.registry import ModelRegistry
from serving.settings import Settings

from .conftest import MNIST_SCHEMA


def registry_for(store, **overrides) -> ModelRegistry:
    settings = Settings().merged(store.config(**overrides))
    return ModelRegistry(settings)


def tamper(path) -> None:
    model = path / artifacts.MODEL_FILE
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))


def test_loads_every_model_and_version(signed_store):
    snapshot = registry_for(signed_store).load()
    assert {name: list(v) for name, v in snapshot.models.items()} == {
        "mnist": ["1", "2"],
        "tabular": ["1"],
    }
    assert snapshot.failures == ()
    assert snapshot.get("mnist").version == "2"
    assert snapshot.get("mnist", "latest").version == "2"
    assert snapshot.get("mnist", "1").version == "1"
    assert snapshot.get("mnist").fast_path  # LogisticRegression compiled to numpy
    with pytest.raises(ModelNotFound, match="served models: mnist, tabular"):
        snapshot.get("nope")
    with pytest.raises(VersionNotFound, match="served versions: 1, 2"):
        snapshot.get("mnist", "3")


def test_tampered_artifact_is_not_served_and_is_reported(signed_store, caplog):
    tamper(signed_store.path / "mnist" / "2")
    app = create_app(signed_store.config())
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert {"name": "mnist", "version": "2", "status": "failed", "reason": "DigestMismatch"} in (
        ready["failures"]
    )
    assert ready["ready"] is True  # the verified models are still served…
    assert client.get("/v2/models/mnist").get_json()["versions"] == ["1"]  # …but not v2
    assert (
        client.post("/predict?model=mnist&version=2", json={"pixels": [0] * 784}).status_code == 404
    )
    assert "not serving mnist/2: DigestMismatch" in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'model_server_model_load_failures_total{model="mnist",reason="DigestMismatch",version="2"}'
        " 1.0" in metrics
    )
    assert "model_server_models_loaded 2.0" in metrics


def test_artifact_signed_with_another_key_is_refused(signed_store, tmp_path):
    other = artifacts.generate_keys("hmac-sha256", tmp_path / "other")["secret"]
    snapshot = registry_for(signed_store, verify_key_file=other).load()
    assert snapshot.models == {}
    assert {f.reason for f in snapshot.failures} == {"SignatureInvalid"}
    with pytest.raises(NoModelLoaded):
        snapshot.get()


def test_no_verification_key_refuses_everything(signed_store, caplog):
    app = create_app(signed_store.config(verify_key_file=None))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failures"][0]["reason"] == "NoVerificationKey"
    assert "SERVING_VERIFY_KEY_FILE" in caplog.text
    predict = app.test_client().post("/predict", json={"pixels": [0] * 784})
    assert predict.status_code == 503


def test_insecure_opt_out_loads_with_a_loud_warning(signed_store, caplog):
    caplog.set_level(logging.WARNING)
    snapshot = registry_for(signed_store, verify_key_file=None, insecure_skip_verify=True).load()
    assert "mnist" in snapshot.models
    assert "INSECURE" in caplog.text


def test_missing_store_is_reported(signed_store, tmp_path):
    snapshot = registry_for(signed_store, model_store=tmp_path / "absent").load()
    assert not snapshot.ready
    assert snapshot.failures[0].reason == "ArtifactNotFound"


def test_default_model_is_newest_or_configured(signed_store):
    assert registry_for(signed_store).load().default_name == "tabular"  # saved last
    assert registry_for(signed_store, default_model="mnist").load().default_name == "mnist"
    missing = registry_for(signed_store, default_model="nope").load()
    assert missing.default_name is None
    assert missing.failures[-1].reason == "DefaultModelMissing"


def test_swap_is_atomic_and_returns_the_previous_snapshot(signed_store, session_store):
    registry = registry_for(signed_store)
    first = registry.reload()
    estimator = first.get("mnist").estimator
    artifacts.save(
        estimator,
        signed_store.path,
        "mnist",
        version="3",
        signer=artifacts.load_signer(signed_store.key_file),
        input_schema=MNIST_SCHEMA,
    )
    second = registry.load()
    assert registry.snapshot is first  # loading alone publishes nothing
    assert registry.swap(second) is first
    assert registry.snapshot.get("mnist").version == "3"


def test_unservable_model_is_a_failure_not_a_crash(signed_store):
    from sklearn.linear_model import LinearRegression

    artifacts.save(  # a regressor whose output schema claims classification: no classes_
        LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
        signed_store.path,
        "regressor",
        version="1",
        signer=artifacts.load_signer(signed_store.key_file),
        input_schema={"type": "vector", "features": 1},
        output_schema={"task": "classification", "classes": [0, 1]},
    )
    snapshot = registry_for(signed_store).load()
    assert "regressor" not in snapshot.models
    assert [f.reason for f in snapshot.failures] == ["ValueError"]
