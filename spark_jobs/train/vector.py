"""The vector path: label + feature-vector data (MNIST and friends) → a classifier.

split → augment (jittered copies, printed digits) → fit → calibrate (MLP) → evaluate →
export. The data is a ``sources.Dataset``; image data (28x28 digits) gets the default recipe
(``mlp``, ``--augment 4``, printed digits for the MNIST sample) unless told otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from pyspark.ml import PipelineModel

from artifacts.schema import CLASSIFICATION, InputSchema, OutputSchema
from spark_jobs.errors import DataError, ExportError, UsageError
from spark_jobs.progress import stage
from spark_jobs.settings import JobSettings
from spark_jobs.sources import Dataset
from spark_jobs.train import augment, calibration, evaluate, models, printed, split


@dataclass
class VectorTrained:
    """What fit and evaluate hand to export and save."""

    model: PipelineModel
    metrics: dict
    sizes: dict
    splits: split.Splits
    pictures: dict[str, bytes]


def _resolve(settings: JobSettings, data: Dataset) -> JobSettings:
    """The settings with the defaults that depend on the data filled in (model, augment,
    printed), so the job and the manifest's lineage say what was actually trained."""
    augment_factor = settings.augment_for(data.image)  # before the model: it reads `model is None`
    printed_count = settings.printed_for(digits=data.format == "mnist-sample")  # likewise
    model = settings.model_for("classification", data.image)  # vector data: classifiers only
    return dataclasses.replace(settings, model=model, augment=augment_factor, printed=printed_count)


def _check_fit(settings: JobSettings, data: Dataset) -> None:
    if settings.augment > 1 and not data.image:
        raise UsageError("--augment needs 28x28 image data; this source is tabular")
    if settings.printed > 0 and not data.image:
        raise UsageError("--printed needs 28x28 image data; this source is tabular")
    if settings.model == "nb" and data.min_value < 0:
        raise DataError(f"{data.source}: naive Bayes needs non-negative features")


def prepare(settings: JobSettings, data: Dataset) -> JobSettings:
    """The settings resolved for this data, or a usage/data error before anything is fitted."""
    settings = _resolve(settings, data)
    _check_fit(settings, data)
    return settings


def fit(spark, settings: JobSettings, data: Dataset, timings: dict) -> VectorTrained:
    """Split, augment, fit (and calibrate an MLP), then evaluate on the held-out splits."""
    with stage("split", timings) as st:
        parts = split.stratified_split(data.frame, settings.test_fraction, settings.val_fraction)
        sizes = {n: getattr(parts, n).count() for n in ("train", "validation", "test")}
        st.rows, st.facts = sum(sizes.values()), sizes
    if not sizes["test"] or not sizes["train"]:
        raise DataError(f"{data.source}: too few rows to split ({data.rows} rows)")
    train = _augmented(spark, settings, data, parts.train, sizes, timings)
    with stage("fit", timings) as st:
        num_classes = int(max(data.classes)) + 1
        pipeline = models.build_pipeline(settings, data.num_features, num_classes)
        fitted = pipeline.fit(train)
        st.facts = {"model": settings.model}
    train.unpersist()
    uncalibrated, temperature = fitted, None
    if settings.model == "mlp" and settings.calibration == "temperature" and sizes["validation"]:
        with stage("calibrate", timings) as st:
            scores = calibration.collect_scores(fitted.transform(parts.validation))
            temperature = calibration.fit_temperature(scores.values, scores.labels)
            *front, mlp = fitted.stages
            fitted = PipelineModel([*front, calibration.temper_mlp(mlp, temperature)])
            st.rows, st.facts = len(scores.labels), {"temperature": round(temperature, 4)}
    trained = VectorTrained(fitted, {}, sizes, parts, {})
    evaluate_held_out(trained, data, uncalibrated, temperature, timings)
    return trained


