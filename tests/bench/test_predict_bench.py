"""The batch scoring bench's own checks: what makes its MLflow comparison like with like.

The bench itself runs Spark four times (ours and MLflow's spark_udf on local[1] and local[2])
and fails unless every row's prediction is the same in both outputs; these tests cover that
check and the inputs handed to MLflow, without Spark.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import artifacts
from bench import peer_venv, predict_bench

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _write(path: Path, ids: list[int], labels: list[str]) -> Path:
    path.mkdir()
    pd.DataFrame({"id": ids, "prediction": labels}).to_parquet(path / "part-0.parquet")
    return path


def test_agreement_passes_on_the_same_predictions_in_any_order(tmp_path: Path) -> None:
    ours = _write(tmp_path / "ours", [0, 1, 2], ["Ad", "Chin", "Gentoo"])
    theirs = _write(tmp_path / "theirs", [2, 0, 1], ["Gentoo", "Ad", "Chin"])
    assert predict_bench.agreement(ours, theirs, 3) == {"rows_compared": 3, "same_prediction": 3}


def test_agreement_fails_on_one_different_prediction(tmp_path: Path) -> None:
    ours = _write(tmp_path / "ours", [0, 1, 2], ["Ad", "Chin", "Gentoo"])
    theirs = _write(tmp_path / "theirs", [0, 1, 2], ["Ad", "Ad", "Gentoo"])
    with pytest.raises(SystemExit, match="disagree on 1 of 3 rows"):
        predict_bench.agreement(ours, theirs, 3)


def test_agreement_fails_on_a_missing_row(tmp_path: Path) -> None:
    ours = _write(tmp_path / "ours", [0, 1, 2], ["Ad", "Chin", "Gentoo"])
    theirs = _write(tmp_path / "theirs", [0, 1], ["Ad", "Chin"])
    with pytest.raises(SystemExit, match="row counts differ"):
        predict_bench.agreement(ours, theirs, 3)


@pytest.mark.slow  # fits and signs the bench's pipeline: ~12 s on a loaded 2-core machine
def test_mlflow_gets_the_verified_estimator_and_casts_to_its_input_form(tmp_path: Path) -> None:
    import joblib

    key = artifacts.generate_keys("hmac-sha256", tmp_path / "keys")["secret"]
    predict_bench.make_model(tmp_path / "store", key)
    estimator, sample, casts = predict_bench.export_for_mlflow(tmp_path / "store", key, tmp_path)
    # numbers as doubles, categories (the boolean too) as strings: tabular.conform's frame form
    assert casts == ["bill=double", "visits=double", "island=string", "member=string"]
    frame = pd.read_parquet(sample)
    assert set(frame["member"].dropna()) <= {"true", "false"}
    loaded = artifacts.load(tmp_path / "store" / "species" / "1",
                            verifier=artifacts.load_verifier(key))  # fmt: skip
    exported = joblib.load(estimator)
    assert list(exported.predict(frame)) == list(loaded.estimator.predict(frame))


def test_mlflow_venv_pins_pyspark_to_ours(tmp_path: Path) -> None:
    from importlib.metadata import version

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# a comment\nmlflow==3.17.2\n")
    spec = peer_venv.wanted(requirements, peer_venv.MLFLOW_LIBRARIES)
    assert spec["requirements"] == ["mlflow==3.17.2"]
    assert spec["pins"]["pyspark"] == version("pyspark")
    assert "pyspark" not in peer_venv.wanted(requirements)["pins"]


def _probabilities(path: Path, ids: list[int], rows: list[list[float]]) -> Path:
    path.mkdir()
    pd.DataFrame({"id": ids, "probability": rows}).to_parquet(path / "part-0.parquet")
    return path


def test_probabilities_agree_row_by_row_in_any_order(tmp_path: Path) -> None:
    ours = _probabilities(tmp_path / "ours", [0, 1], [[0.25, 0.75], [1.0, 0.0]])
    theirs = _probabilities(tmp_path / "theirs", [1, 0], [[1.0, 0.0], [0.25, 0.75 + 1e-12]])
    same = predict_bench.same_probabilities(ours, theirs, 2)
    assert same["identical_rows"] == 1  # row 0 differs by 1e-12: equal within 1e-9, not identical
    assert 0 < same["max_abs_difference"] < 1e-9


def test_probabilities_that_differ_fail_the_bench(tmp_path: Path) -> None:
    ours = _probabilities(tmp_path / "ours", [0, 1], [[0.25, 0.75], [1.0, 0.0]])
    theirs = _probabilities(tmp_path / "theirs", [0, 1], [[0.75, 0.25], [1.0, 0.0]])
    with pytest.raises(SystemExit, match=r"differ by up to 0\.5"):
        predict_bench.same_probabilities(ours, theirs, 2)
