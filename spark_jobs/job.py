"""The training job: read → split → augment → fit → evaluate → export → sign and save.

Vector data (MNIST and friends) goes through ``_train``/``_export`` here; tabular data (named,
typed columns) through ``spark_jobs.tabular``. Both end in one signed artifact.

``run(settings)`` is the whole job; ``main`` only parses arguments and maps errors to exit
codes. Everything that can be checked before Spark starts (signing key, target version,
exporter) is checked first, so a mistake costs seconds, not a training run.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.ml import PipelineModel

from spark_jobs import (
    augment,
    calibration,
    evaluate,
    lineage,
    models,
    printed,
    sources,
    split,
    tabular,
)
from spark_jobs.destination import signer_for, write_artifact
from spark_jobs.errors import DataError, ExportError, UsageError
from spark_jobs.progress import stage
from spark_jobs.session import data_errors, get_session
from spark_jobs.settings import RECOMMENDATION, JobSettings

log = logging.getLogger(__name__)


@dataclass
class _Trained:
    """What the fit and evaluate stages hand to export and save."""

    model: object
    metrics: dict
    sizes: dict


def _preflight(settings: JobSettings):
    """Signer loaded, version free, exporter importable — or a UsageError/ExportError now."""
    signer = signer_for(settings.signing_key, settings.signature_scheme, settings.artifact_dir)
    try:
        from spark_jobs.export import export_model
    except ImportError as exc:
        raise ExportError(f"the scikit-learn exporter is unavailable: {exc}") from exc
    return signer, export_model


def _resolve(settings: JobSettings, data: sources.Dataset) -> JobSettings:
    """The settings with the defaults that depend on the data filled in (model, augment,
    printed), so the job and the manifest's lineage say what was actually trained."""
    augment_factor = settings.augment_for(data.image)  # before the model: it reads `model is None`
    printed_count = settings.printed_for(digits=data.format == "mnist-sample")  # likewise
    model = settings.model_for("classification", data.image)  # vector data: classifiers only
    return dataclasses.replace(settings, model=model, augment=augment_factor, printed=printed_count)


def _check_fit(settings: JobSettings, data: sources.Dataset) -> None:
    if settings.augment > 1 and not data.image:
        raise UsageError("--augment needs 28x28 image data; this source is tabular")
    if settings.printed > 0 and not data.image:
        raise UsageError("--printed needs 28x28 image data; this source is tabular")
    if settings.model == "nb" and data.min_value < 0:
        raise DataError(f"{data.source}: naive Bayes needs non-negative features")


def _train(spark, settings: JobSettings, data: sources.Dataset, timings: dict) -> _Trained:
    with stage("split", timings) as st:
        parts = split.stratified_split(data.frame, settings.test_fraction, settings.val_fraction)
        sizes = {n: getattr(parts, n).count() for n in ("train", "validation", "test")}
        st.rows, st.facts = sum(sizes.values()), sizes
    if not sizes["test"] or not sizes["train"]:
        raise DataError(f"{data.source}: too few rows to split ({data.rows} rows)")
    with stage("augment", timings) as st:
        train = parts.train
        digits = printed.digit_classes(data.classes) if settings.printed else ()
        if digits:
            glyphs = printed.frame(spark, digits, settings.printed, settings.seed)
            train = train.unionByName(glyphs)
            sizes["train_printed"] = len(digits) * settings.printed
        train = augment.augment(train, settings.augment, settings.seed)
        train = train.repartition(spark.sparkContext.defaultParallelism).persist()
        st.rows = sizes["train_augmented"] = train.count()
        st.facts = {"printed": sizes.get("train_printed", 0)}
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
    with stage("evaluate", timings) as st:
        results = {}
        for name, frame in (("validation", parts.validation), ("test", parts.test)):
            if sizes[name]:
                predictions = fitted.transform(frame).persist()
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
    results["test_split"] = parts.test
    return _Trained(fitted, results, sizes)


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