def _augmented(spark, settings: JobSettings, data: Dataset, train, sizes: dict, timings: dict):
    """The training split with printed digits and jittered copies added, persisted."""
    with stage("augment", timings) as st:
        digits = printed.digit_classes(data.classes) if settings.printed else ()
        if digits:
            glyphs = printed.frame(spark, digits, settings.printed, settings.seed)
            train = train.unionByName(glyphs)
            sizes["train_printed"] = len(digits) * settings.printed
        train = augment.augment(train, settings.augment, settings.seed)
        train = train.repartition(spark.sparkContext.defaultParallelism).persist()
        st.rows = sizes["train_augmented"] = train.count()
        st.facts = {"printed": sizes.get("train_printed", 0)}
    return train


def evaluate_held_out(
    trained: VectorTrained, data: Dataset, uncalibrated, temperature: float | None, timings: dict
) -> None:
    """Metrics (and ECE) per held-out split, the calibration report, the confusion picture."""
    parts, sizes = trained.splits, trained.sizes
    with stage("evaluate", timings) as st:
        results = {}
        for name, frame in (("validation", parts.validation), ("test", parts.test)):
            if sizes[name]:
                predictions = trained.model.transform(frame).persist()
                matrix = evaluate.confusion(predictions, data.classes)
                results[name] = evaluate.metrics(matrix, data.classes)
                if "probability" in predictions.columns:
                    results[name]["ece"] = _ece(predictions)
                predictions.unpersist()
        if temperature is not None:
            test = calibration.collect_scores(uncalibrated.transform(parts.test))
            results["calibration"] = _calibration_report(test, temperature, results["test"]["ece"])
        st.rows = sizes["test"]
        st.facts = {"test_accuracy": results["test"]["accuracy"]}
        if "ece" in results["test"]:
            st.facts["test_ece"] = results["test"]["ece"]
    trained.metrics = results
    matrix = np.array(results["test"]["confusion_matrix"])
    trained.pictures = {"confusion_matrix.png": evaluate.confusion_png(matrix, data.classes)}


def _ece(predictions) -> float:
    """ECE of a transformed split's ``probability`` column (see ``calibration.ece``)."""
    scores = calibration.collect_scores(predictions, column="probability")
    return round(calibration.ece(scores.values, scores.labels), 6)


def _calibration_report(test: calibration.Scores, temperature: float, ece_after: float) -> dict:
    """Temperature scaling's figures: T, and the test split's ECE and NLL before and after
    (``test``: the uncalibrated model's logits on the test split)."""
    before = calibration.softmax(test.values)
    return {
        "method": "temperature",
        "fitted_on": "validation",
        "bins": calibration.BINS,
        "temperature": round(temperature, 6),
        "test_ece_before": round(calibration.ece(before, test.labels), 6),
        "test_ece_after": ece_after,
        "test_nll_before": round(calibration.nll(test.values, test.labels), 6),
        "test_nll_after": round(calibration.nll(test.values, test.labels, temperature), 6),
    }


def export(export_model, trained: VectorTrained, data: Dataset, settings: JobSettings, timings):
    """Export to scikit-learn with parity on test rows; the result with this data's schemas."""
    with stage("export", timings) as st:
        sample = trained.splits.test.select("label", "features").limit(settings.parity_rows)
        exported = export_model(trained.model, sample)  # raises ExportError (exit 4)
        parity = dict(exported.parity)
        st.facts = {k: parity.get(k) for k in ("rows", "label_agreement", "passed")}
    if not parity.get("passed"):
        raise ExportError(f"exported model failed the parity check against Spark: {parity}")
    inputs, outputs = _schemas(data)
    return dataclasses.replace(exported, parity=parity, input_schema=inputs, output_schema=outputs)


def _schemas(data: Dataset) -> tuple[InputSchema, OutputSchema]:
    """Input and output schema of a vector-data classifier."""
    if data.image:
        inputs = InputSchema.mnist()
    else:
        inputs = InputSchema.vector(data.num_features, data.feature_names)
    classes = tuple(evaluate._label(c) for c in data.classes)
    return inputs, OutputSchema(CLASSIFICATION, label="label", classes=classes)


def lineage_data(data: Dataset) -> dict:
    """The data part of the lineage record beyond source, format and digest."""
    return {"rows": data.rows, "features": data.num_features}


def summary(trained: VectorTrained, data: Dataset) -> str:
    return f"test accuracy {trained.metrics['test']['accuracy']:.4f}"
