"""A recommender served by the real server (Gunicorn, 2 workers) with auth on: the issue's
`curl …:recommend -d '{"user": "u1", "k": 5}'` returns five items."""

from __future__ import annotations

import pytest
import requests

import artifacts
from tests.artifacts.recommender_data import make_factors

from .auth_files import write_credentials
from .live import running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec-live")
    key = artifacts.generate_keys("openssf", root / "keys")
    store = root / "store"
    artifacts.save_recommender(
        store, "recs", make_factors(), signer=artifacts.load_signer(key["private"]),
        version="1", rank=8, implicit=True, cold_start="nan",
    )  # fmt: skip
    creds = write_credentials(root / "creds")
    env = {
        **creds.env(),
        "SERVING_MODEL_STORE": str(store),
        "SERVING_VERIFY_KEY_FILE": str(key["public"]),
        "SERVING_RELOAD_INTERVAL": "0",
        "WEB_CONCURRENCY": "2",
    }
    with running_server(env, root / "server.log") as base:
        yield base, creds.api_key


def test_recommend_over_http_with_auth(server):
    base, api_key = server
    url = f"{base}/v1/models/recs:recommend"
    assert requests.post(url, json={"user": "u1", "k": 5}, timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {api_key}"}
    reply = requests.post(url, json={"user": "u1", "k": 5}, headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["items"]) == 5
    assert reply.json()["cold_start"] is False
    bad = requests.post(url, json={"user": "u1", "k": -1}, headers=headers, timeout=10)
    assert bad.status_code == 400
    assert bad.headers["Content-Type"] == "application/problem+json"
    metrics = requests.get(f"{base}/metrics", timeout=10).text
    assert 'route="/v1/models/<name>:recommend"' in metrics
    assert 'model_server_recommendations_total{cold_start="false",model="recs"' in metrics, metrics
