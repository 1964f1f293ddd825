"""Wait for a model-server rollout, explain why it is stuck, and smoke-test it via the API server.

    python scripts/deploy_status.py --namespace ml --release mnist [--timeout 300]

`kubectl rollout status` says *that* a rollout hangs; this says *why* in the terms of this chart:
an init container that refused an artifact (its error line), a bad image, a crash loop, a missing
Secret. When the rollout completes it calls the Service's `/readyz` and, if asked, `/predict`
through the API server's service proxy (so no port-forward or Ingress is needed). The proxy
consumes the Authorization header, so `/predict` works this way only with auth disabled;
`helm test` covers the authenticated path from inside the cluster.

Exit status: 0 ready, 1 rollout failed or timed out, 2 usage or kubeconfig error, 3 smoke
test failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

log = logging.getLogger("deploy-status")

#: Waiting reasons that will not fix themselves; reported at once instead of waiting for timeout.
FATAL_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}


class DeployStatusError(Exception):
    """Base of this tool's errors; each subclass maps to one exit status."""

    exit_code = 1


class RolloutFailed(DeployStatusError):
    """The rollout cannot complete (or did not within the timeout)."""


class SmokeFailed(DeployStatusError):
    """The rollout completed but the service does not answer as expected."""

    exit_code = 3


@dataclass(frozen=True)
class Target:
    """Names of the release's objects (the chart's fullname is `<release>-model-server`)."""

    namespace: str
    deployment: str
    service: str
    port: str = "http"

    @classmethod
    def for_release(cls, namespace: str, release: str) -> Target:
        name = release if "model-server" in release else f"{release}-model-server"
        return cls(namespace, name, name)


def rollout_state(dep: client.V1Deployment) -> tuple[bool, str]:
    """(done, message) for a Deployment, with kubectl's rollout-status rules."""
    status, spec = dep.status, dep.spec
    if (dep.metadata.generation or 0) > (status.observed_generation or 0):
        return False, "waiting for the new spec to be observed"
    for cond in status.conditions or []:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            raise RolloutFailed(f"deployment {dep.metadata.name} exceeded its progress deadline")
    wanted = spec.replicas if spec.replicas is not None else 1
    updated = status.updated_replicas or 0
    if updated < wanted:
        return False, f"{updated} of {wanted} new replicas updated"
    if (status.replicas or 0) > updated:
        return False, f"{status.replicas - updated} old replicas pending termination"
    if (status.available_replicas or 0) < updated:
        return False, f"{status.available_replicas or 0} of {updated} updated replicas available"
    return True, f"{updated} replicas up to date and available"


def pod_problems(pods: list[client.V1Pod]) -> list[str]:
    """Problems that will not resolve by waiting, one line each, naming pod and container."""
    problems = []
    for pod in pods:
        name = pod.metadata.name
        statuses = [
            *(pod.status.init_container_statuses or []),
            *(pod.status.container_statuses or []),
        ]
        for cs in statuses:
            waiting = cs.state.waiting if cs.state else None
            if waiting and waiting.reason in FATAL_WAITING:
                detail = f": {waiting.message}" if waiting.message else ""
                problems.append(f"{name}/{cs.name}: {waiting.reason}{detail}")
            last = cs.last_state.terminated if cs.last_state else None
            current = cs.state.terminated if cs.state else None
            for term in (current, last):
                if term and term.exit_code:
                    reason = term.message or term.reason or "error"
                    problems.append(f"{name}/{cs.name}: exited {term.exit_code}: {reason.strip()}")
                    break
    return list(dict.fromkeys(problems))


def _selector(dep: client.V1Deployment) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(dep.spec.selector.match_labels.items()))


def wait_for_rollout(
    apps: client.AppsV1Api,
    core: client.CoreV1Api,
    target: Target,
    timeout: float,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Poll until the rollout completes; raise RolloutFailed with the pods' problems."""
    deadline = clock() + timeout
    while True:
        try:
            dep = apps.read_namespaced_deployment_status(target.deployment, target.namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise RolloutFailed(
                    f"deployment {target.namespace}/{target.deployment} not found"
                ) from None
            raise
        done, message = rollout_state(dep)
        if done:
            return message
        pods = core.list_namespaced_pod(target.namespace, label_selector=_selector(dep)).items
        problems = pod_problems(pods)
        if problems:
            raise RolloutFailed("; ".join(problems))
        if clock() >= deadline:
            raise RolloutFailed(f"timed out after {timeout:g}s: {message}")
        log.info("%s", message)
        sleep(poll)


def _proxy_get(core: client.CoreV1Api, target: Target, path: str) -> str:
    try:
        return core.connect_get_namespaced_service_proxy_with_path(
            f"{target.service}:{target.port}", target.namespace, path
        )
    except ApiException as exc:
        raise SmokeFailed(f"GET /{path} through the service answered {exc.status}") from None


def smoke(core: client.CoreV1Api, target: Target, sample: Path | None, expect: int | None) -> dict:
    """/readyz (and /predict when a sample is given) through the API server's service proxy."""
    result: dict[str, Any] = {"readyz": _proxy_get(core, target, "readyz")}
    if sample is None:
        return result
    path = (
        f"/api/v1/namespaces/{target.namespace}/services/{target.service}:{target.port}"
        "/proxy/predict"
    )
    api = core.api_client
    request = api.param_serialize(
        "POST",
        path,
        header_params={"Content-Type": "multipart/form-data", "Accept": "application/json"},
        files={"file": ("digit.png", sample.read_bytes())},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request)
    data = response.read()
    if response.status != 200:
        raise SmokeFailed(f"POST /predict through the service answered {response.status}")
    answer = json.loads(data)
    if expect is not None and answer.get("digit") != expect:
        raise SmokeFailed(f"/predict answered {answer}, expected digit {expect}")
    result["predict"] = answer
    return result


def _load_config(context: str | None) -> None:
    try:
        config.load_kube_config(context=context)
    except (ConfigException, FileNotFoundError, TypeError):
        config.load_incluster_config()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", "-n", default="default")
    parser.add_argument("--release", required=True, help="helm release name")
    parser.add_argument("--context", help="kubeconfig context (default: current)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    parser.add_argument("--sample", type=Path, help="PNG to POST to /predict (auth must be off)")
    parser.add_argument("--expect", type=int, help="digit the sample must be predicted as")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        _load_config(args.context)
    except ConfigException as exc:
        log.error("error: no usable kubeconfig or in-cluster config: %s", exc)
        return 2
    target = Target.for_release(args.namespace, args.release)
    core = client.CoreV1Api()
    try:
        log.info("rollout: %s", wait_for_rollout(client.AppsV1Api(), core, target, args.timeout))
        log.info("smoke: %s", json.dumps(smoke(core, target, args.sample, args.expect)))
    except DeployStatusError as exc:
        log.error("error: %s", exc)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
