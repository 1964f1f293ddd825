"""Column-level stages before the VectorAssembler → one sklearn ColumnTransformer.

Each VectorAssembler input is traced back to the raw column it is computed from; the
stages on that path (a *recipe*) become stock sklearn transformers whose arithmetic is
Spark's:

* ``ImputerModel`` → ``SimpleImputer(strategy="constant")`` holding Spark's surrogate
  (cast to the column's type, as Spark casts the imputed column back to its input type);
  a custom ``missingValue`` adds a second imputer for that value.
* ``StringIndexerModel`` → ``OrdinalEncoder`` with Spark's labels in index order; with
  ``handleInvalid='keep'`` unseen *and* missing values get index ``len(labels)``, which
  is exactly Spark's keep bucket.
* ``OneHotEncoderModel`` → ``OneHotEncoder`` over the indices ``0 … size-1`` where size
  is Spark's output width (``categorySize + keep − dropLast``); an index at or past the
  width is all zeros in both (e.g. the keep bucket under ``dropLast=True``).
* a numeric column read as is → ``"passthrough"``; a boolean one → ``OrdinalEncoder``
  over ``["false", "true"]`` (VectorAssembler reads booleans as 0/1).
* ``Bucketizer`` (also a fitted QuantileDiscretizer), alone or after an Imputer → the
  steps of ``binning``.
* a string column through a tokenizer … ``CountVectorizerModel`` [→ ``IDFModel``] → one
  ``CountVectorizer`` [+ ``TfidfTransformer``] (see ``text``); the ColumnTransformer hands it
  the column as 1-D documents and densifies the sparse counts (``sparse_threshold=0``), so
  every estimator after it gets the same dense matrix Spark's assembler would.

The transformers are fitted on a one-row dummy frame: with every category, fill value
and width given explicitly, fitting learns nothing from data (checked below), and it is
the only supported way to get a fitted stock ColumnTransformer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml.feature import Bucketizer, ImputerModel, OneHotEncoderModel, StringIndexerModel
from pyspark.sql import types as T  # noqa: N812
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from artifacts.schema import InputSchema

from . import text
from .binning import BINNING_TYPES, bucket_steps, splits_of
from .checks import describe
from .errors import ExportError, UnsupportedStage

COLUMN_STAGE_TYPES = (
    ImputerModel,
    StringIndexerModel,
    OneHotEncoderModel,
    *BINNING_TYPES,
    *text.TEXT_STAGE_TYPES,
)
INTEGRAL_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
NUMERIC_TYPES = (*INTEGRAL_TYPES, T.FloatType, T.DoubleType, T.DecimalType)
BOOLEAN_CATEGORIES = ("false", "true")


@dataclass(frozen=True)
class Link:
    """One fitted column stage and which of its input/output column pairs is meant."""

    stage: Any
    index: int


@dataclass(frozen=True)
class Recipe:
    """How one VectorAssembler input is computed from one raw input column."""

    output: str
    source: str
    links: tuple[Link, ...]
    source_type: Any  # the raw column's Spark DataType

    @property
    def indexer(self) -> Link | None:
        return next((k for k in self.links if isinstance(k.stage, StringIndexerModel)), None)

    @property
    def imputer(self) -> Link | None:
        return next((k for k in self.links if isinstance(k.stage, ImputerModel)), None)

    @property
    def is_text(self) -> bool:
        """Whether the source is a document tokenised by the recipe (see ``text``)."""
        return bool(self.links) and isinstance(self.links[0].stage, text.TOKENIZER_TYPES)

    @property
    def bucketizer(self) -> Link | None:
        return next((k for k in self.links if isinstance(k.stage, Bucketizer)), None)

    @property
    def categories(self) -> tuple[str, ...] | None:
        """The frame-form categories of the source column, or None if it is numeric
        (a text column has none: ``()``)."""
        if self.is_text:
            return ()
        if self.indexer is not None:
            return tuple(labels_of(self.indexer))
        if isinstance(self.source_type, T.BooleanType):
            return BOOLEAN_CATEGORIES
        return None

    @property
    def unseen(self) -> str:
        keep = self.indexer is not None and self.indexer.stage.getHandleInvalid() == "keep"
        return "keep" if keep else "error"


def io_cols(stage: Any) -> tuple[list[str], list[str]]:
    """A single- or multi-column stage's input and output column names."""
    if stage.hasParam("inputCols") and stage.isSet(stage.getParam("inputCols")):
        return list(stage.getInputCols()), list(stage.getOutputCols())
    return [stage.getInputCol()], [stage.getOutputCol()]


def labels_of(link: Link) -> list[str]:
    return list(link.stage.labelsArray[link.index])


