"""The NetworkPolicy admits only the Ingress controller (and Prometheus) when the Ingress is on,
so nobody else can reach the container port and choose their own X-Forwarded-For."""

from __future__ import annotations

from .conftest import CHART, one, run_helm

DEFAULT = CHART / "ci" / "default-values.yaml"
INGRESS = {
    "ingress.enabled": True,
    "ingress.className": "nginx",
}


def _peers(render, **sets) -> list[dict] | None:
    policy = one(render(DEFAULT, sets=sets), "NetworkPolicy")
    [rule] = policy["spec"]["ingress"]
    return rule.get("from")


def test_without_ingress_any_source_reaches_the_port(render):
    assert _peers(render) is None


def test_with_ingress_only_the_controller_and_the_test_pod(render):
    peers = _peers(render, **INGRESS)
    assert peers[0] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    }
    assert len(peers) == 2
    assert peers[1]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "test"
    assert all("ipBlock" not in peer for peer in peers)


def test_controller_selectors_are_values(render):
    peers = _peers(
        render,
        **INGRESS,
        **{
            "networkPolicy.ingressController.namespaceSelector.matchLabels.team": "edge",
            "networkPolicy.ingressController.podSelector.matchLabels.app": "traefik",
        },
    )
    assert peers[0]["namespaceSelector"]["matchLabels"]["team"] == "edge"
    assert peers[0]["podSelector"]["matchLabels"]["app"] == "traefik"


def test_monitoring_namespace_admitted_with_the_service_monitor(render):
    peers = _peers(render, **INGRESS, **{"serviceMonitor.enabled": True})
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {}} in peers  # fmt: skip
    assert len(peers) == 3


def test_explicit_peers_win(render):
    peers = _peers(render, **INGRESS, **{"networkPolicy.ingressFrom[0].ipBlock.cidr": "10.0.0.0/8"})
    assert peers[0] == {"ipBlock": {"cidr": "10.0.0.0/8"}}
    assert len(peers) == 2


def test_download_over_plain_http_needs_a_pin(helm, render):
    base = ["template", "x", str(CHART), "--values", str(DEFAULT)]
    sets = [
        "--set",
        "model.delivery=download",
        "--set",
        "model.download.url=http://a.example/s.tgz",
    ]
    proc = run_helm(helm, *base, *sets)
    assert proc.returncode != 0
    assert "model.download.sha256" in proc.stderr
    pinned = run_helm(helm, *base, *sets, "--set", "model.download.sha256=" + "a" * 64)
    assert pinned.returncode == 0, pinned.stderr
