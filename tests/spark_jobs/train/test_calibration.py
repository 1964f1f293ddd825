"""Calibration: the ECE figure, the fitted temperature, and the tempered MLP's exactness."""

from __future__ import annotations

import numpy as np
import pytest

from spark_jobs.train import calibration


def test_ece_of_confident_right_answers_is_zero_and_of_overconfidence_is_the_gap():
    labels = np.array([0, 1, 2, 0])
    perfect = np.eye(3)[labels]
    assert calibration.ece(perfect, labels) == 0.0
    # Always 90% sure, right half of the time: one bin, |0.5 - 0.9| = 0.4.
    sure = np.full((4, 3), 0.05)
    sure[np.arange(4), [0, 0, 2, 2]] = 0.9
    assert calibration.ece(sure, labels) == pytest.approx(0.4)


def test_ece_weights_each_bin_by_its_share_of_rows():
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    labels = np.array([0, 0, 0, 1])
    # bin (0.93, 1]: accuracy 1 vs 0.95 → 0.05; bin (0.53, 0.6]: 0.5 vs 0.55 → 0.05; each half.
    assert calibration.ece(probs, labels) == pytest.approx(0.05)


def test_fitted_temperature_undoes_an_overconfident_scale_and_lowers_nll():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 10)) * 2.0
    labels = np.array([rng.choice(10, p=p) for p in calibration.softmax(true_logits)])
    overconfident = true_logits * 3.0  # what an unregularised network outputs
    temperature = calibration.fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    assert calibration.nll(overconfident, labels, temperature) < calibration.nll(
        overconfident, labels
    )
    before = calibration.ece(calibration.softmax(overconfident), labels)
    after = calibration.ece(calibration.softmax(overconfident, temperature), labels)
    assert after < before / 3


@pytest.mark.spark
@pytest.mark.slow
def test_tempered_spark_mlp_is_exactly_the_tempered_softmax_and_exports_as_such(spark):
    from pyspark.ml.classification import MultilayerPerceptronClassifier
    from pyspark.ml.linalg import Vectors

    from spark_jobs.export.mlp import convert_mlp

    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(float) + (x[:, 2] > 1)
    frame = spark.createDataFrame(
        [(float(label), Vectors.dense(row)) for label, row in zip(y, x, strict=True)],
        ["label", "features"],
    )
    model = MultilayerPerceptronClassifier(layers=[4, 5, 3], maxIter=30, seed=1).fit(frame)
    raw = calibration.collect_scores(model.transform(frame)).values
    tempered = calibration.temper_mlp(model, 2.5)
    assert tempered.getLayers() == model.getLayers()
    out = calibration.collect_scores(tempered.transform(frame), column="probability")
    np.testing.assert_allclose(out.values, calibration.softmax(raw, 2.5), atol=1e-12)
    assert not np.allclose(out.values, calibration.softmax(raw), atol=1e-3)
    exported = convert_mlp(tempered, np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(exported.predict_proba(x), out.values, atol=1e-12)


@pytest.mark.spark
@pytest.mark.slow
def test_training_an_mlp_ships_the_calibrated_network_and_records_its_ece(
    spark, hmac_key, tmp_path
):
    """A small real run on the bundled sample: calibrate stage, ECE per split, parity passed."""
    import artifacts
    from spark_jobs.settings import JobSettings
    from spark_jobs.train.job import run

    settings = JobSettings(
        model="mlp", layers=(16,), max_iter=40, limit=600, output=str(tmp_path),
        version="cal", signing_key=str(hmac_key),
    )  # fmt: skip
    path = run(settings, spark=spark)
    manifest = artifacts.verify(path, artifacts.load_verifier(hmac_key))
    metrics = manifest["metrics"]
    cal = metrics["calibration"]
    assert cal["method"] == "temperature"
    assert cal["temperature"] > 0
    assert 0.0 <= metrics["test"]["ece"] <= 1.0
    assert 0.0 <= metrics["validation"]["ece"] <= 1.0
    assert cal["test_ece_after"] == metrics["test"]["ece"]
    assert manifest["parity"]["passed"] is True
    assert "calibrate" in manifest["lineage"]["timings_s"]
    assert manifest["lineage"]["params"]["augment"] == 1, "an explicit --model is not augmented"
    assert manifest["lineage"]["params"]["printed"] == 0, "nor given printed digits"
    assert "train_printed" not in manifest["lineage"]["rows"]
    estimator = artifacts.load(path, verifier=artifacts.load_verifier(hmac_key)).estimator
    assert estimator.coefs_[-1].shape == (16, 10)