# Allowed paths from a raw column to an assembler input, by stage type.
_SHAPES = {
    (): "read as is",
    (ImputerModel,): "imputed",
    (StringIndexerModel,): "indexed",
    (StringIndexerModel, OneHotEncoderModel): "one-hot encoded",
    (Bucketizer,): "bucketized",
    (ImputerModel, Bucketizer): "imputed and bucketized",
    (Bucketizer, OneHotEncoderModel): "bucketized and one-hot encoded",
    (ImputerModel, Bucketizer, OneHotEncoderModel): "imputed, bucketized and one-hot encoded",
}
_NUMERIC_SHAPES = tuple(shape for shape in _SHAPES if StringIndexerModel not in shape)


def trace_recipes(assembler: Any, column_stages: list[Any], raw_types: dict[str, Any]) -> list:
    """One Recipe per assembler input, in the assembler's order.

    Raises UnsupportedStage for paths other than those in ``_SHAPES``, for settings with
    no exact sklearn form, and when one raw column would need two frame forms.
    """
    producers = {}
    for stage in column_stages:
        for i, out in enumerate(io_cols(stage)[1]):
            producers[out] = Link(stage, i)
    recipes = []
    for output in assembler.getInputCols():
        links: list[Link] = []
        column = output
        while column in producers:
            link = producers[column]
            links.insert(0, link)
            column = io_cols(link.stage)[0][link.index]
        if column not in raw_types:
            raise ExportError(f"{describe(assembler)} needs column {column!r}; sample has none")
        recipe = Recipe(output, column, tuple(links), raw_types[column])
        _check_recipe(recipe)
        recipes.append(recipe)
    _check_consistent(recipes)
    return recipes


def _check_recipe(recipe: Recipe) -> None:
    shape = tuple(type(link.stage) for link in recipe.links)
    path = " → ".join([recipe.source, *(describe(k.stage) for k in recipe.links)])
    if recipe.is_text:
        _check_text_recipe(recipe, shape, path)
        return
    if shape not in _SHAPES:
        raise UnsupportedStage(f"column path {path} has no exact scikit-learn mapping")
    kind = recipe.source_type
    as_is_boolean = shape == () and isinstance(kind, T.BooleanType)
    if shape in _NUMERIC_SHAPES and not isinstance(kind, NUMERIC_TYPES) and not as_is_boolean:
        raise UnsupportedStage(
            f"column {recipe.source!r} ({kind.simpleString()}) reaches the "
            "VectorAssembler without an encoder; index or one-hot encode it"
        )
    _check_nan_bucket(recipe)
    if recipe.indexer is not None and recipe.indexer.stage.getHandleInvalid() == "skip":
        raise UnsupportedStage(
            f"{describe(recipe.indexer.stage)}: handleInvalid='skip' drops rows with unseen or "
            "missing categories, which a served model cannot do; use 'keep' or 'error'"
        )


def _check_nan_bucket(recipe: Recipe) -> None:
    """Bucketizer 'keep' puts NaN at index len(splits) - 1, past the one-hot encoder's
    categories (Spark's metadata lists only the real buckets): a strict encoder fails."""
    bucketizer = recipe.bucketizer
    encoders = [k.stage for k in recipe.links if isinstance(k.stage, OneHotEncoderModel)]
    if bucketizer is None or not encoders or recipe.imputer is not None:
        return
    if bucketizer.stage.getHandleInvalid() == "keep" and encoders[0].getHandleInvalid() == "error":
        raise UnsupportedStage(
            f"{describe(encoders[0])}: handleInvalid='error' fails on the NaN bucket of "
            f"{describe(bucketizer.stage)} (handleInvalid='keep'); set the encoder's "
            "handleInvalid to 'keep' or the Bucketizer's to 'error'"
        )


def _check_text_recipe(recipe: Recipe, shape: tuple, path: str) -> None:
    if not text.is_text_shape(shape):
        raise UnsupportedStage(
            f"column path {path} has no exact scikit-learn mapping (text exports as "
            "Tokenizer|RegexTokenizer → [StopWordsRemover] → [NGram] → CountVectorizerModel "
            "→ [IDFModel])"
        )
    if not isinstance(recipe.source_type, T.StringType):
        raise UnsupportedStage(
            f"column {recipe.source!r} ({recipe.source_type.simpleString()}) is tokenised; "
            "a text column must be a string column"
        )
    text.check_links([link.stage for link in recipe.links])


def _check_consistent(recipes: list[Recipe]) -> None:
    """A raw column has one frame form: every recipe reading it must agree on it."""
    seen: dict[str, tuple] = {}
    for recipe in recipes:
        form = (recipe.is_text, recipe.categories, recipe.unseen if recipe.categories else None)
        if seen.setdefault(recipe.source, form) != form:
            raise UnsupportedStage(
                f"column {recipe.source!r} is used both as a number and as a category (or "
                "with two different category lists); an exported model needs one form"
            )