def _export(export_model, trained: _Trained, settings: JobSettings, timings: dict):
    with stage("export", timings) as st:
        sample = trained.metrics.pop("test_split").select("label", "features")
        sample = sample.limit(settings.parity_rows)
        exported = export_model(trained.model, sample)  # raises ExportError (exit 4)
        parity = dict(exported.parity)
        st.facts = {k: parity.get(k) for k in ("rows", "label_agreement", "passed")}
    if not parity.get("passed"):
        raise ExportError(f"exported model failed the parity check against Spark: {parity}")
    return exported.estimator, parity


def _schemas(data: sources.Dataset):
    """Input and output schema of a vector-data classifier."""
    from artifacts.schema import CLASSIFICATION, InputSchema, OutputSchema

    if data.image:
        inputs = InputSchema.mnist()
    else:
        inputs = InputSchema.vector(data.num_features, data.feature_names)
    classes = tuple(evaluate._label(c) for c in data.classes)
    return inputs, OutputSchema(CLASSIFICATION, label="label", classes=classes)


def _params(stage_) -> dict:
    """A stage's JSON-able parameters; NaN (the Imputer's missingValue) as the string 'NaN'."""
    params = {}
    for p, v in stage_.extractParamMap().items():
        if isinstance(v, float) and not np.isfinite(v):
            v = str(v)
        if isinstance(v, int | float | str | bool | list):
            params[p.name] = v
    return params


def _lineage(settings: JobSettings, data, trained, spark) -> dict:
    conf = spark.sparkContext.getConf()
    described = (
        tabular.lineage_data(data)
        if isinstance(data, sources.TabularDataset)
        else {"rows": data.rows, "features": data.num_features}
    )
    return {
        "data": {
            "source": data.source,
            "format": data.format,
            "sha256": lineage.digest(data.source),
            **described,
        },
        "rows": trained.sizes,
        "params": settings.to_lineage(),
        "model_params": {type(stage_).__name__: _params(stage_) for stage_ in trained.model.stages},
        "spark": {
            "version": spark.version,
            "master": conf.get("spark.master", "unknown"),
            "app_id": spark.sparkContext.applicationId,
        },
    }


def run(settings: JobSettings, spark=None) -> Path:
    """Train, export and save one model; returns the artifact directory."""
    if settings.task == RECOMMENDATION:
        from spark_jobs import recommend

        return recommend.run(settings, spark)
    signer, export_model = _preflight(settings)
    spark = spark or get_session(f"train-{settings.artifact_name}")
    timings: dict[str, float] = {}
    _, source = sources.resolve_source(settings)
    with stage("read", timings) as st, data_errors(source):
        data = sources.read(spark, settings)
        st.rows, st.facts = data.rows, {"format": data.format, "features": data.num_features}
        if isinstance(data, sources.TabularDataset):
            st.facts.update(task=data.task, dropped_label_rows=data.dropped_labels)
    if isinstance(data, sources.TabularDataset):
        with data_errors(source):
            trained = tabular.fit(spark, settings, data, timings)
        exported, parity = tabular.export(export_model, trained, data, settings, timings)
        estimator, pictures = exported.estimator, trained.pictures
        inputs, outputs = exported.input_schema, exported.output_schema
        summary = tabular.summary(trained, data.task)
    else:
        settings = _resolve(settings, data)
        _check_fit(settings, data)
        trained = _train(spark, settings, data, timings)
        estimator, parity = _export(export_model, trained, settings, timings)
        matrix = np.array(trained.metrics["test"]["confusion_matrix"])
        pictures = {"confusion_matrix.png": evaluate.confusion_png(matrix, data.classes)}
        inputs, outputs = _schemas(data)
        summary = f"test accuracy {trained.metrics['test']['accuracy']:.4f}"
    with stage("save", timings):
        record = _lineage(settings, data, trained, spark)
        record["timings_s"] = dict(timings)
        path = write_artifact(
            estimator,
            settings.output,
            settings.artifact_name,
            version=settings.version,
            signer=signer,
            input_schema=inputs,
            output_schema=outputs,
            metrics=trained.metrics,
            parity=parity,
            lineage=record,
            extra_files=pictures,
        )
    data.frame.unpersist()
    log.info("artifact written: %s (%s)", path, summary)
    return path
