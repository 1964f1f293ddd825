"""Reading a fitted Spark pipeline as: input columns → features → one predictor.

The shape that exports exactly is::

    [column stages] → [VectorAssembler] → [vector stages] → predictor [→ IndexToString]

where the predictor is a classifier, regressor or clusterer and every class's role comes
from the converter ``registry``.

Column stages (Imputer, StringIndexer, OneHotEncoder, Bucketizer, the text stages) act on
named columns and become a ColumnTransformer (see ``columns``).  When a column stage's
vector feeds the vector chain or the predictor directly (``text → … → IDF →
NaiveBayes``), the plan inserts the one-input VectorAssembler that Spark would not need,
so the same tabular export applies: the stage writes a fresh column and the assembler
copies it, unchanged, into the column the chain reads.  The vector chain after the assembler must be
straight: each vector stage (scaler, Normalizer, Binarizer) reads the column the
previous stage wrote and the predictor reads the last of them.  Stages that act on the
label (a StringIndexer feeding the classifier's label column, an IndexToString decoding
its prediction) are not part of the estimator; the indexer supplies the original labels
instead.  Every stage without a mapping, and every setting the registry can judge from
parameters alone, is named in one error, so a user sees the whole list at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.ml import PipelineModel
from pyspark.ml.feature import IndexToString, StringIndexerModel, VectorAssembler
from pyspark.ml.tuning import CrossValidatorModel, TrainValidationSplitModel

from artifacts.schema import CLASSIFICATION, CLUSTERING, REGRESSION

from . import registry
from .checks import describe
from .columns import COLUMN_STAGE_TYPES, io_cols
from .errors import ExportError, UnsupportedStage

CLASSIFIER_TYPES = registry.types(registry.CLASSIFIER)
REGRESSOR_TYPES = registry.types(registry.REGRESSOR)
CLUSTERER_TYPES = registry.types(registry.CLUSTERER)
PREDICTOR_TYPES = registry.types(*registry.PREDICTORS)
VECTOR_STAGE_TYPES = registry.types(registry.VECTOR)


@dataclass(frozen=True)
class Plan:
    """What to export.

    ``input_cols``: the assembler's inputs, or the predictor's (scaled) vector column;
    ``column_stages`` run before the assembler, ``feature_stages`` (vector stages) after it.
    """

    input_cols: list[str]
    feature_stages: list[Any]
    predictor: Any
    label_indexer: StringIndexerModel | None
    assembler: VectorAssembler | None = None
    column_stages: tuple[Any, ...] = ()

    @property
    def task(self) -> str:
        if isinstance(self.predictor, CLASSIFIER_TYPES):
            return CLASSIFICATION
        return CLUSTERING if isinstance(self.predictor, CLUSTERER_TYPES) else REGRESSION


def flatten(model: Any) -> list[Any]:
    """The stages of a (possibly nested) PipelineModel, or ``[model]`` for a bare model.

    A fitted CrossValidatorModel or TrainValidationSplitModel transforms with its
    ``bestModel`` only, so it is that model's stages.
    """
    if isinstance(model, PipelineModel):
        return [stage for inner in model.stages for stage in flatten(inner)]
    if isinstance(model, CrossValidatorModel | TrainValidationSplitModel):
        return flatten(model.bestModel)
    return [model]


def make_plan(model: Any, *, features_col: str, label_col: str) -> Plan:
    """Split the stages into label handling, column stages, the vector chain, the predictor."""
    stages = flatten(model)
    problems = registry.problems(stages)
    if problems:
        raise UnsupportedStage("; ".join(problems))
    found = [i for i, s in enumerate(stages) if isinstance(s, PREDICTOR_TYPES)]
    if len(found) != 1:
        raise UnsupportedStage(
            f"expected exactly one supported classifier or regressor (or clusterer), found "
            f"{len(found)} in "
            f"[{', '.join(describe(s) for s in stages)}]"
        )
    predictor = stages[found[0]]
    _check_after_predictor(stages[found[0] + 1 :], predictor)
    indexer = None
    column_stages, chain = [], []
    for stage in stages[: found[0]]:
        if _is_label_indexer(stage, predictor, label_col):
            indexer = stage
        elif isinstance(stage, COLUMN_STAGE_TYPES):
            column_stages.append(stage)
        else:
            chain.append(stage)
    if column_stages and not (chain and isinstance(chain[0], VectorAssembler)):
        column_stages, chain = _direct_input(column_stages, chain, predictor)
    input_cols = _check_chain(chain, predictor, features_col)
    assembler = chain[0] if chain and isinstance(chain[0], VectorAssembler) else None
    vector_chain = chain[1:] if assembler is not None else chain
    if column_stages and assembler is None:
        raise UnsupportedStage(
            f"{describe(column_stages[0])} is supported only before a VectorAssembler"
        )
    return Plan(input_cols, vector_chain, predictor, indexer, assembler, tuple(column_stages))


def _direct_input(
    column_stages: list[Any], chain: list[Any], predictor: Any
) -> tuple[list[Any], list[Any]]:
    """Insert an assembler between a column stage and the chain that reads its vector."""
    target = vector_input_col(chain[0]) if chain else predictor.getFeaturesCol()
    for position, stage in enumerate(column_stages):
        outputs = io_cols(stage)[1]
        if outputs == [target] and stage.hasParam("outputCol"):
            fresh = f"{target}__assembled"
            renamed = stage.copy({stage.getParam("outputCol"): fresh})
            assembler = VectorAssembler(inputCols=[fresh], outputCol=target)
            stages = [*column_stages[:position], renamed, *column_stages[position + 1 :]]
            return stages, [assembler, *chain]
    return column_stages, chain


def _is_label_indexer(stage: Any, predictor: Any, label_col: str) -> bool:
    if not isinstance(stage, StringIndexerModel) or not predictor.hasParam("labelCol"):
        return False
    inputs, outputs = io_cols(stage)
    return len(inputs) == 1 and (outputs[0] == predictor.getLabelCol() or inputs[0] == label_col)


def _check_after_predictor(stages: list[Any], predictor: Any) -> None:
    """Only an IndexToString decoding the prediction may follow the predictor."""
    for stage in stages:
        if not (
            isinstance(stage, IndexToString) and stage.getInputCol() == predictor.getPredictionCol()
        ):
            raise UnsupportedStage(
                f"{describe(stage)} after the predictor has no sklearn mapping "
                "(only an IndexToString of the prediction may follow it)"
            )


def vector_input_col(stage: Any) -> str:
    """The vector column a vector stage reads: ``inputCol``, or a selector's ``featuresCol``."""
    return stage.getInputCol() if stage.hasParam("inputCol") else stage.getFeaturesCol()


