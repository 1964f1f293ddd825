"""Probes say little to strangers (issue 11, item 5) and never look at credentials (issue 27,
item 6): the served and failed models are on GET /status, which needs a key and is rate-limited;
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


PROBES = ["/readyz", "/healthz", "/v2/health/ready", "/v2/health/live", "/ping", "/health", "/v2"]


@pytest.mark.parametrize("path", PROBES)
def test_probes_never_look_at_credentials(app, credentials, path):
    """An open, unthrottled probe that answered a valid key differently would be a key oracle."""
    client = app.test_client()
    answers = {
        (response.status_code, response.get_data())
        for headers in (
            {},
            {"Authorization": "Bearer not-a-key"},
            {"Authorization": f"Bearer {credentials.api_key}"},
            {"Authorization": f"Bearer {credentials.admin_key}"},
        )
        for response in [client.get(path, headers=headers)]
    }
    assert len(answers) == 1, answers
    assert next(iter(answers))[0] == 200


def test_status_with_credentials_has_the_details(app, credentials):
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    body = app.test_client().get("/status", headers=headers).get_json()
    assert body["ready"] is True
    assert {"mnist", "tabular"} <= {model["name"] for model in body["models"]}
    assert "failures" in body


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_status_needs_credentials(app, headers):
    response = app.test_client().get("/status", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "models" not in response.get_json()


def test_status_is_rate_limited(session_store, tmp_path):
    """Guessing keys on /status is throttled like on any model endpoint."""
    creds = write_credentials(tmp_path / "creds")
    config = creds.config(rate_limit_enabled=True, rate_limit="3/minute")
    client = create_app(session_store.config(**config)).test_client()
    guesses = [
        client.get("/status", headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(5)
    ]
    assert guesses == [401, 401, 401, 429, 429]


def test_readyz_details_when_auth_is_off(session_store):
    body = create_app(session_store.config()).test_client().get("/readyz").get_json()
    assert body["models"]


def test_status_when_auth_is_off(session_store):
    body = create_app(session_store.config()).test_client().get("/status").get_json()
    assert body["models"]


def test_not_ready_is_still_503_for_strangers(tmp_path, session_store, credentials):
    empty = tmp_path / "empty"
    empty.mkdir()
    app = create_app(session_store.config(model_store=empty, **credentials.config()))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"ready": False}
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    report = app.test_client().get("/status", headers=headers)
    assert report.status_code == 503
    assert report.get_json()["ready"] is False


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
