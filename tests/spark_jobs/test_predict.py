"""``spark-submit.sh predict``: batch predictions equal the served model's on the same rows.

Artifacts are made in seconds with scikit-learn pipelines and ``artifacts.save`` (no Spark
training); the job runs in-process on the session's local[2] Spark, and through the wrapper
where the exit code and the one-line message are what is tested.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import artifacts
from artifacts.runtime import tabular
from serving import create_app
from spark_jobs.errors import DataError, UsageError
from spark_jobs.predict.errors import ModelRefused
from spark_jobs.predict.job import run
from spark_jobs.predict.output import SUMMARY_FILE
from spark_jobs.predict.settings import PredictSettings
from tests.support.predict_rows import SCHEMA, table

from . import predict_store
from .conftest import digits, write_idx
from .predict_store import served
from .wrapper import output, submit

pytestmark = [pytest.mark.spark]
store, parquet = predict_store.store, predict_store.parquet  # module-scoped fixtures


def settings(store, name, key, data, out, **overrides) -> PredictSettings:
    base = {"model": f"{store}/{name}", "verify_key": str(key), "data": str(data)}
    return PredictSettings(**base, output=str(out), keep=("id",), **overrides).validate()


def read_output(out: Path) -> pd.DataFrame:
    frame = pd.read_parquet(out)
    return frame.astype({"id": np.int64}).sort_values("id").reset_index(drop=True)


def test_classifier_predictions_equal_served(spark, store, parquet, hmac_key, tmp_path):
    out = tmp_path / "species"
    summary = run(settings(store, "species", hmac_key, parquet, out, batch_size=64), spark)
    got = read_output(out)
    raw = table(250)
    model = served(store, "species", hmac_key)
    expected = model.predict(tabular.conform(raw.drop(columns="id"), SCHEMA))
    assert got["id"].tolist() == raw["id"].tolist()
    assert got["prediction"].tolist() == model.answers(expected)
    np.testing.assert_allclose(np.vstack(got["probability"]), expected.probabilities, atol=1e-9)
    assert set(got["model_name"]) == {"species"}
    assert set(got["model_version"]) == {"1"}
    assert summary["rows_read"] == 250
    assert summary["bad_rows"] == 0
    assert json.loads((out / SUMMARY_FILE).read_text())["rows_written"] == 250
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_classifier_labels_equal_the_http_answers(spark, store, parquet, hmac_key, tmp_path):
    out = tmp_path / "species"
    run(settings(store, "species", hmac_key, parquet, out), spark)
    got = read_output(out)
    app = create_app(
        {
            "model_store": store, "verify_key_file": hmac_key, "auth_enabled": False,
            "rate_limit_enabled": False, "reload_interval": 0, "default_model": "species",
        }
    )  # fmt: skip
    records = json.loads(table(250).drop(columns="id").to_json(orient="records"))
    reply = app.test_client().post("/invocations", json={"dataframe_records": records})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert got["prediction"].tolist() == reply.get_json()["predictions"]


def test_regression_values_equal_served(spark, store, parquet, hmac_key, tmp_path):
    out = tmp_path / "score"
    run(settings(store, "score", hmac_key, parquet, out), spark)
    got = read_output(out)
    model = served(store, "score", hmac_key)
    expected = model.predict(tabular.conform(table(250).drop(columns="id"), SCHEMA))
    np.testing.assert_allclose(got["prediction"], expected.values, rtol=0, atol=1e-9)
    assert "probability" not in got.columns


def test_csv_input_and_output_with_class_columns(spark, store, hmac_key, tmp_path):
    raw = table(40)
    data = tmp_path / "rows.csv"
    raw.assign(member=raw["member"].map({True: "true", False: "false"})).to_csv(data, index=False)
    out = tmp_path / "species-csv"
    run(settings(store, "species", hmac_key, data, out, format="csv"), spark)
    got = pd.concat(pd.read_csv(p) for p in out.glob("*.csv")).sort_values("id")
    model = served(store, "species", hmac_key)
    expected = model.predict(tabular.conform(raw.drop(columns="id"), SCHEMA))
    assert got["prediction"].tolist() == model.answers(expected)
    columns = [f"probability_{label}" for label in ("Adélie", "Chin", "Gentoo")]
    columns = [c.replace("é", "_") for c in columns]
    np.testing.assert_allclose(got[columns].to_numpy(), expected.probabilities, atol=1e-9)


def _bad_csv(tmp_path: Path) -> Path:
    raw = table(30).astype({"visits": object})
    raw.loc[[3, 17, 18], "visits"] = "many"
    data = tmp_path / "bad.csv"
    raw.to_csv(data, index=False)
    return data


def test_on_error_fail_names_the_first_bad_record(spark, store, hmac_key, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"row 3 .*id=.?3.*column 'visits': not a number: 'many'"):
        run(settings(store, "species", hmac_key, _bad_csv(tmp_path), out), spark)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("policy", "written"), [("skip", 27), ("null", 30)])
def test_on_error_skip_and_null_count_bad_rows(spark, store, hmac_key, tmp_path, policy, written):
    out = tmp_path / "out"
    data = _bad_csv(tmp_path)
    summary = run(settings(store, "species", hmac_key, data, out, on_error=policy), spark)
    got = read_output(out)
    assert len(got) == written
    assert summary["bad_rows"] == 3
    assert summary["rows_written"] == written
    on_disk = json.loads((out / SUMMARY_FILE).read_text())
    assert on_disk["bad_rows"] == 3
    assert len(on_disk["bad_examples"]) == 3
    bad = got["id"].isin([3, 17, 18])
    if policy == "skip":
        assert not bad.any()
        assert got["prediction"].notna().all()
    else:
        assert bad.sum() == 3
        assert got.loc[bad, "prediction"].isna().all()
        assert got.loc[bad, "probability"].isna().all()
        assert got.loc[~bad, "prediction"].notna().all()


def test_typed_parquet_bad_rows_follow_on_error(spark, store, hmac_key, tmp_path):
    """Parquet values are checked as typed columns: a null where training saw none and a
    fraction in a long column are bad rows, named, counted and written as nulls."""
    raw = table(30).astype({"visits": "float64"})
    raw.loc[[4, 9], "visits"] = [np.nan, 2.5]
    data = tmp_path / "bad.parquet"
    raw.to_parquet(data)
    out = tmp_path / "out"
    summary = run(settings(store, "species", hmac_key, data, out, on_error="null"), spark)
    got = read_output(out)
    assert summary["bad_rows"] == 2
    assert got.loc[[4, 9], "prediction"].isna().all()
    assert got.loc[[4, 9], "probability"].isna().all()
    model = served(store, "species", hmac_key)
    good = raw.drop(index=[4, 9])
    expected = model.predict(tabular.conform(good.drop(columns="id"), SCHEMA))
    assert got.drop(index=[4, 9])["prediction"].tolist() == model.answers(expected)
    examples = " ".join(summary["bad_examples"])
    assert "row 4" in examples
    assert "column 'visits': expected an integer, got 2.5" in examples


def test_missing_and_unknown_columns_fail_by_name(spark, store, hmac_key, tmp_path):
    data = tmp_path / "partial.parquet"
    table(10).drop(columns="visits").assign(colour="red").to_parquet(data)
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"unknown column\(s\) colour.*missing required .*visits"):
        run(settings(store, "species", hmac_key, data, out), spark)
    assert not out.exists()


def test_existing_output_refused_unless_overwrite(spark, store, parquet, hmac_key, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old").write_text("old")
    with pytest.raises(UsageError, match="already exists"):
        run(settings(store, "species", hmac_key, parquet, out), spark)
    assert (out / "old").read_text() == "old"
    run(settings(store, "species", hmac_key, parquet, out, mode="overwrite"), spark)
    assert not (out / "old").exists()
    assert len(read_output(out)) == 250
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_tampered_artifact_refused_before_any_spark_work(store, parquet, hmac_key, tmp_path):
    bad_store = tmp_path / "store"
    shutil.copytree(store / "species", bad_store / "species")
    manifest = bad_store / "species" / "1" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"species"', '"specie5"', 1))
    out = tmp_path / "out"
    with pytest.raises(ModelRefused, match=r"(SignatureInvalid|DigestMismatch).*modified"):
        run(settings(bad_store, "species", hmac_key, parquet, out), spark=object())
    assert not out.exists()


def test_wrapper_exit_codes_and_one_line_errors(store, parquet, hmac_key, tmp_path):
    bad_store = tmp_path / "store"
    shutil.copytree(store / "species", bad_store / "species")
    model = bad_store / "species" / "1" / "model.joblib.gz"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    out = tmp_path / "out"
    args = ["--data", str(parquet), "--output", str(out), "--keep", "id"]
    result = submit("predict", "--model", f"{bad_store}/species/1", "--verify-key", str(hmac_key),
                    *args)  # fmt: skip
    assert result.returncode == 6, output(result)[-2000:]
    assert "predict failed: refusing" in output(result)
    assert "SparkContext" not in output(result), "no Spark work before the artifact verifies"
    assert not out.exists()
    result = submit("predict", "--model", f"{store}/species", *args)
    assert result.returncode == 2
    assert "no verification key" in output(result)


# --- image models: image folders and IDX, as serving answers uploads and pixel arrays ----------


@pytest.fixture(scope="module")
def digit_store(tmp_path_factory, hmac_key) -> Path:
    from sklearn.linear_model import LogisticRegression

    images, labels = digits(60)
    root = tmp_path_factory.mktemp("digit-store")
    model = LogisticRegression(max_iter=300).fit(images.reshape(60, -1) / 255.0, labels)
    artifacts.save(
        model, root, "digits", version="1", signer=artifacts.load_signer(hmac_key),
        input_schema=artifacts.InputSchema.mnist(),
    )  # fmt: skip
    return root


def test_image_folder_predictions_equal_served_uploads(spark, digit_store, hmac_key, tmp_path):
    from PIL import Image

    from artifacts.runtime.preprocess import to_mnist

    images, labels = digits(12, seed=3)
    folder = tmp_path / "images"
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        mode = "RGB" if i % 2 else "L"
        Image.fromarray(pixels).convert(mode).save(folder / str(label) / f"{i}.png")
    (folder / "0" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    summary = run(
        PredictSettings(
            model=f"{digit_store}/digits", verify_key=str(hmac_key), data=str(folder),
            output=str(out), on_error="skip",
        ).validate(),
        spark,
    )  # fmt: skip
    got = pd.read_parquet(out).sort_values("origin").reset_index(drop=True)
    assert summary["bad_rows"] == 1
    assert len(got) == 12
    model = served(digit_store, "digits", hmac_key)
    uploads = np.vstack(
        [to_mnist(Image.open(origin.removeprefix("file:"))) for origin in got["origin"]]
    )
    expected = model.predict(uploads)
    assert got["prediction"].tolist() == model.answers(expected)
    np.testing.assert_allclose(np.vstack(got["probability"]), expected.probabilities, atol=1e-9)
    app = create_app(
        {
            "model_store": digit_store, "verify_key_file": hmac_key, "auth_enabled": False,
            "rate_limit_enabled": False, "reload_interval": 0,
        }
    )  # fmt: skip
    origin = got["origin"][0].removeprefix("file:")
    with open(origin, "rb") as fh:
        reply = app.test_client().post("/predict", data={"file": (fh, "x.png")})
    assert reply.get_json()["digit"] == got["prediction"][0]


def test_idx_predictions_equal_served_pixels(spark, digit_store, hmac_key, tmp_path):
    images, _ = digits(20, seed=5)
    data = write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    out = tmp_path / "out"
    run(
        PredictSettings(
            model=f"{digit_store}/digits/1", verify_key=str(hmac_key), data=str(data),
            output=str(out),
        ).validate(),
        spark,
    )  # fmt: skip
    got = pd.read_parquet(out)
    got = got.assign(i=got["origin"].str.rsplit("#", n=1).str[1].astype(int)).sort_values("i")
    model = served(digit_store, "digits", hmac_key)
    expected = model.predict(images.reshape(20, -1).astype(np.float64) / 255.0)
    assert got["prediction"].tolist() == model.answers(expected)
    np.testing.assert_allclose(np.vstack(got["probability"]), expected.probabilities, atol=1e-9)
