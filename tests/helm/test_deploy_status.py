"""scripts/deploy_status.py against API responses replayed through the real kubernetes client.

The JSON under recorded/ has the shape the API server returns (no cluster is reachable here to
capture live ones); only the HTTP layer is replaced, so the client's own URL building,
multipart encoding and deserialisation into V1Deployment/V1Pod objects all run.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from kubernetes import client
from kubernetes.client import rest

from .conftest import ROOT

RECORDED = Path(__file__).parent / "recorded"
_spec = importlib.util.spec_from_file_location(
    "deploy_status", ROOT / "scripts" / "deploy_status.py"
)
deploy_status = importlib.util.module_from_spec(_spec)
sys.modules["deploy_status"] = deploy_status  # dataclasses look their module up there
_spec.loader.exec_module(deploy_status)

DEPLOY = "/apis/apps/v1/namespaces/ml/deployments/mnist-model-server/status"
PODS = "/api/v1/namespaces/ml/pods"
PROXY = "/api/v1/namespaces/ml/services/mnist-model-server:http/proxy"


class _Raw:
    """Just enough of a urllib3 response for kubernetes.client.rest.RESTResponse."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.reason, self.data = status, "OK" if status < 400 else "Error", body
        self.headers = {"Content-Type": content_type}


class Replay:
    """Answers requests from queues of (status, body) per (method, path); records each call."""

    def __init__(self, routes: dict[tuple[str, str], list[tuple[int, object]]]) -> None:
        self.routes, self.calls = routes, []

    def __call__(self, method, url, headers=None, body=None, post_params=None, **_):
        path = "/" + unquote(url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0])
        self.calls.append((method, path, headers or {}, post_params))
        queue = self.routes[(method, path)]
        status, payload = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(payload, str) and payload.endswith(".json"):
            return rest.RESTResponse(
                _Raw(status, (RECORDED / payload).read_bytes(), "application/json")
            )
        return rest.RESTResponse(_Raw(status, str(payload).encode(), "text/plain"))


@pytest.fixture
def api(monkeypatch):
    def install(routes):
        replay = Replay(routes)
        monkeypatch.setattr(rest.RESTClientObject, "request", replay)
        conf = client.Configuration(host="https://k8s.test")
        conf.api_key = {"authorization": "Bearer test-token"}  # as load_kube_config sets it
        api_client = client.ApiClient(conf)
        return client.AppsV1Api(api_client), client.CoreV1Api(api_client), replay

    return install


TARGET = deploy_status.Target.for_release("ml", "mnist")


def test_waits_until_the_rollout_completes(api):
    apps, core, replay = api(
        {
            ("GET", DEPLOY): [
                (200, "deployment-progressing.json"),
                (200, "deployment-complete.json"),
            ],
            ("GET", PODS): [(200, "pods-starting.json")],
        }
    )
    sleeps = []
    message = deploy_status.wait_for_rollout(apps, core, TARGET, timeout=60, sleep=sleeps.append)
    assert message == "2 replicas up to date and available"
    assert sleeps == [2.0]
    pods_call = next(c for c in replay.calls if c[1] == PODS)
    assert {k.lower(): v for k, v in pods_call[2].items()}["authorization"] == "Bearer test-token"


def test_init_container_refusing_an_artifact_is_reported_at_once(api):
    apps, core, _ = api(
        {
            ("GET", DEPLOY): [(200, "deployment-progressing.json")],
            ("GET", PODS): [(200, "pods-init-crashloop.json")],
        }
    )
    with pytest.raises(deploy_status.RolloutFailed) as err:
        deploy_status.wait_for_rollout(apps, core, TARGET, timeout=60, sleep=pytest.fail)
    text = str(err.value)
    assert "mnist-model-server-6f8b-xk2lq/fetch-artifact: CrashLoopBackOff" in text
    assert "exited 1: fetch-artifact: error: signature of" in text


@pytest.mark.parametrize(
    ("deployment", "pods", "expected"),
    [
        ("deployment-deadline.json", "pods-starting.json", "exceeded its progress deadline"),
        ("deployment-progressing.json", "pods-image-pull.json", "ImagePullBackOff"),
    ],
)
def test_hopeless_rollouts_fail_with_the_reason(api, deployment, pods, expected):
    apps, core, _ = api({("GET", DEPLOY): [(200, deployment)], ("GET", PODS): [(200, pods)]})
    with pytest.raises(deploy_status.RolloutFailed, match=expected):
        deploy_status.wait_for_rollout(apps, core, TARGET, timeout=60, sleep=pytest.fail)


def test_timeout_names_the_last_state(api):
    apps, core, _ = api(
        {
            ("GET", DEPLOY): [(200, "deployment-progressing.json")],
            ("GET", PODS): [(200, "pods-starting.json")],
        }
    )
    ticks = iter([0.0, 5.0, 11.0])
    with pytest.raises(deploy_status.RolloutFailed, match=r"timed out after 10s: 1 of 2 new"):
        deploy_status.wait_for_rollout(
            apps, core, TARGET, timeout=10, sleep=lambda _: None, clock=lambda: next(ticks)
        )


def test_missing_deployment(api):
    body = json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"})
    apps, core, _ = api({("GET", DEPLOY): [(404, body)]})
    with pytest.raises(deploy_status.RolloutFailed, match="not found"):
        deploy_status.wait_for_rollout(apps, core, TARGET, timeout=1)


def test_smoke_calls_readyz_and_predict_through_the_service_proxy(api, signed_store):
    _, core, replay = api(
        {
            ("GET", f"{PROXY}/readyz"): [(200, "ready")],
            ("POST", f"{PROXY}/predict"): [(200, '{"digit": 7, "model": "mnist"}')],
        }
    )
    result = deploy_status.smoke(core, TARGET, signed_store.png, expect=7)
    assert result == {"readyz": "ready", "predict": {"digit": 7, "model": "mnist"}}
    method, _, headers, post_params = replay.calls[-1]
    assert method == "POST"
    assert headers["Content-Type"] == "multipart/form-data"
    ((field, (filename, data, mimetype)),) = post_params
    assert (field, filename, mimetype) == ("file", "digit.png", "image/png")
    assert data == signed_store.png.read_bytes()


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ({("GET", f"{PROXY}/readyz"): [(503, "not ready")]}, "GET /readyz .* answered 503"),
        (
            {
                ("GET", f"{PROXY}/readyz"): [(200, "ready")],
                ("POST", f"{PROXY}/predict"): [(200, '{"digit": 1}')],
            },
            "expected digit 7",
        ),
        (
            {
                ("GET", f"{PROXY}/readyz"): [(200, "ready")],
                ("POST", f"{PROXY}/predict"): [(401, '{"title": "Unauthorized"}')],
            },
            "POST /predict .* answered 401",
        ),
    ],
)
def test_smoke_failures(api, signed_store, routes, expected):
    _, core, _ = api(routes)
    with pytest.raises(deploy_status.SmokeFailed, match=expected):
        deploy_status.smoke(core, TARGET, signed_store.png, expect=7)


def test_cli_without_kubeconfig_exits_2(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert deploy_status.main(["--release", "mnist", "--namespace", "ml"]) == 2
    assert "no usable kubeconfig" in caplog.text
