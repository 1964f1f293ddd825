"""Save → verify → load for both schemes, and what the manifest records."""

from __future__ import annotations

import gzip
import json

import joblib
import numpy as np
import pytest

import artifacts
from artifacts.layout import HMAC_SIGNATURE_FILE, OPENSSF_SIGNATURE_FILE

from .conftest import TABULAR


def test_round_trip_predicts_like_the_original(signed, keys, estimator):
    loaded = artifacts.load(signed, verifier=keys.verifier())
    x = np.random.default_rng(1).random((10, 4))
    np.testing.assert_array_equal(loaded.estimator.predict(x), estimator.predict(x))
    np.testing.assert_allclose(loaded.estimator.predict_proba(x), estimator.predict_proba(x))


def test_layout_and_manifest_contents(signed, keys):
    sig = HMAC_SIGNATURE_FILE if keys.scheme == "hmac-sha256" else OPENSSF_SIGNATURE_FILE
    assert sorted(p.name for p in signed.iterdir()) == sorted(
        ["manifest.json", "model.joblib.gz", sig]
    )
    doc = json.loads((signed / "manifest.json").read_text())
    assert doc["name"] == "demo"
    assert doc["version"] == "1"
    assert doc["classes"] == [0, 1]
    assert doc["input_schema"] == TABULAR
    assert set(doc["framework"]) >= {"python", "scikit-learn", "numpy", "pyspark"}
    assert doc["estimator"].endswith("LogisticRegression")
    assert set(doc["files"]) == {"model.joblib.gz"}


def test_model_file_is_plain_joblib_gzip(signed, estimator):
    """Users can load the model with joblib alone, without this project."""
    with gzip.open(signed / "model.joblib.gz", "rb") as fh:
        model = joblib.load(fh)
    assert type(model) is type(estimator)
    assert type(joblib.load(signed / "model.joblib.gz")) is type(estimator)


def test_extra_files_are_signed_and_listed(estimator, keys, store):
    path = artifacts.save(
        estimator,
        store,
        "demo",
        version="2",
        signer=keys.signer(),
        input_schema=TABULAR,
        extra_files={"confusion_matrix.png": b"\x89PNG fake"},
        metrics={"accuracy": 0.9},
        parity={"label_agreement": 1.0, "max_proba_error": 0.0},
    )
    loaded = artifacts.load(path, verifier=keys.verifier())
    assert "confusion_matrix.png" in loaded.manifest["files"]
    assert loaded.manifest["metrics"]["accuracy"] == 0.9


def test_versions_are_immutable(signed, estimator, keys, store):
    with pytest.raises(artifacts.ArtifactExists, match="immutable"):
        artifacts.save(estimator, store, "demo", version="1", signer=keys.signer(),
                       input_schema=TABULAR)  # fmt: skip


def test_failed_save_leaves_nothing(estimator, store, tmp_path):
    class Broken:
        scheme, signature_file = "x", "signature.hmac"

        def sign(self, directory):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        artifacts.save(estimator, store, "demo", version="9", signer=Broken(), input_schema=TABULAR)
    assert list((store / "demo").iterdir()) == []


def test_save_requires_a_signer(estimator, store):
    with pytest.raises(artifacts.SignerMissing, match="signer"):
        artifacts.save(estimator, store, "demo", signer=None, input_schema=TABULAR)


@pytest.mark.parametrize("bad", ["../evil", "a/b", ".hidden", "latest", "x" * 200])
def test_unsafe_versions_are_refused(estimator, keys, store, bad):
    with pytest.raises(artifacts.InvalidName):
        artifacts.save(estimator, store, "demo", version=bad, signer=keys.signer(),
                       input_schema=TABULAR)  # fmt: skip
    assert not (store / "demo").exists() or not any((store / "demo").iterdir())


@pytest.mark.parametrize("bad", ["../evil", "a/b", ".hidden", "", ".."])
def test_unsafe_model_names_are_refused(estimator, keys, store, bad):
    with pytest.raises(artifacts.LayoutError, match="invalid model name"):
        artifacts.save(estimator, store, bad, signer=keys.signer(), input_schema=TABULAR)
    with pytest.raises(artifacts.LayoutError):
        artifacts.resolve(store, bad)


def test_dual_signature_verifies_under_each_scheme(signed, keys, tmp_path):
    from artifacts.cli import main

    from .conftest import make_keys

    other_scheme = "openssf" if keys.scheme == "hmac-sha256" else "hmac-sha256"
    other = make_keys(other_scheme, tmp_path / "second")
    assert main(["sign", str(signed), "--key", str(other.signing)]) == 0
    artifacts.load(signed, verifier=keys.verifier())
    artifacts.load(signed, verifier=other.verifier())


def test_list_and_resolve_use_natural_version_order(estimator, keys, store):
    for version in ["2", "10", "9"]:
        artifacts.save(estimator, store, "m", version=version, signer=keys.signer(),
                       input_schema=TABULAR)  # fmt: skip
    assert [r.version for r in artifacts.list_artifacts(store)] == ["2", "9", "10"]
    assert artifacts.resolve(store, "m").version == "10"
    assert artifacts.resolve(store, "m", "9").version == "9"
    with pytest.raises(artifacts.ArtifactNotFound, match="no version '3'"):
        artifacts.resolve(store, "m", "3")
    with pytest.raises(artifacts.ArtifactNotFound, match="no model named"):
        artifacts.resolve(store, "nope")
    with pytest.raises(artifacts.ArtifactNotFound, match="does not exist"):
        artifacts.list_artifacts(store / "missing")


def test_half_written_temp_dirs_are_not_listed(signed, store):
    (store / "demo" / ".incoming-5-abc").mkdir()
    assert [r.version for r in artifacts.list_artifacts(store)] == ["1"]
