"""The chart through the real helm binary: lint, render every scenario, schema and guard rails."""

from __future__ import annotations

import pytest

from .conftest import CHART, CI_VALUES, by_kind, one, run_helm

DEFAULT = CHART / "ci" / "default-values.yaml"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_lint_strict(helm, values):
    proc = run_helm(helm, "lint", "--strict", str(CHART), "--values", str(values))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_scenario_named_in_the_issue_exists():
    names = {p.stem for p in CI_VALUES}
    for wanted in ("default", "ingress-tls", "existing-secrets", "pvc", "training"):
        assert f"{wanted}-values" in names


def test_defaults_are_hardened(render):
    objects = render(DEFAULT)
    deploy = one(objects, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    ctx = server["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert server["image"] == "spark-model-server:0.1.0"  # appVersion, never latest
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert (
        server["startupProbe"]["failureThreshold"] * server["startupProbe"]["periodSeconds"] >= 60
    )
    assert {"PodDisruptionBudget", "NetworkPolicy", "Service", "ConfigMap"} <= {
        o["kind"] for o in objects
    }
    assert not by_kind(objects, "Ingress")
    assert not by_kind(objects, "HorizontalPodAutoscaler")


def test_drain_timing_is_ordered(render):
    deploy = one(render(DEFAULT), "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    config = one(render(DEFAULT), "ConfigMap", "mnist-model-server")["data"]
    graceful = int(config["SERVING_GRACEFUL_TIMEOUT"])
    pre_stop = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][1])
    assert graceful < pre_stop < pod["terminationGracePeriodSeconds"] - graceful


def test_checksums_roll_pods_when_secrets_change(render):
    def checksums(key: str) -> dict:
        deploy = one(render(DEFAULT, sets={"auth.tokenSecret": key}), "Deployment")
        return deploy["spec"]["template"]["metadata"]["annotations"]

    first, second = checksums("one"), checksums("two")
    assert first["checksum/secret"] != second["checksum/secret"]
    assert first["checksum/config"] == second["checksum/config"]


def test_ingress_tls_hpa_and_servicemonitor(render):
    objects = render(CHART / "ci" / "ingress-tls-values.yaml")
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == "mnist-example-com-tls"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Pods"]
    assert "replicas" not in one(objects, "Deployment")["spec"]  # the HPA owns the count
    assert one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["path"] == "/metrics"


def test_existing_secrets_are_referenced_not_created(render):
    objects = render(CHART / "ci" / "existing-secrets-values.yaml")
    assert by_kind(objects, "Secret") == []  # both Secrets exist already: the chart makes none
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {
        "verify-key": "mnist-verify-key",
        "auth": "mnist-auth",
        "tls": "mnist-server-tls",
    }
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["SERVING_TLS_CERT_FILE"] == "/etc/model-server/tls/tls.crt"
    assert "SERVING_USERS_FILE" not in env  # usersKey: "" turns it off
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert pod["containers"][0]["image"].endswith("@sha256:" + "0" * 64)


def test_pvc_delivery_mounts_the_claim_read_only(render):
    objects = render(CHART / "ci" / "pvc-values.yaml")
    claim = one(objects, "PersistentVolumeClaim")
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    (models,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert models["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "models"]
    assert mount == {"name": "models", "mountPath": "/models", "readOnly": True}


def test_download_delivery_verifies_in_an_init_container(render):
    objects = render(CHART / "ci" / "download-values.yaml")
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env["FETCH_URL"].startswith("https://")
    assert env["SERVING_VERIFY_KEY_FILE"] == "/etc/model-server/keys/verify-key.pem"
    script = [c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"].endswith("-fetch")]
    assert "artifacts.verify" in script[0]["data"]["fetch_artifact.py"]
    egress = one(objects, "NetworkPolicy")["spec"]["egress"]
    assert egress[1]["to"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}]


@pytest.mark.parametrize(
    ("values", "kind"),
    [("training-values.yaml", "SparkApplication"), ("training-job-values.yaml", "Job")],
)
def test_training_workloads(render, values, kind):
    objects = render(CHART / "ci" / values)
    job = one(objects, kind)
    text = str(job)
    assert "spark-model-server-spark:0.1.0" in text
    main = "/opt/spark-model-server/spark_jobs/main.py"
    if kind == "SparkApplication":
        assert job["spec"]["mainApplicationFile"] == "local://" + main
    else:  # a plain Job runs spark-submit on the file itself
        assert main in job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "mnist-signing-key" in text
    assert "mnist-models" in text
    if kind == "SparkApplication":
        assert job["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
        assert job["spec"]["arguments"][-4:] == ["--name", "mnist", "--output", "/models"]


@pytest.mark.parametrize(
    ("values", "args", "refused"),
    [
        ("training-values.yaml", "{--task,recommendation,--data,s3a://b/r.csv}", True),
        ("training-values.yaml", "{--task=recommendation,--data,s3a://b/r.csv}", True),
        ("training-values.yaml", "{--task,recommendation,--checkpoint-dir,s3a://b/ckpt}", False),
        ("training-values.yaml", "{--task,recommendation,--checkpoint-dir=hdfs://nn/c}", False),
        ("training-job-values.yaml", "{--task,recommendation,--data,/data/r.csv}", False),
    ],
)
def test_recommendation_training_on_executors_needs_a_checkpoint_dir(helm, values, args, refused):
    """ALS on a cluster refuses to start without shared checkpoints; the chart says so first."""
    proc = run_helm(helm, "template", "x", str(CHART), "--values", str(CHART / "ci" / values),
                    "--set", f"training.args={args}")  # fmt: skip
    assert (proc.returncode != 0) == refused, proc.stderr
    if refused:
        assert "--task recommendation on a SparkApplication needs --checkpoint-dir" in proc.stderr


def test_helm_test_hook_predicts_the_sample_digit(render):
    objects = render(DEFAULT, sets={"tests.request.kind": "digit"})
    pods = [p for p in by_kind(objects, "Pod") if p["metadata"]["annotations"]["helm.sh/hook"]]
    (pod,) = pods
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["TARGET_URL"] == "http://mnist-model-server:80"
    assert env["EXPECTED_DIGIT"] == "7"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"image.tag": "latest"}, "/image/tag"),
        ({"model.delivery": "ftp"}, "/model/delivery"),
        ({"server.port": 70000}, "/server/port"),
        (
            {"securityContext.readOnlyRootFilesystem": False},
            "/securityContext/readOnlyRootFilesystem",
        ),
        ({"model.signatureScheme": "md5"}, "/model/signatureScheme"),
        ({"replicaCount": 0}, "/replicaCount"),
        ({"unknownKey": "x"}, "unknownKey"),
        ({"tests.expectedDigit": 12}, "/tests/expectedDigit"),
    ],
)
def test_schema_rejects_bad_values(helm, sets, message):
    args = ["template", "x", str(CHART), "--values", str(DEFAULT)]
    for key, value in sets.items():
        args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    proc = run_helm(helm, *args)
    assert proc.returncode != 0
    assert "schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"verification.key": ""}, "verification.existingSecret"),
        ({"server.preStopSleepSeconds": 10}, "preStopSleepSeconds"),
        ({"server.terminationGracePeriodSeconds": 40}, "terminationGracePeriodSeconds"),
        ({"model.delivery": "download"}, "model.download.url"),
        ({"tls.enabled": True}, "tls.secretName"),
        ({"training.enabled": True}, "signingKeySecret"),
        ({"tests.request.kind": "image"}, "/tests/request/kind"),  # the helm test hook's request
        ({"tests.request.k": 0}, "/tests/request/k"),
        ({"tests.request.users": "u1"}, "users"),
    ],
)
def test_inconsistent_values_fail_with_a_clear_message(helm, sets, message):
    args = ["template", "x", str(CHART), "--values", str(DEFAULT)]
    for key, value in sets.items():
        args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    proc = run_helm(helm, *args)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_notes_tell_how_to_reach_and_check_the_release(helm):
    values = CHART / "ci" / "ingress-tls-values.yaml"
    proc = run_helm(
        helm, "install", "mnist", str(CHART), "-n", "ml", "--dry-run=client", "-f", str(values)
    )
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n ml rollout status deploy/mnist-model-server" in notes
    assert "curl -F file=@7.png https://mnist.example.com/predict" in notes
    assert "Authorization: Bearer" in notes
    assert "helm test mnist -n ml" in notes


