"""Hot reload in one process: new versions swap in, bad ones are refused, old ones keep serving."""

from __future__ import annotations

import shutil
import time

import pytest

import artifacts
from serving import create_app
from serving.reload import EXTENSION_KEY, store_fingerprint

from .versions import save_version, tamper

ADMIN_KEY = "admin-" + "k" * 30


@pytest.fixture
def reloading(signed_store, tmp_path):
    """An app over a private store, with an admin key, polling off (tests drive it)."""
    keys = tmp_path / "admin-keys"
    keys.write_text(ADMIN_KEY + "\n")
    app = create_app(
        signed_store.config(default_model="mnist", auth_enabled=True, admin_keys_file=keys)
    )
    return app, signed_store


def verifier(store):
    return artifacts.load_verifier(store.key_file)


def served_version(client, digit) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    response = client.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["version"]


def readyz(client) -> dict:
    """The readiness report with the details only authenticated callers get (GET /status)."""
    return client.get("/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).get_json()


def test_new_version_is_swapped_in(reloading, digit):
    app, store = reloading
    client, reloader = app.test_client(), app.extensions[EXTENSION_KEY]
    assert served_version(client, digit) == "2"
    first = reloader.poll_once()  # the first poll always reloads: nothing changed
    assert (first.added, first.removed, first.refused) == ((), (), ())
    assert reloader.poll_once() is None  # store unchanged since: no reload at all
    save_version(store, "3")
    result = reloader.poll_once()
    assert result.added == ("mnist/3",)
    assert result.refused == ()
    assert served_version(client, digit) == "3"
    assert "mnist/3" in {f"{m['name']}/{m['version']}" for m in readyz(client)["models"]}


def test_tampered_new_version_is_refused_and_old_keeps_serving(reloading, digit):
    app, store = reloading
    client, reloader = app.test_client(), app.extensions[EXTENSION_KEY]
    save_version(store, "3")
    tamper(store.path / "mnist" / "3")
    result = reloader.poll_once()
    assert result.added == ()
    assert [(f.name, f.version, f.reason) for f in result.refused] == [
        ("mnist", "3", "DigestMismatch")
    ]
    assert served_version(client, digit) == "2"
    body = readyz(client)
    assert body["ready"] is True
    assert {
        "name": "mnist",
        "version": "3",
        "status": "failed",
        "reason": "DigestMismatch",
    } in body["failures"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'model_server_model_load_failures_total{model="mnist",reason="DigestMismatch",version="3"}'
        in metrics
    )
    assert 'model_server_reloads_total{outcome="unchanged"} 1.0' in metrics
    assert "model_server_models_loaded 3.0" in metrics  # mnist/1, mnist/2, tabular/1


def test_version_signed_with_another_key_is_refused(reloading, digit, tmp_path):
    app, store = reloading
    other_key = artifacts.generate_keys("hmac-sha256", tmp_path / "other")["secret"]
    save_version(store, "3", key_file=other_key)
    result = app.extensions[EXTENSION_KEY].poll_once()
    assert [f.reason for f in result.refused] == ["SignatureInvalid"]
    assert served_version(app.test_client(), digit) == "2"


def test_served_version_tampered_on_disk_keeps_its_verified_copy(reloading, digit):
    app, store = reloading
    tamper(store.path / "mnist" / "2")
    result = app.extensions[EXTENSION_KEY].poll_once()
    assert result.kept == ("mnist/2",)
    assert result.removed == ()
    assert served_version(app.test_client(), digit) == "2"


def test_unreadable_store_keeps_everything(reloading, digit):
    app, store = reloading
    shutil.move(store.path, store.path.with_name("moved"))
    result = app.extensions[EXTENSION_KEY].poll_once()
    assert result.removed == ()
    assert set(result.kept) == {"mnist/1", "mnist/2", "tabular/1"}
    assert served_version(app.test_client(), digit) == "2"


def test_deleted_version_is_removed_without_rolling_latest_back(reloading, digit):
    app, store = reloading
    shutil.rmtree(store.path / "mnist" / "2")
    result = app.extensions[EXTENSION_KEY].poll_once()
    assert result.removed == ("mnist/2",)
    client = app.test_client()
    refused = client.post(
        "/predict",
        json={"pixels": digit[0].tolist()},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert refused.status_code == 503
    assert "refusing to roll back" in refused.get_json()["detail"]


def test_admin_reload_endpoint(reloading, digit):
    app, store = reloading
    client = app.test_client()
    save_version(store, "3")
    response = client.post("/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200
    assert response.get_json() == {
        "changed": True,
        "added": ["mnist/3"],
        "removed": [],
        "kept_in_memory": [],
        "refused": [],
    }
    assert served_version(client, digit) == "3"


def test_poller_picks_up_new_versions(signed_store, digit):
    app = create_app(
        signed_store.config(default_model="mnist", reload_interval=0.2, auth_enabled=False)
    )
    client = app.test_client()
    client.get("/healthz")  # the first request starts this process's poller
    save_version(signed_store, "3")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.post("/predict", json={"pixels": digit[0].tolist()}).get_json()["version"] == "3":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the poller did not swap in version 3 within 20 s")
    app.extensions[EXTENSION_KEY].stop()


def test_merge_keeps_failed_served_versions_in_version_order():
    from serving.registry import LoadFailure, Snapshot
    from serving.reload import merge

    old = Snapshot({"m": {"9": "model-9", "10": "model-10"}}, (), "m")
    new = Snapshot(
        {"m": {"9": "model-9b", "11": "model-11"}},
        (LoadFailure("m", "10", "DigestMismatch", "tampered"),),
        "m",
    )
    merged, result = merge(old, new)
    assert list(merged.models["m"]) == ["9", "10", "11"]
    assert merged.models["m"]["10"] == "model-10"  # the verified copy from memory
    assert merged.latest("m") == "model-11"
    assert result.added == ("m/11",)
    assert result.kept == ("m/10",)
    assert result.refused == ()  # m/10 was not refused: it is still served
    assert merged.failures == new.failures  # but /readyz still reports its files failing


def test_reloader_told_of_a_preload_polls_only_after_the_store_changes(reloading):
    """A Gunicorn master that preloaded the store: its workers' first poll loads nothing."""
    app, store = reloading
    reloader = app.extensions[EXTENSION_KEY]
    reloader.loaded_at(store_fingerprint(store.path))
    assert reloader.poll_once() is None
    save_version(store, "3")
    assert reloader.poll_once().added == ("mnist/3",)
