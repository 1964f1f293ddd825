"""``export_model``: a fitted Spark classifier or PipelineModel → a fitted sklearn object.

Every learned number is copied from Spark in closed form (no fitting on data), the
result is checked against Spark on held-out rows, and the parity figures travel with the
estimator so the training job can record them in the signed manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.classification import (
    DecisionTreeClassificationModel,
    GBTClassificationModel,
    LinearSVCModel,
    LogisticRegressionModel,
    MultilayerPerceptronClassificationModel,
    NaiveBayesModel,
    OneVsRestModel,
    RandomForestClassificationModel,
)
from pyspark.ml.feature import MinMaxScalerModel, StandardScalerModel, VectorAssembler
from sklearn.pipeline import Pipeline

from .bayes import convert_naive_bayes
from .checks import describe
from .errors import UnsupportedStage
from .labels import resolve_classes
from .linear import convert_linear_svc, convert_logistic_regression
from .mlp import convert_mlp
from .ovr import convert_one_vs_rest, decision_scale
from .parity import check_parity
from .plan import make_plan
from .scalers import Step, convert_min_max_scaler, convert_standard_scaler
from .trees import TreeReader, convert_decision_tree, convert_gbt, convert_random_forest

log = logging.getLogger(__name__)

_SPARK_FREE: dict[type, Callable[[Any, np.ndarray], Any]] = {
    LogisticRegressionModel: convert_logistic_regression,
    LinearSVCModel: convert_linear_svc,
    NaiveBayesModel: convert_naive_bayes,
    MultilayerPerceptronClassificationModel: convert_mlp,
}
_NEEDS_SPARK: dict[type, Callable[[Any, np.ndarray, TreeReader], Any]] = {
    DecisionTreeClassificationModel: convert_decision_tree,
    RandomForestClassificationModel: convert_random_forest,
    GBTClassificationModel: convert_gbt,
}
_FEATURE_STEPS: dict[type, Callable[[Any], list[Step]]] = {
    StandardScalerModel: convert_standard_scaler,
    MinMaxScalerModel: convert_min_max_scaler,
    VectorAssembler: lambda stage: [],  # only fixes the column order: input_cols
}


@dataclass(frozen=True)
class ExportResult:
    """The exported estimator, its parity figures, and how to feed it.

    ``input_cols`` are the ``sample_df`` columns whose values, concatenated in order,
    form one row of X; ``classes`` are the labels ``predict`` returns.
    """

    estimator: Any
    parity: dict[str, Any]
    classes: list[Any]
    input_cols: list[str]


def convert_classifier(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    """Map one fitted Spark classifier onto its sklearn counterpart."""
    kind = type(model)
    if kind in _SPARK_FREE:
        return _SPARK_FREE[kind](model, classes)
    if kind in _NEEDS_SPARK:
        return _NEEDS_SPARK[kind](model, classes, reader)
    if kind is OneVsRestModel:
        return convert_one_vs_rest(
            model, classes, lambda sub, binary: convert_classifier(sub, binary, reader)
        )
    raise UnsupportedStage(f"{describe(model)} has no exact scikit-learn mapping")


def convert_feature_stage(stage: Any) -> list[Step]:
    """Map one feature stage onto zero or more sklearn pipeline steps."""
    converter = _FEATURE_STEPS.get(type(stage))
    if converter is None:
        raise UnsupportedStage(f"{describe(stage)} has no exact scikit-learn mapping")
    return converter(stage)


def export_model(
    pipeline_model: Any,
    sample_df: Any,
    *,
    features_col: str = "features",
    label_col: str = "label",
    labels: Sequence[Any] | None = None,
    atol: float = 1e-6,
    work_dir: str | None = None,
) -> ExportResult:
    """Export a fitted PipelineModel or bare classifier and prove parity on ``sample_df``.

    Returns a bare estimator when there are no feature steps, else an sklearn Pipeline.
    Raises UnsupportedStage for anything without an exact mapping and ParityError when
    Spark and sklearn disagree (label on any row, or probability beyond ``atol``).
    ``work_dir``: where tree models are saved to be read back (see TreeReader).
    """
    plan = make_plan(pipeline_model, features_col=features_col, label_col=label_col)
    classes = resolve_classes(labels, plan.label_indexer, plan.classifier)
    steps = [step for stage in plan.feature_stages for step in convert_feature_stage(stage)]
    reader = TreeReader(sample_df.sparkSession, work_dir)
    final = convert_classifier(plan.classifier, classes, reader)
    estimator = Pipeline([*steps, (plan.classifier.uid, final)]) if steps else final
    spark_model = PipelineModel(stages=[*plan.feature_stages, plan.classifier])
    scale = decision_scale(plan.classifier) if isinstance(plan.classifier, OneVsRestModel) else 1
    parity = check_parity(
        spark_model,
        estimator,
        sample_df,
        input_cols=plan.input_cols,
        labels=classes,
        atol=atol,
        decision_scale=scale,
    )
    log.info("exported %s as %s", describe(plan.classifier), type(estimator).__name__)
    return ExportResult(estimator, parity, classes.tolist(), plan.input_cols)
