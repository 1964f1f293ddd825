"""Rendered objects against the Kubernetes OpenAPI schemas, and a checkov security scan."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from .conftest import CI_VALUES, ROOT

# Custom resources have no schema in kubernetes-validate; their shape is asserted in test_chart.
CRD_KINDS = {"SparkApplication", "ServiceMonitor"}
KUBERNETES_VERSION = "1.30.0"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_objects_match_kubernetes_schemas(render, values):
    objects = [o for o in render(values) if o["kind"] not in CRD_KINDS]
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {exc.path}")


def test_validator_catches_a_broken_object(render):
    """Guard against a validator that accepts everything."""
    deploy = next(o for o in render(CI_VALUES[0]) if o["kind"] == "Deployment")
    deploy["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deploy, KUBERNETES_VERSION, strict=True)


@pytest.mark.slow
def test_checkov_finds_no_failed_checks(render, tmp_path: Path):
    if not CHECKOV.exists():
        pytest.fail(
            "checkov not found: `make install` creates .venv-checkov (scripts/install-tools.sh)"
        )
    skips = []
    for values in CI_VALUES:
        docs = render(values)
        (tmp_path / f"{values.stem}.yaml").write_text(yaml.safe_dump_all(docs))
        skips += [
            v
            for doc in docs
            for k, v in (doc["metadata"].get("annotations") or {}).items()
            if k.startswith("checkov.io/skip")
        ]
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "--framework", "kubernetes", "--quiet", "--compact",
         "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for report in reports
        for c in report["results"]["failed_checks"]
    ]
    assert reports[0]["summary"]["passed"] > 500
    assert not failed, "\n".join(failed)
    assert 0 < reports[0]["summary"]["skipped"] <= len(skips)
    for skip in skips:  # every suppression names one check and carries its reason
        check_id, _, reason = skip.partition("=")
        assert check_id.startswith("CKV_K8S_"), skip
        assert len(reason) > 30, skip
