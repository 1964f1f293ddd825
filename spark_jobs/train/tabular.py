"""The tabular path: split → fit column pipeline + model → evaluate → export.

A ``TabularDataset`` (named, typed columns) is split (stratified by class, or by content hash
for a regression target), the column stages are fitted on the training rows, then the model on
their output; the two become one ``PipelineModel`` that the exporter turns into a scikit-learn
``Pipeline`` over a pandas DataFrame with the original column names.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel

from spark_jobs.errors import DataError, ExportError, UsageError
from spark_jobs.progress import stage
from spark_jobs.session import data_errors
from spark_jobs.settings import JobSettings
from spark_jobs.sources.columns import CLASSIFICATION, TabularDataset
from spark_jobs.train import evaluate, models, split

log = logging.getLogger(__name__)


@dataclass
class TabularTrained:
    """What fit and evaluate hand to export and save."""

    model: PipelineModel
    family: str
    metrics: dict
    sizes: dict
    splits: split.Splits
    pictures: dict[str, bytes]


def check(settings: JobSettings, data: TabularDataset) -> str:
    """The model family for this data, or a usage/data error before anything is fitted."""
    if settings.augment_for(image=False) > 1:
        raise UsageError("--augment needs 28x28 image data; this source is tabular")
    if settings.printed_for(digits=False) > 0:
        raise UsageError("--printed needs 28x28 image data; this source is tabular")
    family = settings.model_for(data.task)
    if family == "nb" and data.min_value is not None and data.min_value < 0:
        raise DataError(
            f"{data.source}: naive Bayes needs non-negative features; the numeric columns go "
            f"down to {data.min_value:g} (use --scaler minmax or another --model)"
        )
    return family


def prepare(settings: JobSettings, data: TabularDataset) -> JobSettings:
    """The settings for this data (unchanged: the family is recorded by ``fit``), or a
    usage/data error before anything is fitted."""
    check(settings, data)
    return settings


def width(prep: PipelineModel, data: TabularDataset) -> int:
    """Length of the assembled feature vector: one per number, one per seen category."""
    from pyspark.ml.feature import StringIndexerModel

    cats = sum(
        len(labels)
        for stage_ in prep.stages
        if isinstance(stage_, StringIndexerModel) and stage_.isSet("outputCols")
        for labels in stage_.labelsArray
    )
    return len(data.numeric) + cats


def fit(spark, settings: JobSettings, data: TabularDataset, timings: dict) -> TabularTrained:
    """Split, fit and evaluate; the fitted model plus held-out metrics and their picture.

    A Spark failure while the rows are read for it is a data error naming the source.
    """
    with data_errors(data.source):
        return _fit(spark, settings, data, timings)


def _fit(spark, settings: JobSettings, data: TabularDataset, timings: dict) -> TabularTrained:
    family = check(settings, data)
    by = data.label if data.task == CLASSIFICATION else None
    with stage("split", timings) as st:
        parts = split.stratified_split(
            data.frame, settings.test_fraction, settings.val_fraction, by
        )
        sizes = {n: getattr(parts, n).count() for n in ("train", "validation", "test")}
        st.rows, st.facts = sum(sizes.values()), sizes
    if not sizes["test"] or not sizes["train"]:
        raise DataError(f"{data.source}: too few rows to split ({data.rows} rows)")
    with stage("fit", timings) as st:
        train = parts.train.repartition(spark.sparkContext.defaultParallelism).persist()
        prep = Pipeline(stages=models.preprocessing(settings, data)).fit(train)
        n_features = width(prep, data)
        estimator = models.estimator(settings, family, data, n_features)
        fitted = PipelineModel(stages=[*prep.stages, estimator.fit(prep.transform(train))])
        train.unpersist()
        st.facts = {"model": family, "task": data.task, "features": n_features}
    with stage("evaluate", timings) as st:
        metrics, pictures = evaluate_held_out(fitted, data, parts, sizes)
        st.rows = sizes["test"]
        key = "accuracy" if data.task == CLASSIFICATION else "rmse"
        st.facts = {f"test_{key}": metrics["test"][key]}
    return TabularTrained(fitted, family, metrics, sizes, parts, pictures)


def evaluate_held_out(fitted, data: TabularDataset, parts: split.Splits, sizes: dict):
    """Metrics per held-out split, and the test split's picture (confusion or scatter)."""
    results: dict = {}
    pictures: dict[str, bytes] = {}
    for name in ("validation", "test"):
        if not sizes[name]:
            continue
        predicted = fitted.transform(getattr(parts, name))
        if data.task == CLASSIFICATION:
            indices = [float(i) for i in range(len(data.classes))]
            matrix = evaluate.confusion(predicted, indices, label_col=models.LABEL)
            results[name] = evaluate.metrics(matrix, data.classes)
            if name == "test":
                pictures["confusion_matrix.png"] = evaluate.confusion_png(matrix, data.classes)
        else:
            results[name] = evaluate.regression(predicted, data.label)
            if name == "test":
                pairs = evaluate.sample_pairs(predicted, data.label)
                pictures["predicted_vs_actual.png"] = evaluate.scatter_png(pairs)
    return results, pictures


def export(export_model, trained: TabularTrained, data: TabularDataset, settings, timings):
    """Export to scikit-learn with parity on held-out rows (the result, its parity a dict)."""
    with stage("export", timings) as st:
        held_out = trained.splits.test.select(*[f"`{c}`" for c in data.columns], f"`{data.label}`")
        sample = held_out.limit(settings.parity_rows)
        exported = export_model(  # raises ExportError (exit 4)
            trained.model,
            sample,
            features_col=models.FEATURES,
            label_col=data.label,
            labels=data.classes,
            schema_df=data.typed(trained.splits.train),
        )
        parity = dict(exported.parity)
        keys = ("rows", "label_agreement", "max_proba_error", "max_abs_error", "max_error")
        st.facts = {k: parity[k] for k in keys if parity.get(k) is not None}
        st.facts["passed"] = parity.get("passed")
    if not parity.get("passed"):
        raise ExportError(f"exported model failed the parity check against Spark: {parity}")
    return dataclasses.replace(exported, parity=parity)


def lineage_data(data: TabularDataset) -> dict:
    """The data part of the lineage record: columns, task, rows kept and dropped."""
    return {
        "task": data.task,
        "label": data.label,
        "columns": {c: data.types[c] for c in data.columns},
        "categorical": list(data.categorical),
        "rows": data.rows,
        "dropped_label_rows": data.dropped_labels,
        "features": data.num_features,
    }


def summary(trained: TabularTrained, data: TabularDataset) -> str:
    test = trained.metrics["test"]
    if data.task == CLASSIFICATION:
        return f"test accuracy {test['accuracy']:.4f}"
    return f"test RMSE {test['rmse']:.4g}, R² {test['r2']:.4f}"
