"""The chart's tracing values: off by default; on, the OTEL_* env and a NetworkPolicy egress rule
to the collector, and refusals for the combinations that would silently trace nothing."""

from __future__ import annotations

import pytest

from .conftest import CHART, one, run_helm

DEFAULT = CHART / "ci" / "default-values.yaml"
TRACING = CHART / "ci" / "tracing-values.yaml"


def _env(objects: list[dict]) -> dict[str, dict]:
    [container] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container["env"]}


def _egress(objects: list[dict]) -> list[dict]:
    return one(objects, "NetworkPolicy")["spec"]["egress"]


def test_off_by_default(render):
    objects = render(DEFAULT)
    env = _env(objects)
    assert "SERVING_TRACING" not in env
    assert not [name for name in env if name.startswith("OTEL_")]
    assert len(_egress(objects)) == 1  # DNS only


def test_on_sets_the_otel_env_and_admits_the_collector(render):
    objects = render(TRACING)
    env = _env(objects)
    assert env["SERVING_TRACING"]["value"] == "otlp"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability:4318"
    assert env["OTEL_SERVICE_NAME"]["value"] == one(objects, "Deployment")["metadata"]["name"]
    assert env["OTEL_TRACES_SAMPLER"]["value"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"]["value"] == "0.1"
    collector = _egress(objects)[-1]
    assert collector["ports"] == [{"port": 4318, "protocol": "TCP"}]
    assert collector["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "observability"
    }


def test_service_name_and_sampler_are_values(render):
    sets = {"tracing.serviceName": "scoring", "tracing.sampler": "always_on"}
    env = _env(render(TRACING, sets=sets))
    assert env["OTEL_SERVICE_NAME"]["value"] == "scoring"
    assert env["OTEL_TRACES_SAMPLER"]["value"] == "always_on"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["tracing.enabled=true"], "tracing.enabled needs tracing.endpoint"),
        (
            ["tracing.enabled=true", "tracing.endpoint=http://collector:4318"],
            "needs tracing.egressTo",
        ),
        (["tracing.sampler=sometimes"], "/tracing/sampler"),
        (["tracing.samplerArg=2"], "/tracing/samplerArg"),
        (["tracing.endpoint=collector:4318"], "/tracing/endpoint"),
    ],
)
def test_refused_values(helm, sets, message):
    args = ["template", "r", str(CHART), "--values", str(DEFAULT)]
    for item in sets:
        args += ["--set-string" if "samplerArg" in item else "--set", item]
    proc = run_helm(helm, *args)
    assert proc.returncode != 0
    assert message in proc.stderr
