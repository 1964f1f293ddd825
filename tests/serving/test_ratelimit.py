"""Per-client rate limits: 429 + Retry-After as problem+json; probes are never limited."""

from __future__ import annotations

import base64

import pytest

from serving import create_app

from .auth_files import write_credentials


@pytest.fixture(scope="module")
def limited(_session_store, tmp_path_factory):
    """One app for the module; each test uses its own client address, so limits don't mix."""
    creds = write_credentials(tmp_path_factory.mktemp("creds"))
    config = _session_store.config(
        default_model="mnist",
        rate_limit_enabled=True,
        rate_limit="3/minute",
        token_rate_limit="2/minute",
        **{k: v for k, v in creds.config().items() if k != "rate_limit_enabled"},
    )
    return create_app(config), creds


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_fourth_request_in_a_minute_is_429(limited, digit):
    app, creds = limited
    client = _client(app, "10.0.0.1")
    headers = {"Authorization": f"Bearer {creds.api_key}"}
    for _ in range(3):
        response = client.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers)
        assert response.status_code == 200
        assert "Retry-After" not in response.headers
    response = client.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 61
    body = response.get_json(force=True)
    assert body["status"] == 429
    assert "3 per 1 minute" in body["detail"]
    other = _client(app, "10.0.0.2")  # per client: another address is unaffected
    assert (
        other.post("/predict", json={"pixels": digit[0].tolist()}, headers=headers).status_code
        == 200
    )


def test_failed_auth_attempts_count_against_the_limit(limited):
    app, _ = limited
    client = _client(app, "10.0.0.3")
    statuses = [
        client.post("/predict", headers={"Authorization": "Bearer guess-guess-guess-1"}).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_token_endpoint_has_its_own_tighter_limit(limited):
    app, creds = limited
    client = _client(app, "10.0.0.4")
    auth = base64.b64encode(f"{creds.user}:{creds.password}".encode()).decode()
    statuses = [
        client.post("/auth/token", headers={"Authorization": f"Basic {auth}"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v2/health/ready", "/metrics", "/"])
def test_probes_metrics_and_page_are_not_limited(limited, path):
    app, _ = limited
    client = _client(app, "10.0.1." + str(len(path)))
    assert {client.get(path).status_code for _ in range(10)} == {200}


@pytest.mark.parametrize(("hops", "separate"), [(0, False), (1, True)])
def test_forwarded_for_is_trusted_only_behind_configured_proxies(signed_store, hops, separate):
    """Without proxy_hops a client cannot dodge its limit by inventing X-Forwarded-For."""
    app = create_app(
        signed_store.config(rate_limit_enabled=True, rate_limit="2/minute", proxy_hops=hops)
    )
    client = app.test_client()
    statuses = [
        client.post("/predict", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(4)
    ]
    assert (429 not in statuses) is separate
