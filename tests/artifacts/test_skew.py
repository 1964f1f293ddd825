"""Version skew between manifest and runtime is an error or a warning, never silent."""

from __future__ import annotations

import logging

import pytest
import sklearn

import artifacts
from artifacts import skew


def test_same_versions_pass():
    assert skew.check({"scikit-learn": sklearn.__version__}) == []


def test_minor_version_skew_is_an_error_by_default():
    with pytest.raises(artifacts.VersionSkew, match=r"scikit-learn .* written with 0\.1\.0"):
        skew.check({"scikit-learn": "0.1.0"})


def test_skew_can_be_accepted_but_is_logged(caplog):
    with caplog.at_level(logging.WARNING):
        found = skew.check({"scikit-learn": "0.1.0"}, policy="warn")
    assert found == [f"scikit-learn {sklearn.__version__} here, artifact was written with 0.1.0"]
    assert "version skew accepted" in caplog.text


def test_patch_level_skew_is_logged(caplog):
    major, minor, *_ = sklearn.__version__.split(".")
    with caplog.at_level(logging.WARNING):
        skew.check({"scikit-learn": f"{major}.{minor}.999"})
    assert "patch level" in caplog.text


def test_load_applies_skew_policy(signed, keys):
    import json

    doc = json.loads((signed / "manifest.json").read_text())
    doc["framework"]["numpy"] = "1.0.0"
    (signed / "manifest.json").write_text(json.dumps(doc))
    # re-sign legitimately (skew is not tampering) and check the loader's reaction
    for sig in ("signature.hmac", "model.sig"):
        (signed / sig).unlink(missing_ok=True)
    keys.signer().sign(signed)
    with pytest.raises(artifacts.VersionSkew, match="numpy"):
        artifacts.load(signed, verifier=keys.verifier())
    assert artifacts.load(signed, verifier=keys.verifier(), skew_policy="warn").estimator
