"""`python -m artifacts` through a real subprocess: exit codes and one-line messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from .command import run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path, estimator) -> Path:
    joblib.dump(estimator, tmp_path / "model.joblib")
    return tmp_path


@pytest.mark.parametrize("scheme", ["openssf", "hmac-sha256"])
def test_keygen_pack_verify_inspect_list(workdir, scheme):
    assert run("keygen", "--scheme", scheme, "--out", "keys", cwd=workdir).returncode == 0
    sign_key = "keys/signing-key.pem" if scheme == "openssf" else "keys/hmac.key"
    verify_key = "keys/verify-key.pem" if scheme == "openssf" else "keys/hmac.key"
    assert (workdir / sign_key).stat().st_mode & 0o077 == 0, "private key must be owner-only"

    pack = ["pack", "model.joblib", "--name", "tab", "--version", "1", "--input-schema", "tabular"]
    packed = run(*pack, "--features", "4", "--key", sign_key, "--store", "st", cwd=workdir)
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout.strip().endswith("st/tab/1")

    ok = run("verify", "st/tab/1", "--key", verify_key, cwd=workdir)
    assert ok.returncode == 0
    assert ok.stdout.startswith("OK tab/1")

    shown = run("inspect", "st/tab/1", "--key", verify_key, cwd=workdir)
    assert shown.returncode == 0
    assert "(verified)" in shown.stdout
    assert "LogisticRegression" in shown.stdout

    unverified = run("inspect", "st/tab/1", cwd=workdir)
    assert "NOT verified" in unverified.stdout

    listed = run("list", "st", cwd=workdir)
    assert listed.returncode == 0
    assert listed.stdout.startswith("tab\t1\t")


def test_verify_fails_with_one_line_reason(workdir):
    run("keygen", "--scheme", "hmac-sha256", "--out", "keys", cwd=workdir)
    run("pack", "model.joblib", "--name", "m", "--version", "1", "--input-schema", "tabular",
        "--features", "4", "--key", "keys/hmac.key", "--store", "st", cwd=workdir)  # fmt: skip
    with open(workdir / "st/m/1/model.joblib.gz", "ab") as fh:
        fh.write(b"!")
    bad = run("verify", "st/m/1", "--key", "keys/hmac.key", cwd=workdir)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("error: model.joblib.gz was modified after signing")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["verify", "nowhere", "--key", "k"], 1, "cannot read key file k"),
        (["verify", "st/m/1", "--key", "short.key"], 1, "neither an HMAC secret"),
        (["keygen", "--scheme", "rsa", "--out", "x"], 2, "invalid choice"),
        (["pack", "model.joblib", "--name", "m", "--input-schema", "tabular"], 2, "--key"),
        (
            ["pack", "model.joblib", "--name", "m", "--key", "k", "--input-schema", "tabular"],
            2,
            "--features",
        ),
        (["pack", "model.joblib", "--name", "../m", "--key", "k"], 2, "invalid model name"),
        (
            ["pack", "model.joblib", "--name", "m", "--key", "k", "--version", "latest"],
            2,
            "'latest' is reserved",
        ),
        (["list", "missing-store"], 1, "does not exist"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_usage_and_input_errors(workdir, args, code, message):
    (workdir / "short.key").write_text("tooshort")
    result = run(*args, cwd=workdir)
    assert result.returncode == code
    assert message in result.stderr


def test_keygen_refuses_to_overwrite(workdir):
    assert run("keygen", "--scheme", "openssf", "--out", "k", cwd=workdir).returncode == 0
    again = run("keygen", "--scheme", "openssf", "--out", "k", cwd=workdir)
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr


def test_verifier_given_a_private_key_explains(workdir):
    run("keygen", "--scheme", "openssf", "--out", "k", cwd=workdir)
    run("pack", "model.joblib", "--name", "m", "--version", "1", "--input-schema", "tabular",
        "--features", "4", "--key", "k/signing-key.pem", "--store", "st", cwd=workdir)  # fmt: skip
    result = run("verify", "st/m/1", "--key", "k/signing-key.pem", cwd=workdir)
    assert result.returncode == 1
    assert "not a public key" in result.stderr


def test_upstream_model_signing_cli_accepts_our_openssf_artifacts(workdir):
    """Interop: the OpenSSF reference CLI verifies what we sign, and rejects tampering."""
    run("keygen", "--scheme", "openssf", "--out", "k", cwd=workdir)
    run("pack", "model.joblib", "--name", "m", "--version", "1", "--input-schema", "tabular",
        "--features", "4", "--key", "k/signing-key.pem", "--store", "st", cwd=workdir)  # fmt: skip
    cli = Path(sys.executable).with_name("model_signing")
    cmd = [str(cli), "verify", "key", "st/m/1", "--signature", "st/m/1/model.sig",
           "--public_key", "k/verify-key.pem"]  # fmt: skip
    good = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "Verification succeeded" in good.stdout
    (workdir / "st/m/1/manifest.json").write_text("{}")
    bad = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0


def test_inspect_shows_typed_schema_task_and_split_metrics(tmp_path, estimator):
    import artifacts
    from artifacts.schema import Column, InputSchema, OutputSchema

    key = artifacts.generate_keys("hmac-sha256", tmp_path / "k")["secret"]
    path = artifacts.save(
        estimator,
        tmp_path / "store",
        "penguins",
        version="1",
        signer=artifacts.load_signer(key),
        input_schema=InputSchema.tabular(
            [
                Column("island", "string", categories=("Dream", "Biscoe")),
                Column("bill", "double", nullable=False, range=(30.0, 60.0)),
            ]
        ),
        output_schema=OutputSchema("regression", label="mass", target={"type": "double"}),
        metrics={"test": {"rmse": 4.2, "rows": 74}, "validation": {"rmse": 4.1, "rows": 33}},
    )
    result = run("inspect", str(path), "--key", str(key), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 columns: island string categorical, bill double not-null" in result.stdout
    assert "task         regression of 'mass'" in result.stdout
    assert "test         rmse 4.2000, rows 74" in result.stdout
    assert "validation   rmse 4.1000, rows 33" in result.stdout


def test_inspect_shows_the_calibration_figures(tmp_path, estimator):
    import artifacts
    from artifacts.schema import InputSchema, OutputSchema

    key = artifacts.generate_keys("hmac-sha256", tmp_path / "k")["secret"]
    calibration = {"method": "temperature", "temperature": 1.75, "test_ece_before": 0.061,
                   "test_ece_after": 0.012}  # fmt: skip
    path = artifacts.save(
        estimator,
        tmp_path / "store",
        "digits",
        version="1",
        signer=artifacts.load_signer(key),
        input_schema=InputSchema.vector(4),
        output_schema=OutputSchema("classification", label="label", classes=(0, 1)),
        metrics={"test": {"accuracy": 0.95, "ece": 0.012}, "calibration": calibration},
    )
    result = run("inspect", str(path), "--key", str(key), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test         accuracy 0.9500, ece 0.0120" in result.stdout
    shown = next(line for line in result.stdout.splitlines() if "calibration" in line)
    for figure in ("temperature 1.7500", "test_ece_before 0.0610", "test_ece_after 0.0120"):
        assert figure in shown