def build_column_transformer(recipes: list[Recipe], schema: InputSchema) -> ColumnTransformer:
    """The fitted ColumnTransformer that outputs the assembler's vector from the frame."""
    transformer = ColumnTransformer(
        [
            # a text step takes 1-D documents, so its column is named, not listed
            (f"f{i}", _transformer(r), r.source if r.is_text else [r.source])
            for i, r in enumerate(recipes)
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )
    transformer.fit(_dummy_frame(schema, recipes))
    for i, recipe in enumerate(recipes):
        if recipe.is_text:  # learned numbers are copied in after fitting
            text.set_idf(transformer.named_transformers_[f"f{i}"], _stages(recipe))
    return transformer


def _stages(recipe: Recipe) -> list[Any]:
    return [link.stage for link in recipe.links]


def _transformer(recipe: Recipe) -> Any:
    if recipe.is_text:
        return text.text_pipeline(_stages(recipe))
    steps = [_link_step(link, recipe.source_type) for link in recipe.links]
    if not steps:
        if isinstance(recipe.source_type, T.BooleanType):
            return _ordinal(list(BOOLEAN_CATEGORIES), unknown=np.nan)
        return "passthrough"
    if len(steps) == 1:
        return steps[0]
    return Pipeline([(f"s{i}", step) for i, step in enumerate(steps)])


def _link_step(link: Link, source_type: Any) -> Any:
    stage = link.stage
    if isinstance(stage, ImputerModel):
        return _imputer(link, source_type)
    if isinstance(stage, Bucketizer):
        return bucket_steps(stage, link.index)
    if isinstance(stage, StringIndexerModel):
        labels = labels_of(link)
        keep = stage.getHandleInvalid() == "keep"
        return _ordinal(labels, unknown=len(labels) if keep else None)
    return _one_hot(link)


def surrogate_of(link: Link, source_type: Any) -> float:
    """Spark's surrogate for the link's column, as the imputed column holds it.

    ImputerModel casts the filled column back to its input type, so an integral column
    gets the surrogate truncated toward zero.
    """
    column = io_cols(link.stage)[0][link.index]
    value = float(_surrogates(link.stage)[column])
    if isinstance(source_type, INTEGRAL_TYPES):
        value = float(math.trunc(value))
    return value


@lru_cache(maxsize=16)
def _surrogates(stage: Any) -> dict[str, float]:
    """All of an ImputerModel's surrogates, read from Spark once (one small job)."""
    return stage.surrogateDF.first().asDict()


def _imputer(link: Link, source_type: Any) -> Any:
    fill = surrogate_of(link, source_type)
    nulls = SimpleImputer(missing_values=np.nan, strategy="constant", fill_value=fill)
    marker = float(link.stage.getMissingValue())
    if math.isnan(marker):
        return nulls
    # Spark imputes nulls (NaN in the frame) and the marker value alike.
    marked = SimpleImputer(missing_values=marker, strategy="constant", fill_value=fill)
    return Pipeline([("nulls", nulls), ("marker", marked)])


def _ordinal(categories: list[str], unknown: float | None) -> OrdinalEncoder:
    """Categories → index; unknown and missing → ``unknown`` (None: refuse them)."""
    if unknown is None:
        return OrdinalEncoder(categories=[categories], dtype=np.float64)
    return OrdinalEncoder(
        categories=[categories],
        dtype=np.float64,
        handle_unknown="use_encoded_value",
        unknown_value=unknown,
        encoded_missing_value=unknown,
    )


def one_hot_width(link: Link) -> int:
    """Spark's one-hot vector width for the link's column."""
    stage = link.stage
    size = int(stage.categorySizes[link.index])
    size += 1 if stage.getHandleInvalid() == "keep" else 0
    return size - (1 if stage.getDropLast() else 0)


def _one_hot(link: Link) -> OneHotEncoder:
    width = one_hot_width(link)
    return OneHotEncoder(
        categories=[np.arange(width, dtype=np.float64)],
        handle_unknown="ignore",
        sparse_output=False,
        dtype=np.float64,
    )


def _dummy_frame(schema: InputSchema, recipes: list[Recipe]) -> pd.DataFrame:
    """One row in frame form with a valid value in every column (see the module doc): a
    word for a text column, a value inside the splits for a bucketized one."""
    inside = {}
    for recipe in recipes:
        if recipe.bucketizer is not None:
            splits = splits_of(recipe.bucketizer.stage, recipe.bucketizer.index)
            inside[recipe.source] = splits[0] if math.isfinite(splits[0]) else splits[1]
    data = {}
    for column in schema.columns:
        if column.text:
            data[column.name] = pd.Series(["word"], dtype=object)
        elif column.categorical:
            first = column.categories[0] if column.categories else None
            data[column.name] = pd.Series([first], dtype=object)
        else:
            data[column.name] = pd.Series([inside.get(column.name, 0.0)], dtype=np.float64)
    return pd.DataFrame(data, columns=schema.column_names)
