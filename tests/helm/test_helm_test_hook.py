"""The `helm test` hook fits the served model: rendered per `tests.request.kind`, then run.

Rendering uses the real `helm` binary. The hook script is then taken from the rendered
ConfigMap and run, with the env the chart rendered for it, against the real server (Gunicorn,
auth on) serving a recommender, as the test pod would through the Service.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

import artifacts
from tests.artifacts.recommender_data import make_factors
from tests.serving.auth_files import write_credentials
from tests.serving.live import running_server

from .conftest import CHART, RELEASE, by_kind, one, run_helm

DEFAULT = CHART / "ci" / "default-values.yaml"
HOOK = f"{RELEASE}-model-server-test-predict"


def hook_env(objects: list[dict]) -> dict[str, str]:
    (container,) = one(objects, "Pod", HOOK)["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({}, {"TEST_KIND": "auto", "TEST_MODEL": "", "TEST_USER": "", "TEST_K": "5"}),
        ({"tests.request.kind": "digit", "tests.expectedDigit": 3},
         {"TEST_KIND": "digit", "EXPECTED_DIGIT": "3"}),
        ({"tests.request.kind": "recommend", "tests.request.model": "shop",
          "tests.request.user": "u1", "tests.request.k": 10},
         {"TEST_KIND": "recommend", "TEST_MODEL": "shop", "TEST_USER": "u1", "TEST_K": "10"}),
        ({"tests.request.kind": "recommend", "tests.request.user": 1042},  # integer ids
         {"TEST_KIND": "recommend", "TEST_USER": "1042"}),
        ({"tests.request.kind": "metadata", "tests.request.model": "churn"},
         {"TEST_KIND": "metadata", "TEST_MODEL": "churn"}),
    ],
)  # fmt: skip
def test_rendered_hook_env_per_kind(render, sets, expected):
    objects = render(DEFAULT, sets=sets)
    env = hook_env(objects)
    assert {key: env[key] for key in expected} == expected
    assert env["TARGET_URL"] == f"http://{RELEASE}-model-server:80"
    pods = [p for p in by_kind(objects, "Pod") if "helm.sh/hook" in p["metadata"]["annotations"]]
    assert [p["metadata"]["name"] for p in pods] == [HOOK]
    (container,) = pods[0]["spec"]["containers"]
    assert container["command"] == ["python3", "/opt/test/predict_sample.py"]


@pytest.mark.parametrize(
    ("sets", "shown", "absent"),
    [
        ({}, ["curl -F file=@7.png http://127.0.0.1:8080/predict",
              "http://127.0.0.1:8080/v1/models/MODEL:recommend -d '{\"user\": \"USER\", \"k\": 5}'",
              "request that fits the default model"], []),
        ({"tests.request.kind": "recommend", "tests.request.model": "shop",
          "tests.request.user": "u1"},
         ["/v1/models/shop:recommend -d '{\"user\": \"u1\", \"k\": 5}'",
          "asks model shop for 5 recommendations"], ["file=@7.png"]),
        ({"tests.request.kind": "recommend", "tests.request.user": 42},
         ["-d '{\"user\": 42, \"k\": 5}'"], ["file=@7.png"]),
        ({"tests.request.kind": "metadata"},
         ["curl http://127.0.0.1:8080/v2/models/MODEL", "reads the V2 metadata"],
         ["file=@7.png", ":recommend"]),
        ({"tests.request.kind": "digit"}, ['posts a sample "7" to /predict'], [":recommend"]),
    ],
)  # fmt: skip
def test_notes_show_requests_that_fit_the_kind(helm, sets, shown, absent):
    args = ["install", RELEASE, str(CHART), "-n", "ml", "--dry-run=client", "-f", str(DEFAULT)]
    for key, value in sets.items():
        args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    proc = run_helm(helm, *args)
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    for text in shown:
        assert text in notes, notes
    for text in absent:
        assert text not in notes, notes


# --- the rendered script against a real server serving a recommender ---------------------------


@pytest.fixture(scope="module")
def recommender_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hook-recs")
    key = artifacts.generate_keys("openssf", root / "keys")
    artifacts.save_recommender(
        root / "store", "shop", make_factors(), signer=artifacts.load_signer(key["private"]),
        version="1", rank=8, implicit=True, cold_start="nan",
    )  # fmt: skip
    creds = write_credentials(root / "creds")
    env = {
        **creds.env(),
        "SERVING_MODEL_STORE": str(root / "store"),
        "SERVING_VERIFY_KEY_FILE": str(key["public"]),
        "SERVING_RELOAD_INTERVAL": "0",
        "WEB_CONCURRENCY": "1",
    }
    with running_server(env, root / "server.log") as base:
        yield base, creds.dir / "api-keys"


@pytest.fixture(scope="module")
def hook_script(render, tmp_path_factory):
    """The script and sample exactly as the chart's test ConfigMap carries them."""
    files = one(render(DEFAULT), "ConfigMap", f"{RELEASE}-model-server-test")
    root = tmp_path_factory.mktemp("hook")
    (root / "predict_sample.py").write_text(files["data"]["predict_sample.py"])
    (root / "sample.png").write_bytes(base64.b64decode(files["binaryData"]["sample.png"]))
    return root


def run_hook(render, hook_script: Path, base: str, key_file: Path | None, sets: dict):
    env = hook_env(render(DEFAULT, sets=sets))
    env |= {"TARGET_URL": base, "SAMPLE": str(hook_script / "sample.png")}
    if key_file is not None:
        env["API_KEY_FILE"] = str(key_file)  # the Secret key the hook mounts
    return subprocess.run(
        [sys.executable, str(hook_script / "predict_sample.py")],
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sets", "ok"),
    [
        ({}, ":recommend answered 5 items for user 'helm-test-cold-start-user'"),
        ({"tests.request.kind": "recommend", "tests.request.user": "u1", "tests.request.k": 7},
         ":recommend answered 7 items for user 'u1'"),
        ({"tests.request.kind": "recommend", "tests.request.model": "shop",
          "tests.request.k": 500}, ":recommend answered 60 items"),  # the whole catalogue
        ({"tests.request.kind": "metadata"}, "/v2/models/shop (spark-als) is ready, inputs: user"),
    ],
)  # fmt: skip
def test_hook_passes_against_a_served_recommender(
    render, hook_script, recommender_server, sets, ok
):
    base, key_file = recommender_server
    result = run_hook(render, hook_script, base, key_file, sets)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: "), result.stdout
    assert ok in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sets", "with_key", "fail"),
    [
        # the digit check where a recommender is served: the server's own 400 names the fix
        ({"tests.request.kind": "digit"}, True, "/predict answered 400"),
        # a user the model does not know, where the values promise a known one
        ({"tests.request.kind": "recommend", "tests.request.user": "nobody"}, True,
         "cold_start is True for a user the model knows ('nobody')"),
        ({"tests.request.kind": "recommend", "tests.request.model": "nope"}, True,
         "/v2/models/nope answered 404"),
        # no API key: GET /status names the default model only to a valid API key
        ({}, False, "no model to check"),
    ],
)  # fmt: skip
def test_hook_fails_with_one_line(render, hook_script, recommender_server, sets, with_key, fail):
    base, key_file = recommender_server
    result = run_hook(render, hook_script, base, key_file if with_key else None, sets)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("FAIL: "), result.stderr
    assert fail in lines[0], lines[0]
