"""The tamper matrix: every way of altering a signed artifact must fail verification, and the
model must never be unpickled. Each case runs for both signature schemes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import artifacts
from artifacts.layout import HMAC_SIGNATURE_FILE, OPENSSF_SIGNATURE_FILE

from .conftest import TABULAR, malicious_model_bytes


def sig_file(keys) -> str:
    return HMAC_SIGNATURE_FILE if keys.scheme == "hmac-sha256" else OPENSSF_SIGNATURE_FILE


def flip_model_byte(path: Path, keys, ctx) -> None:
    data = bytearray((path / "model.joblib.gz").read_bytes())
    data[len(data) // 2] ^= 0x01
    (path / "model.joblib.gz").write_bytes(bytes(data))


def replace_model_with_malicious(path: Path, keys, ctx) -> None:
    (path / "model.joblib.gz").write_bytes(malicious_model_bytes(ctx["marker"]))


def change_manifest_field(path: Path, keys, ctx) -> None:
    doc = json.loads((path / "manifest.json").read_text())
    doc["classes"] = [1, 0]
    (path / "manifest.json").write_text(json.dumps(doc))


def manifest_digest_matches_malicious_model(path: Path, keys, ctx) -> None:
    """Swap the model AND fix up its digest in the manifest: the signature must still catch it."""
    from artifacts.layout import sha256_hex

    data = malicious_model_bytes(ctx["marker"])
    (path / "model.joblib.gz").write_bytes(data)
    doc = json.loads((path / "manifest.json").read_text())
    doc["files"]["model.joblib.gz"]["sha256"] = sha256_hex(data)
    (path / "manifest.json").write_text(json.dumps(doc))


def remove_signature(path: Path, keys, ctx) -> None:
    (path / sig_file(keys)).unlink()


def truncate_signature(path: Path, keys, ctx) -> None:
    sig = path / sig_file(keys)
    sig.write_bytes(sig.read_bytes()[: len(sig.read_bytes()) // 2])


def empty_signature(path: Path, keys, ctx) -> None:
    (path / sig_file(keys)).write_bytes(b"")


def signature_from_another_artifact(path: Path, keys, ctx) -> None:
    shutil.copy(ctx["other_artifact"] / sig_file(keys), path / sig_file(keys))


def signed_with_another_key(path: Path, keys, ctx) -> None:
    shutil.copy(ctx["foreign_artifact"] / sig_file(keys), path / sig_file(keys))


def add_extra_file(path: Path, keys, ctx) -> None:
    (path / "README.md").write_text("harmless?")


def add_hidden_git_file(path: Path, keys, ctx) -> None:
    (path / ".gitattributes").write_text("* binary")


def model_replaced_by_symlink(path: Path, keys, ctx) -> None:
    evil = ctx["tmp"] / "evil.joblib.gz"
    evil.write_bytes(malicious_model_bytes(ctx["marker"]))
    (path / "model.joblib.gz").unlink()
    (path / "model.joblib.gz").symlink_to(evil)


def add_subdirectory(path: Path, keys, ctx) -> None:
    (path / "sub").mkdir()


def remove_model(path: Path, keys, ctx) -> None:
    (path / "model.joblib.gz").unlink()


TAMPERS = [
    flip_model_byte,
    replace_model_with_malicious,
    change_manifest_field,
    manifest_digest_matches_malicious_model,
    remove_signature,
    truncate_signature,
    empty_signature,
    signature_from_another_artifact,
    signed_with_another_key,
    add_extra_file,
    add_hidden_git_file,
    model_replaced_by_symlink,
    add_subdirectory,
    remove_model,
]


@pytest.fixture
def ctx(tmp_path, estimator, keys, other_keys):
    from sklearn.dummy import DummyClassifier

    other_model = DummyClassifier().fit([[0, 0, 0, 0], [1, 1, 1, 1]], [0, 1])
    other = artifacts.save(other_model, tmp_path / "other-store", "other", version="1",
                           signer=keys.signer(), input_schema=TABULAR)  # fmt: skip
    foreign = artifacts.save(estimator, tmp_path / "foreign-store", "demo", version="1",
                             signer=other_keys.signer(), input_schema=TABULAR)  # fmt: skip
    return {
        "tmp": tmp_path,
        "marker": tmp_path / "PWNED",
        "other_artifact": other,
        "foreign_artifact": foreign,
    }


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tampered_artifact_is_refused_and_never_unpickled(signed, keys, ctx, tamper):
    artifacts.load(signed, verifier=keys.verifier())  # intact: loads
    tamper(signed, keys, ctx)
    with pytest.raises(artifacts.ArtifactError) as excinfo:
        artifacts.load(signed, verifier=keys.verifier())
    assert str(excinfo.value)  # a reason a user can read
    with pytest.raises(artifacts.ArtifactError):
        artifacts.verify(signed, keys.verifier())
    assert not ctx["marker"].exists(), "the model was unpickled despite failing verification"


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (flip_model_byte, artifacts.DigestMismatch),
        (remove_signature, artifacts.SignatureMissing),
        (add_extra_file, artifacts.LayoutError),
        (model_replaced_by_symlink, artifacts.LayoutError),
        (signed_with_another_key, artifacts.SignatureInvalid),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_each_failure_has_its_own_error_class(signed, keys, ctx, tamper, error):
    tamper(signed, keys, ctx)
    with pytest.raises(error):
        artifacts.load(signed, verifier=keys.verifier())


def test_marker_pickle_really_executes_when_signed(tmp_path, keys):
    """Guard against a vacuous test: a *legitimately signed* malicious pickle does run code, which
    is why the key must be guarded and verification must come first."""
    marker = tmp_path / "PWNED"
    path = artifacts.save(object(), tmp_path / "s", "evil", version="1", signer=keys.signer(),
                          input_schema=TABULAR)  # fmt: skip
    (path / "model.joblib.gz").write_bytes(malicious_model_bytes(marker))
    keys.signer().sign(path) if keys.scheme == "hmac-sha256" else None
    if keys.scheme == "openssf":
        (path / OPENSSF_SIGNATURE_FILE).unlink()
        keys.signer().sign(path)
    # the manifest digest still names the old bytes: loading must refuse…
    with pytest.raises(artifacts.DigestMismatch):
        artifacts.load(path, verifier=keys.verifier())
    assert not marker.exists()
    # …and the insecure opt-out path shows the payload is live.
    with pytest.raises(artifacts.DigestMismatch):
        artifacts.load(path, verifier=None, insecure_skip_verify=True)
    from artifacts.loader import _unpickle

    _unpickle((path / "model.joblib.gz").read_bytes())
    assert marker.exists()


def test_symlinked_artifact_directory_is_refused(signed, keys, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(signed)
    with pytest.raises(artifacts.LayoutError, match="symlink"):
        artifacts.load(link, verifier=keys.verifier())


def test_path_traversal_in_a_signed_manifest_is_refused(estimator, keys, tmp_path):
    """Even a correctly signed manifest may not name files outside the artifact."""
    path = artifacts.save(estimator, tmp_path / "s", "m", version="1", signer=keys.signer(),
                          input_schema=TABULAR)  # fmt: skip
    doc = json.loads((path / "manifest.json").read_text())
    doc["files"]["../../etc/passwd"] = {"sha256": "0" * 64}
    (path / "manifest.json").write_text(json.dumps(doc))
    (path / sig_file(keys)).unlink()
    keys.signer().sign(path)
    with pytest.raises(artifacts.LayoutError, match="invalid file name"):
        artifacts.load(path, verifier=keys.verifier())


def test_no_key_fails_closed(signed):
    with pytest.raises(artifacts.NoVerificationKey, match="no verification key"):
        artifacts.load(signed, verifier=None)


def test_insecure_opt_out_is_loud(signed, caplog):
    loaded = artifacts.load(signed, verifier=None, insecure_skip_verify=True)
    assert loaded.estimator is not None
    assert any("INSECURE" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_wrong_scheme_verifier_reports_missing_signature(signed, keys, tmp_path):
    from .conftest import make_keys

    other = make_keys("openssf" if keys.scheme == "hmac-sha256" else "hmac-sha256", tmp_path / "k")
    with pytest.raises(artifacts.SignatureMissing):
        artifacts.load(signed, verifier=other.verifier())