def test_shared_rate_limits_mount_only_the_redis_uri_key(render):
    objects = render(CHART / "ci" / "shared-rate-limits-values.yaml")
    assert by_kind(objects, "Secret") == []  # the Redis URI Secret exists already
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "rate-limit-storage")
    assert volume["secret"]["secretName"] == "mnist-redis"
    assert volume["secret"]["items"] == [{"key": "url", "path": "url"}]  # nothing else mounted
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SERVING_RATE_LIMIT_STORAGE_FILE"] == "/etc/model-server/rate-limit/url"
    assert env["SERVING_TOKEN_PREVIOUS_SECRET_FILE"] == (
        "/etc/model-server/auth/token-previous-secret"
    )
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["rate-limit-storage"]["readOnly"] is True
    assert "subPath" not in mounts["rate-limit-storage"]  # subPath mounts never see updates
    assert "subPath" not in mounts["auth"]  # rotation relies on the kubelet's ..data swaps
    egress = one(objects, "NetworkPolicy")["spec"]["egress"]
    redis = [rule for rule in egress if {"port": 6379, "protocol": "TCP"} in rule["ports"]]
    assert len(redis) == 1
    assert redis[0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "redis"
    }


def test_without_redis_nothing_about_it_is_rendered(render):
    objects = render(CHART / "ci" / "default-values.yaml")
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert "rate-limit-storage" not in {v["name"] for v in pod["volumes"]}
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert "SERVING_RATE_LIMIT_STORAGE_FILE" not in env
    assert "SERVING_TOKEN_PREVIOUS_SECRET_FILE" not in env
    egress = one(objects, "NetworkPolicy")["spec"]["egress"]
    assert all(p["port"] == 53 for rule in egress for p in rule["ports"])


def test_redis_egress_without_peers_allows_the_port_anywhere(render):
    objects = render(
        CHART / "ci" / "default-values.yaml",
        sets={"rateLimit.redis.existingSecret": "mnist-redis", "rateLimit.redis.port": 6380},
    )
    egress = one(objects, "NetworkPolicy")["spec"]["egress"]
    redis = [rule for rule in egress if {"port": 6380, "protocol": "TCP"} in rule["ports"]]
    assert len(redis) == 1
    assert "to" not in redis[0]
