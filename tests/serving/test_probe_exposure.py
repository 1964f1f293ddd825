"""Probes say little to strangers (issue 11, item 5): /readyz details need credentials, and
/metrics is not served through the Ingress."""

from __future__ import annotations

import pytest

from serving import create_app

from .auth_files import write_credentials


@pytest.fixture(scope="module")
def credentials(tmp_path_factory):
    return write_credentials(tmp_path_factory.mktemp("probe-credentials"))


@pytest.fixture(scope="module")
def app(session_store, credentials):
    return create_app(session_store.config(**credentials.config(proxy_hops=1)))


def test_readyz_without_credentials_is_only_ready(app):
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic eDp5"}):
        response = app.test_client().get("/readyz", headers=headers)
        assert response.status_code == 200
        assert response.get_json() == {"ready": True}


def test_readyz_with_credentials_has_the_details(app, credentials):
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    body = app.test_client().get("/readyz", headers=headers).get_json()
    assert body["ready"] is True
    assert {"mnist", "tabular"} <= {model["name"] for model in body["models"]}
    assert "failures" in body


def test_readyz_details_when_auth_is_off(session_store):
    body = create_app(session_store.config()).test_client().get("/readyz").get_json()
    assert body["models"]


def test_not_ready_is_still_503_for_strangers(tmp_path, session_store, credentials):
    empty = tmp_path / "empty"
    empty.mkdir()
    app = create_app(session_store.config(model_store=empty, **credentials.config()))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"ready": False}


def test_metrics_not_served_through_the_proxy(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # Prometheus, straight to the pod
    through_ingress = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert through_ingress.status_code == 404
    assert through_ingress.mimetype == "application/problem+json"


def test_metrics_open_without_a_proxy(session_store):
    app = create_app(session_store.config(proxy_hops=0))
    response = app.test_client().get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200  # no proxy configured: the header means nothing
