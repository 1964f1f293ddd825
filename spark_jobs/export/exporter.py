"""``export_model``: a fitted Spark model or PipelineModel → a fitted sklearn object.

Every learned number is copied from Spark in closed form (no fitting on data), the
result is checked against Spark on held-out rows, and the parity figures travel with the
estimator so the training job can record them in the signed manifest, next to the typed
input and output schema derived here.

Two input forms come out:

* *tabular* — the pipeline assembles named columns (VectorAssembler over numeric,
  boolean or encoded columns): the estimator is a Pipeline whose first step is a
  ColumnTransformer taking a pandas DataFrame in frame form (``artifacts.schema``);
* *vector* — the predictor (or its scalers, or an assembler over vector columns) reads
  vector columns: the estimator takes X, those columns concatenated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.classification import OneVsRestModel
from pyspark.ml.linalg import VectorUDT
from sklearn.pipeline import Pipeline

from artifacts.schema import CLASSIFICATION, CLUSTERING, InputSchema, OutputSchema

from .checks import describe
from .columns import build_column_transformer, trace_recipes
from .edges import add_edge_rows
from .errors import UnsupportedStage
from .inputs import output_schema, tabular_schema
from .labels import resolve_classes
from .ovr import decision_scale
from .parity import check_parity
from .plan import Plan, make_plan
from .registry import (
    convert_classifier,
    convert_clusterer,
    convert_feature_stage,
    convert_regressor,
    lookup,
)
from .scalers import Step
from .trees import TreeReader
from .widths import input_widths

log = logging.getLogger(__name__)

__all__ = [
    "ExportResult",
    "convert_classifier",
    "convert_clusterer",
    "convert_feature_stage",
    "convert_regressor",
    "export_model",
]


@dataclass(frozen=True)
class ExportResult:
    """The exported estimator, its parity figures, and how to feed it.

    ``input_cols``: for a tabular export the DataFrame's columns (``input_schema``'s
    names); otherwise the ``sample_df`` columns whose values, concatenated in order,
    form one row of X.  ``classes`` are the labels ``predict`` returns (empty for a
    regressor).  ``input_schema``/``output_schema`` go into the manifest as they are.
    """

    estimator: Any
    parity: dict[str, Any]
    classes: list[Any]
    input_cols: list[str]
    input_schema: InputSchema | None = None
    output_schema: OutputSchema | None = None


@dataclass(frozen=True)
class _Front:
    """How rows reach the vector chain: steps, Spark stages, schema, parity sample."""

    steps: list[Step]
    spark_stages: list[Any]
    schema: InputSchema
    input_cols: list[str]
    sample: Any
    synthesized: int


def export_model(
    pipeline_model: Any,
    sample_df: Any,
    *,
    features_col: str = "features",
    label_col: str = "label",
    labels: Sequence[Any] | None = None,
    atol: float = 1e-6,
    work_dir: str | None = None,
    schema_df: Any = None,
) -> ExportResult:
    """Export a fitted PipelineModel or bare model and prove parity on ``sample_df``.

    Returns a bare estimator when there are no steps before it, else an sklearn
    Pipeline.  ``sample_df`` holds the pipeline's raw input columns (the label may be
    there too); tabular exports add edge rows to it (see ``edges``).  ``schema_df``
    (default ``sample_df``) is where numeric ranges and gaps are measured.  Raises
    UnsupportedStage for anything without an exact mapping and ParityError when Spark
    and sklearn disagree.  ``work_dir``: where tree models are saved to be read back.
    """
    plan = make_plan(pipeline_model, features_col=features_col, label_col=label_col)
    reader = TreeReader(sample_df.sparkSession, work_dir)
    task = plan.task
    schema_df = sample_df if schema_df is None else schema_df
    problems: list[str] = []
    classes, final = _attempt(problems, _predictor, plan, labels, reader) or (None, None)
    front = _attempt(problems, _front, plan, sample_df, schema_df)
    widths = _vector_widths(plan, front)
    if front is not None and not front.schema.is_tabular and widths and widths[0] is not None:
        # the input is what the first vector stage reads, not what the predictor reads
        front = replace(front, schema=InputSchema.vector(widths[0]))
    vector_steps = [
        _attempt(problems, convert_feature_stage, stage, width)
        for stage, width in zip(plan.feature_stages, widths, strict=True)
    ]
    if problems:  # every problem found while converting, in one message
        raise UnsupportedStage("; ".join(problems))
    steps = [*front.steps, *(step for found in vector_steps for step in found)]
    estimator = Pipeline([*steps, (plan.predictor.uid, final)]) if steps else final
    spark_model = PipelineModel(stages=[*front.spark_stages, *plan.feature_stages, plan.predictor])
    is_ovr = isinstance(plan.predictor, OneVsRestModel)
    parity = check_parity(
        spark_model,
        estimator,
        front.sample,
        input_cols=plan.input_cols,
        labels=classes if task == CLASSIFICATION else None,
        atol=atol,
        decision_scale=decision_scale(plan.predictor) if is_ovr else 1,
        schema=front.schema,
        task=task,
    )
    parity["synthesized_rows"] = front.synthesized
    label = plan.label_indexer.getInputCol() if plan.label_indexer is not None else label_col
    outputs = output_schema(task, label, classes.tolist(), schema_df, estimator)
    log.info("exported %s as %s", describe(plan.predictor), type(estimator).__name__)
    return ExportResult(
        estimator, parity, classes.tolist(), front.input_cols, front.schema, outputs
    )


def _attempt(problems: list[str], convert: Callable[..., Any], *args: Any) -> Any:
    """``convert(*args)``, or None with the UnsupportedStage message added to ``problems``."""
    try:
        return convert(*args)
    except UnsupportedStage as exc:
        problems.append(str(exc))
        return None


def _predictor(
    plan: Plan, labels: Sequence[Any] | None, reader: TreeReader
) -> tuple[np.ndarray, Any]:
    """The classes (empty unless classifying) and the converted predictor."""
    if plan.task == CLASSIFICATION:
        classes = resolve_classes(labels, plan.label_indexer, plan.predictor)
        return classes, convert_classifier(plan.predictor, classes, reader)
    if plan.task == CLUSTERING:
        return np.array([]), convert_clusterer(plan.predictor)
    return np.array([]), convert_regressor(plan.predictor, reader)


def _front(plan: Plan, sample_df: Any, schema_df: Any) -> _Front:
    """Tabular when an assembler reads scalar columns, else vector input."""
    fields = {f.name: f.dataType for f in sample_df.schema.fields}
    assembler = plan.assembler
    if assembler is None or all(isinstance(fields.get(c), VectorUDT) for c in plan.input_cols):
        stages = [assembler] if assembler is not None else []
        schema = InputSchema.vector(_num_features(plan.predictor))
        return _Front([], stages, schema, plan.input_cols, sample_df, 0)
    if assembler.getHandleInvalid() == "skip":
        raise UnsupportedStage(
            f"{describe(assembler)}: handleInvalid='skip' drops rows, which a served model "
            "cannot do; use 'error' or 'keep'"
        )
    vectors = [c for c in plan.input_cols if isinstance(fields.get(c), VectorUDT)]
    if vectors:
        raise UnsupportedStage(
            f"{describe(assembler)} mixes vector columns {vectors} with named columns; "
            "assemble either vectors only or scalar columns only"
        )
    recipes = trace_recipes(assembler, list(plan.column_stages), fields)
    sources = {r.source for r in recipes}
    measured = schema_df if sources <= set(schema_df.columns) else sample_df
    schema = tabular_schema(recipes, sample_df.columns, fields, measured)
    used = {id(link.stage) for r in recipes for link in r.links}
    stages = [s for s in plan.column_stages if id(s) in used]
    sample, synthesized = add_edge_rows(sample_df, schema, recipes)
    steps: list[Step] = [("columns", build_column_transformer(recipes, schema))]
    return _Front(steps, [*stages, assembler], schema, schema.column_names, sample, synthesized)


def _vector_widths(plan: Plan, front: _Front | None) -> list[int | None]:
    """The input width of each vector stage, measured by Spark on the sample (see widths),
    when a stage needs it or the export's input is the vector itself."""
    needed = any(getattr(lookup(s), "needs_width", False) for s in plan.feature_stages)
    if front is None or not (needed or not front.schema.is_tabular):
        return [None] * len(plan.feature_stages)
    return input_widths(front.spark_stages, plan.feature_stages, front.sample)


def _num_features(predictor: Any) -> int:
    if isinstance(predictor, OneVsRestModel):
        return int(predictor.models[0].numFeatures)
    if not hasattr(predictor, "numFeatures"):  # KMeansModel
        return len(predictor.clusterCenters()[0])
    return int(predictor.numFeatures)
