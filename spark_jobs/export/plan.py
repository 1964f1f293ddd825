"""Reading a fitted Spark pipeline as: input columns → feature chain → one classifier.

Only a straight chain can be exported exactly: each feature stage must read the column
the previous one wrote, and the classifier must read the last of them.  Stages that act
on the label (a StringIndexer feeding the classifier's label column, an IndexToString
decoding its prediction) are not part of the estimator; the indexer supplies the
original labels instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from pyspark.ml.feature import (
    IndexToString,
    MinMaxScalerModel,
    StandardScalerModel,
    StringIndexerModel,
    VectorAssembler,
)

from .checks import describe
from .errors import ExportError, UnsupportedStage

CLASSIFIER_TYPES = (
    LogisticRegressionModel,
    LinearSVCModel,
    NaiveBayesModel,
    MultilayerPerceptronClassificationModel,
    DecisionTreeClassificationModel,
    RandomForestClassificationModel,
    GBTClassificationModel,
    OneVsRestModel,
)
SCALER_TYPES = (StandardScalerModel, MinMaxScalerModel)


@dataclass(frozen=True)
class Plan:
    """What to export: the input columns (in X's column order), the chain, the classifier."""

    input_cols: list[str]
    feature_stages: list[Any]
    classifier: Any
    label_indexer: StringIndexerModel | None


def flatten(model: Any) -> list[Any]:
    """The stages of a (possibly nested) PipelineModel, or ``[model]`` for a bare model."""
    if isinstance(model, PipelineModel):
        return [stage for inner in model.stages for stage in flatten(inner)]
    return [model]


def make_plan(model: Any, *, features_col: str, label_col: str) -> Plan:
    """Split the stages into label handling, the feature chain and the classifier."""
    stages = flatten(model)
    classifiers = [i for i, s in enumerate(stages) if isinstance(s, CLASSIFIER_TYPES)]
    if len(classifiers) != 1:
        raise UnsupportedStage(
            f"expected exactly one supported classifier, found {len(classifiers)} in "
            f"[{', '.join(describe(s) for s in stages)}]"
        )
    classifier = stages[classifiers[0]]
    _check_after_classifier(stages[classifiers[0] + 1 :], classifier)
    indexer = None
    chain = []
    for stage in stages[: classifiers[0]]:
        if _is_label_indexer(stage, classifier, label_col):
            indexer = stage
        else:
            chain.append(stage)
    input_cols = _check_chain(chain, classifier, features_col)
    return Plan(input_cols, chain, classifier, indexer)


def _is_label_indexer(stage: Any, classifier: Any, label_col: str) -> bool:
    return isinstance(stage, StringIndexerModel) and (
        stage.getOutputCol() == classifier.getLabelCol() or stage.getInputCol() == label_col
    )


def _check_after_classifier(stages: list[Any], classifier: Any) -> None:
    """Only an IndexToString decoding the prediction may follow the classifier."""
    for stage in stages:
        if not (
            isinstance(stage, IndexToString)
            and stage.getInputCol() == classifier.getPredictionCol()
        ):
            raise UnsupportedStage(
                f"{describe(stage)} after the classifier has no sklearn mapping "
                "(only an IndexToString of the prediction may follow it)"
            )


def _check_chain(chain: list[Any], classifier: Any, features_col: str) -> list[str]:
    """Verify the chain is wired input → … → classifier; return the input columns."""
    input_cols: list[str] | None = None
    current: str | None = None
    for position, stage in enumerate(chain):
        if isinstance(stage, VectorAssembler) and position == 0:
            input_cols = list(stage.getInputCols())
        elif isinstance(stage, SCALER_TYPES):
            if current is None:
                current = stage.getInputCol()
                input_cols = [current]
            elif stage.getInputCol() != current:
                raise UnsupportedStage(
                    f"{describe(stage)} reads {stage.getInputCol()!r}, not the feature "
                    f"chain's {current!r}; only a straight chain of stages can be exported"
                )
        elif isinstance(stage, VectorAssembler):
            raise UnsupportedStage(f"{describe(stage)} is supported only as the first stage")
        else:
            raise UnsupportedStage(f"{describe(stage)} has no exact scikit-learn mapping")
        current = stage.getOutputCol()
    if input_cols is None:
        current = classifier.getFeaturesCol()
        input_cols = [current]
    if classifier.getFeaturesCol() != current:
        raise UnsupportedStage(
            f"{describe(classifier)} reads {classifier.getFeaturesCol()!r}, but the feature "
            f"chain ends at {current!r}"
        )
    if not (chain and isinstance(chain[0], VectorAssembler)) and input_cols != [features_col]:
        raise ExportError(
            f"the pipeline reads its features from {input_cols[0]!r}, "
            f"but features_col={features_col!r}"
        )
    return input_cols
