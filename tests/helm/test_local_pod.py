"""Run the rendered pod locally: proof that the chart's wiring starts the service.

Take the rendered Deployment, materialise every volume it mounts (Secrets and ConfigMaps from the
rendered objects, the PVC as the signed test store, emptyDirs as empty directories) under a temp
root at its mount path, rewrite env values that point into a mount, and exec the container's
command with the rendered env. Then hit the rendered probe paths, run the chart's own `helm test`
script, and check SIGTERM stops it within the rendered graceful timeout. The only changes are the
file-system root and SERVING_BIND's host (0.0.0.0 → 127.0.0.1, to stay on loopback).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .conftest import CHART, one

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _object_files(objects: list[dict], kind: str, name: str) -> dict[str, bytes]:
    obj = one(objects, kind, name)
    files = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    if kind == "ConfigMap":
        files = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        files |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
    return files


def materialise(objects: list[dict], pod: dict, container: dict, root: Path, store: Path) -> None:
    """Create each mounted volume's files under root/<mountPath>."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        target = root / mount["mountPath"].lstrip("/")
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            target.mkdir(parents=True, exist_ok=True)
        elif "persistentVolumeClaim" in volume:
            shutil.copytree(store, target)
        else:
            ref = volume.get("secret")
            name = ref["secretName"] if ref else volume["configMap"]["name"]
            kind = "Secret" if ref else "ConfigMap"
            target.mkdir(parents=True, exist_ok=True)
            for fname, data in _object_files(objects, kind, name).items():
                (target / fname).write_bytes(data)


def rendered_env(objects: list[dict], container: dict, root: Path) -> dict[str, str]:
    """envFrom ConfigMaps + env values, with paths into mounts re-rooted under root."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    mounts = sorted((m["mountPath"] for m in container["volumeMounts"]), key=len, reverse=True)
    for key, value in env.items():
        for mount in mounts:
            if value == mount or value.startswith(mount + "/"):
                env[key] = str(root) + value
                break
    env["SERVING_BIND"] = env["SERVING_BIND"].replace("0.0.0.0:", "127.0.0.1:")
    return env


def _wait_ok(url: str, deadline: float, proc: subprocess.Popen) -> None:
    while True:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        assert time.monotonic() < deadline, f"{url} not 200 within the startup probe budget"
        time.sleep(0.5)


@pytest.fixture
def rendered_pod(render, signed_store, tmp_path):
    port = _free_port()
    key_file = tmp_path / "api-keys"
    key_file.write_text(f"# test key\n{secrets.token_urlsafe(32)}\n")
    objects = render(
        CHART / "ci" / "default-values.yaml",
        sets={"server.port": port, "server.workers": 1, "model.delivery": "pvc"},
        set_files={"verification.key": signed_store.public_key, "auth.apiKeys": key_file},
    )
    deploy = one(objects, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    root = tmp_path / "root"
    materialise(objects, pod, container, root, signed_store.store)
    env = rendered_env(objects, container, root)
    return objects, container, env, port, key_file.read_text().splitlines()[1]


def test_rendered_pod_serves_probes_and_predictions(rendered_pod, signed_store, tmp_path):
    objects, container, env, port, api_key = rendered_pod
    program, *args = container["command"]
    command = [str(Path(sys.executable).parent / program), *args]
    assert env["SERVING_VERIFY_KEY_FILE"].endswith("/etc/model-server/keys/verify-key.pem")
    assert Path(env["SERVING_VERIFY_KEY_FILE"]).read_bytes() == signed_store.public_key.read_bytes()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(  # the rendered env only, as in the pod (plus PATH to find python)
        command, env={**env, "PATH": os.environ["PATH"]}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        startup = container["startupProbe"]
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        _wait_ok(base + startup["httpGet"]["path"], time.monotonic() + budget, proc)
        for probe in ("livenessProbe", "readinessProbe"):
            _wait_ok(base + container[probe]["httpGet"]["path"], time.monotonic() + 30, proc)
        with signed_store.png.open("rb") as fh:
            refused = requests.post(f"{base}/predict", files={"file": fh}, timeout=30)
        assert refused.status_code == 401, refused.text  # auth wiring: the key file is live
        with signed_store.png.open("rb") as fh:
            answer = requests.post(
                f"{base}/predict",
                files={"file": fh},
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=30,
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["digit"] == 7

        # the chart's `helm test` hook script, with its rendered env, against the same server
        hook = one(objects, "Pod", "mnist-model-server-test-predict")["spec"]["containers"][0]
        hook_env = {e["name"]: e["value"] for e in hook["env"]}
        files = one(objects, "ConfigMap", "mnist-model-server-test")
        (tmp_path / "predict_sample.py").write_text(files["data"]["predict_sample.py"])
        (tmp_path / "sample.png").write_bytes(base64.b64decode(files["binaryData"]["sample.png"]))
        hook_env |= {
            "TARGET_URL": base,
            "SAMPLE": str(tmp_path / "sample.png"),
            "API_KEY_FILE": env["SERVING_API_KEYS_FILE"],  # the same Secret key the hook mounts
        }
        result = subprocess.run(
            [sys.executable, str(tmp_path / "predict_sample.py")],
            env={**hook_env, "PATH": os.environ["PATH"]},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK: /predict answered" in result.stdout

        # SIGTERM (what the kubelet sends after preStop) stops it within the graceful timeout
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=int(env["SERVING_GRACEFUL_TIMEOUT"]) + 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    assert proc.returncode == 0, (tmp_path / "server.log").read_text()[-3000:]