def _check_chain(chain: list[Any], predictor: Any, features_col: str) -> list[str]:
    """Verify the chain is wired input → … → predictor; return the input columns."""
    input_cols: list[str] | None = None
    current: str | None = None
    for position, stage in enumerate(chain):
        if isinstance(stage, VectorAssembler) and position == 0:
            input_cols = list(stage.getInputCols())
        elif isinstance(stage, VECTOR_STAGE_TYPES):
            if current is None:
                current = vector_input_col(stage)
                input_cols = [current]
            elif vector_input_col(stage) != current:
                raise UnsupportedStage(
                    f"{describe(stage)} reads {vector_input_col(stage)!r}, not the feature "
                    f"chain's {current!r}; only a straight chain of stages can be exported"
                )
        elif isinstance(stage, VectorAssembler):
            raise UnsupportedStage(f"{describe(stage)} is supported only as the first stage")
        else:
            raise UnsupportedStage(f"{describe(stage)} has no exact scikit-learn mapping")
        current = stage.getOutputCol()
    if input_cols is None:
        current = predictor.getFeaturesCol()
        input_cols = [current]
    if predictor.getFeaturesCol() != current:
        raise UnsupportedStage(
            f"{describe(predictor)} reads {predictor.getFeaturesCol()!r}, but the feature "
            f"chain ends at {current!r}"
        )
    if not (chain and isinstance(chain[0], VectorAssembler)) and input_cols != [features_col]:
        raise ExportError(
            f"the pipeline reads its features from {input_cols[0]!r}, "
            f"but features_col={features_col!r}"
        )
    return input_cols
