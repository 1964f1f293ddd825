"""The converter registry: every Spark class the exporter knows, registered once.

Each ``Entry`` says what role a fitted Spark stage plays in an exported pipeline, what it
becomes in scikit-learn and which function builds it.  The planner (``plan``) classifies
stages by role from here, the exporter converts through here, and the coverage table in
docs/export.md is generated from ``coverage_table()`` (``make docs``) and checked by a test,
so the documentation cannot drift from the code.  A class missing from the registry has no
exact mapping; a class registered as ``REFUSED`` is one we know about and refuse with a reason.

Roles and converter signatures:

* ``CLASSIFIER``: ``convert(model, classes, reader)`` → classifier;
* ``REGRESSOR``: ``convert(model, reader)`` → regressor;
* ``CLUSTERER``: ``convert(model)`` → clusterer (``predict`` returns the cluster id);
* ``VECTOR``: ``convert(stage)`` → sklearn steps on the assembled vector
  (``convert(stage, width)`` when ``needs_width``: stateless stages such as
  PolynomialExpansion, whose form depends on how wide their input is);
* ``COLUMN``: named-column stages before the assembler (built by ``columns``);
* ``STRUCTURE``: stages that only wire the pipeline (assembler, label decoding);
* ``REFUSED``: no exact stock mapping; ``notes`` says why.

``probe`` (optional) raises UnsupportedStage for a setting that can be judged from the
stage's parameters alone, so one error can list every problem in a pipeline at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.ml import classification as sc
from pyspark.ml import clustering as sk
from pyspark.ml import feature as sf
from pyspark.ml import recommendation as sr_rec
from pyspark.ml import regression as sr

from .bayes import convert_naive_bayes
from .binning import check_bucketizer
from .checks import describe, reject_class_thresholds
from .clustering import convert_kmeans
from .errors import UnsupportedStage
from .fm import convert_fm_classifier, convert_fm_regressor, probe_fm
from .glm import convert_glm
from .indexer import convert_vector_indexer, probe_vector_indexer
from .isotonic import convert_isotonic
from .labels import num_classes
from .linear import convert_linear_svc, convert_logistic_regression
from .mlp import convert_mlp
from .ovr import convert_one_vs_rest, probe_one_vs_rest
from .polynomial import convert_polynomial_expansion
from .projection import convert_pca
from .regression import convert_linear_regression
from .scalers import (
    Step,
    convert_max_abs_scaler,
    convert_min_max_scaler,
    convert_robust_scaler,
    convert_standard_scaler,
)
from .selectors import convert_selector, convert_vector_slicer, probe_vector_slicer
from .text import check_count_vectorizer, check_regex_tokenizer
from .trees import (
    TreeReader,
    convert_decision_tree,
    convert_decision_tree_regressor,
    convert_gbt,
    convert_gbt_regressor,
    convert_random_forest,
    convert_random_forest_regressor,
)
from .vectors import convert_binarizer, convert_elementwise_product, convert_normalizer

CLASSIFIER, REGRESSOR, CLUSTERER = "classifier", "regressor", "clusterer"
VECTOR, COLUMN, STRUCTURE, REFUSED = "vector", "column", "structure", "refused"
PREDICTORS = (CLASSIFIER, REGRESSOR, CLUSTERER)
ROLES = (*PREDICTORS, VECTOR, COLUMN, STRUCTURE, REFUSED)


@dataclass(frozen=True)
class Entry:
    """One Spark class: its role, what it becomes, the converter and a settings probe."""

    spark: type
    role: str
    sklearn: str
    convert: Callable[..., Any] | None = None
    notes: str = ""
    probe: Callable[[Any], None] | None = None
    needs_width: bool = False  # a VECTOR converter called as convert(stage, input width)


def _spark_free(convert: Callable[[Any, np.ndarray], Any]) -> Callable[..., Any]:
    """Classifiers converted from their parameters alone (no reader)."""

    def classify(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
        return convert(model, classes)

    return classify


def _probe_classifier(convert: Callable[[Any, np.ndarray], Any]) -> Callable[[Any], None]:
    """Run the converter with index classes: every parameter check, no data."""
    return lambda model: convert(model, np.arange(num_classes(model)))


def _one_vs_rest(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    return convert_one_vs_rest(
        model, classes, lambda sub, binary: convert_classifier(sub, binary, reader)
    )


def _no_reader(convert: Callable[[Any], Any]) -> Callable[[Any, TreeReader], Any]:
    return lambda model, reader: convert(model)


def _assembler_probe(stage: Any) -> None:
    if stage.getHandleInvalid() == "skip":
        raise UnsupportedStage(
            f"{describe(stage)}: handleInvalid='skip' drops rows, which a served model "
            "cannot do; use 'error' or 'keep'"
        )


_TREES = "continuous splits; categorical splits as index thresholds or membership columns"

ENTRIES: tuple[Entry, ...] = (
    # classifiers
    Entry(
        sc.LogisticRegressionModel,
        CLASSIFIER,
        "LogisticRegression",
        _spark_free(convert_logistic_regression),
        "binomial and multinomial (K=2 multinomial collapses to w1−w0); threshold 0.5",
        _probe_classifier(convert_logistic_regression),
    ),
    Entry(
        sc.LinearSVCModel,
        CLASSIFIER,
        "LinearSVC",
        _spark_free(convert_linear_svc),
        "threshold 0",
        _probe_classifier(convert_linear_svc),
    ),
    Entry(
        sc.NaiveBayesModel,
        CLASSIFIER,
        "MultinomialNB / BernoulliNB / GaussianNB / ComplementNB",
        _spark_free(convert_naive_bayes),
        "multinomial, bernoulli, gaussian, complement",
        _probe_classifier(convert_naive_bayes),
    ),
    Entry(
        sc.MultilayerPerceptronClassificationModel,
        CLASSIFIER,
        "MLPClassifier",
        _spark_free(convert_mlp),
        "logistic hidden layers, softmax output",
        _probe_classifier(convert_mlp),
    ),
    Entry(
        sc.DecisionTreeClassificationModel,
        CLASSIFIER,
        "DecisionTreeClassifier",
        convert_decision_tree,
        _TREES,
        reject_class_thresholds,
    ),
    Entry(
        sc.RandomForestClassificationModel,
        CLASSIFIER,
        "RandomForestClassifier",
        convert_random_forest,
        _TREES,
        reject_class_thresholds,
    ),
    Entry(
        sc.GBTClassificationModel,
        CLASSIFIER,
        "GradientBoostingClassifier",
        convert_gbt,
        _TREES,
        reject_class_thresholds,
    ),
    Entry(
        sc.OneVsRestModel,
        CLASSIFIER,
        "OneVsRestClassifier",
        _one_vs_rest,
        "bases LinearSVC, binomial LogisticRegression, GBT, FMClassifier, multinomial, "
        "bernoulli or gaussian NaiveBayes",
        probe_one_vs_rest,
    ),
    Entry(
        sc.FMClassificationModel,
        CLASSIFIER,
        "PolynomialFeatures + LogisticRegression",
        _spark_free(convert_fm_classifier),
        "pairwise terms as interaction features; at most 200 inputs; threshold 0.5",
        probe_fm,
    ),
    # regressors
    Entry(
        sr.LinearRegressionModel,
        REGRESSOR,
        "LinearRegression",
        _no_reader(convert_linear_regression),
        "any loss and regularisation",
    ),
    Entry(
        sr.GeneralizedLinearRegressionModel,
        REGRESSOR,
        "LinearRegression / Poisson-, Gamma-, TweedieRegressor / TransformedTargetRegressor",
        _no_reader(convert_glm),
        "links identity, log, logit, probit, cloglog, inverse, sqrt, power 1/p ∈ ±1, ±2, ±½ "
        "(ufuncs; mean clamped as Spark); no offsetCol",
        convert_glm,
    ),
    Entry(
        sr.FMRegressionModel,
        REGRESSOR,
        "PolynomialFeatures + LinearRegression",
        _no_reader(convert_fm_regressor),
        "pairwise terms as interaction features; at most 200 inputs",
        probe_fm,
    ),
    Entry(
        sr.IsotonicRegressionModel,
        REGRESSOR,
        "IsotonicRegression (clip)",
        _no_reader(convert_isotonic),
        "isotonic or antitonic; featureIndex of a vector; clamped outside the boundaries",
        convert_isotonic,
    ),
    Entry(
        sr.DecisionTreeRegressionModel,
        REGRESSOR,
        "DecisionTreeRegressor",
        convert_decision_tree_regressor,
        _TREES,
    ),
    Entry(
        sr.RandomForestRegressionModel,
        REGRESSOR,
        "RandomForestRegressor",
        convert_random_forest_regressor,
        _TREES,
    ),
    Entry(
        sr.GBTRegressionModel, REGRESSOR, "GradientBoostingRegressor", convert_gbt_regressor, _TREES
    ),
    # clusterers
    Entry(
        sk.KMeansModel,
        CLUSTERER,
        "KMeans",
        convert_kmeans,
        "euclidean, or cosine as euclidean to unit centres; predict returns the cluster id",
        convert_kmeans,
    ),
    # vector stages (after the VectorAssembler)
    Entry(
        sf.StandardScalerModel,
        VECTOR,
        "StandardScaler + MinMaxScaler steps",
        convert_standard_scaler,
        "Spark's zero-variance arithmetic",
        convert_standard_scaler,
    ),
    Entry(
        sf.MinMaxScalerModel,
        VECTOR,
        "StandardScaler + MinMaxScaler steps",
        convert_min_max_scaler,
        "constant columns → midpoint, as Spark",
        convert_min_max_scaler,
    ),
    Entry(
        sf.MaxAbsScalerModel,
        VECTOR,
        "MinMaxScaler step (x · 1/maxAbs)",
        convert_max_abs_scaler,
        "an all-zero column stays 0",
        convert_max_abs_scaler,
    ),
    Entry(
        sf.Normalizer, VECTOR, "Normalizer", convert_normalizer, "p = 1, 2, inf", convert_normalizer
    ),
    Entry(
        sf.Binarizer,
        VECTOR,
        "Binarizer",
        convert_binarizer,
        "on the vector, threshold >= 0",
        convert_binarizer,
    ),
    Entry(
        sf.RobustScalerModel,
        VECTOR,
        "StandardScaler + MinMaxScaler steps",
        convert_robust_scaler,
        "Spark's median and range; zero range → 0, as Spark",
        convert_robust_scaler,
    ),
    Entry(
        sf.ElementwiseProduct,
        VECTOR,
        "MinMaxScaler step (x · scalingVec)",
        convert_elementwise_product,
        "Spark's weights, one multiply per value",
        convert_elementwise_product,
    ),
    Entry(
        sf.PCAModel,
        VECTOR,
        "PCA (mean_ = 0)",
        convert_pca,
        "x · pc, not centred, as Spark",
        convert_pca,
    ),
    Entry(
        sf.VectorSlicer,
        VECTOR,
        "FunctionTransformer(numpy.take)",
        convert_vector_slicer,
        "indices in their order; names refused",
        probe_vector_slicer,
    ),
    Entry(
        sf.ChiSqSelectorModel,
        VECTOR,
        "FunctionTransformer(numpy.take)",
        convert_selector,
        "selected features in ascending index order, as Spark",
    ),
    Entry(
        sf.UnivariateFeatureSelectorModel,
        VECTOR,
        "FunctionTransformer(numpy.take)",
        convert_selector,
        "selected features in ascending index order, as Spark",
    ),
    Entry(
        sf.VarianceThresholdSelectorModel,
        VECTOR,
        "FunctionTransformer(numpy.take)",
        convert_selector,
        "selected features in ascending index order, as Spark",
    ),
    Entry(
        sf.VectorIndexerModel,
        VECTOR,
        "ColumnTransformer of TargetEncoder / OrdinalEncoder tables",
        convert_vector_indexer,
        "Spark's categoryMaps; handleInvalid error or keep (skip refused)",
        probe_vector_indexer,
    ),
    Entry(
        sf.PolynomialExpansion,
        VECTOR,
        "PolynomialFeatures + FunctionTransformer(numpy.take)",
        convert_polynomial_expansion,
        "Spark's term order; at most 10000 outputs; NaN/inf next to a 0 input differ",
        needs_width=True,
    ),
    # column stages (before the VectorAssembler)
    Entry(
        sf.ImputerModel, COLUMN, "SimpleImputer", notes="mean, median, mode; custom missingValue"
    ),
    Entry(
        sf.StringIndexerModel,
        COLUMN,
        "OrdinalEncoder",
        notes="handleInvalid keep or error (skip refused); also the label's indexer",
    ),
    Entry(
        sf.OneHotEncoderModel,
        COLUMN,
        "OneHotEncoder",
        notes="every dropLast / handleInvalid combination",
    ),
    Entry(
        sf.Bucketizer,
        COLUMN,
        "FunctionTransformer(nan_to_num, digitize) + OrdinalEncoder",
        notes="also a fitted QuantileDiscretizer; inputCol(s); handleInvalid keep or error "
        "(skip refused); out-of-range values raise, as in Spark",
        probe=check_bucketizer,
    ),
    Entry(
        sf.Tokenizer,
        COLUMN,
        "CountVectorizer(token_pattern, strip_accents=re.sub)",
        notes="Java's split on ASCII whitespace, empty tokens included; linear time",
    ),
    Entry(
        sf.RegexTokenizer,
        COLUMN,
        "CountVectorizer(token_pattern)",
        notes="one character class (e.g. \\s+, \\W+, [^a-z]+), gaps or not, minTokenLength >= 1",
        probe=check_regex_tokenizer,
    ),
    Entry(
        sf.StopWordsRemover,
        COLUMN,
        "CountVectorizer(stop_words)",
        notes="before NGram; case-insensitive only on lowercased tokens",
    ),
    Entry(sf.NGram, COLUMN, "CountVectorizer(ngram_range=(n, n))", notes="after the remover"),
    Entry(
        sf.CountVectorizerModel,
        COLUMN,
        "CountVectorizer(vocabulary)",
        notes="binary; minTF 1 only",
        probe=check_count_vectorizer,
    ),
    Entry(
        sf.IDFModel,
        COLUMN,
        "TfidfTransformer(norm=None), idf_ = Spark's idf",
        notes="after a CountVectorizerModel",
    ),
    # wiring
    Entry(
        sf.VectorAssembler,
        STRUCTURE,
        "ColumnTransformer column order",
        notes="handleInvalid error or keep",
        probe=_assembler_probe,
    ),
    Entry(sf.IndexToString, STRUCTURE, "classes_", notes="only as the decoder of the prediction"),
    # refused: no exact stock scikit-learn form
    Entry(sf.SQLTransformer, REFUSED, "—", notes="arbitrary SQL has no scikit-learn equivalent"),
    Entry(
        sf.HashingTF,
        REFUSED,
        "—",
        notes="Spark's MurmurHash3 term indices differ from sklearn's HashingVectorizer",
    ),
    Entry(
        sf.FeatureHasher,
        REFUSED,
        "—",
        notes="Spark's MurmurHash3 feature indices differ from sklearn's FeatureHasher",
    ),
    Entry(sf.Word2VecModel, REFUSED, "—", notes="no word-embedding transformer in sklearn"),
    Entry(
        sr_rec.ALSModel,
        REFUSED,
        "—",
        notes="recommendations are stored as factors, not exported as an estimator",
    ),
    Entry(
        sk.LocalLDAModel,
        REFUSED,
        "—",
        notes="Spark's variational LDA inference differs from sklearn's",
    ),
    Entry(
        sk.DistributedLDAModel,
        REFUSED,
        "—",
        notes="Spark's variational LDA inference differs from sklearn's",
    ),
    Entry(
        sk.GaussianMixtureModel,
        REFUSED,
        "—",
        notes="Spark sums weight·density + 2.2e-16 in linear space (rows far from every "
        "component underflow to a uniform posterior, cluster 0); GaussianMixture works in "
        "log space",
    ),
    Entry(
        sk.BisectingKMeansModel,
        REFUSED,
        "—",
        notes="Spark descends its bisection tree (the closer of two child centres per "
        "level), not the nearest leaf centre; those oblique splits have no exact sklearn "
        "tree (axis-aligned, float32 thresholds)",
    ),
)

BY_CLASS: dict[type, Entry] = {entry.spark: entry for entry in ENTRIES}


def lookup(stage: Any) -> Entry | None:
    """The entry for the stage's exact class (subclasses are not assumed to behave alike)."""
    return BY_CLASS.get(type(stage))


def types(*roles: str) -> tuple[type, ...]:
    """The Spark classes registered under ``roles``."""
    return tuple(entry.spark for entry in ENTRIES if entry.role in roles)


def role(stage: Any) -> str | None:
    entry = lookup(stage)
    return entry.role if entry is not None else None


def problem(stage: Any) -> str | None:
    """Why the stage cannot be exported, judged from its class and parameters; else None."""
    entry = lookup(stage)
    if entry is None:
        return f"{describe(stage)} has no exact scikit-learn mapping"
    if entry.role == REFUSED:
        return f"{describe(stage)} has no exact scikit-learn mapping ({entry.notes})"
    if entry.probe is not None:
        try:
            entry.probe(stage)
        except UnsupportedStage as exc:
            return str(exc)
    return None


def problems(stages: Iterable[Any]) -> list[str]:
    """Every stage's problem, in pipeline order."""
    return [found for stage in stages if (found := problem(stage)) is not None]


def _converter(model: Any, roles: tuple[str, ...]) -> Callable[..., Any]:
    entry = lookup(model)
    if entry is None or entry.role not in roles or entry.convert is None:
        raise UnsupportedStage(problem(model) or f"{describe(model)} is not a {roles[0]}")
    return entry.convert


def convert_classifier(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    """Map one fitted Spark classifier onto its sklearn counterpart."""
    return _converter(model, (CLASSIFIER,))(model, classes, reader)


def convert_regressor(model: Any, reader: TreeReader) -> Any:
    """Map one fitted Spark regressor onto its sklearn counterpart."""
    return _converter(model, (REGRESSOR,))(model, reader)


def convert_clusterer(model: Any) -> Any:
    """Map one fitted Spark clustering model onto its sklearn counterpart."""
    return _converter(model, (CLUSTERER,))(model)


def convert_feature_stage(stage: Any, width: int | None = None) -> list[Step]:
    """Map one vector stage onto zero or more sklearn pipeline steps.

    ``width``: how many values the stage reads (see ``widths``); required by the
    stages registered with ``needs_width``.
    """
    if isinstance(stage, sf.VectorAssembler):
        return []  # only fixes the column order
    convert = _converter(stage, (VECTOR,))
    if not BY_CLASS[type(stage)].needs_width:
        return convert(stage)
    if width is None:
        raise UnsupportedStage(f"{describe(stage)}: the width of its input is unknown")
    return convert(stage, width)


def coverage_table() -> str:
    """The coverage table of docs/export.md (Markdown), one row per registered class."""
    lines = ["| Spark class | role | scikit-learn | notes |", "| --- | --- | --- | --- |"]
    for entry in ENTRIES:
        lines.append(
            f"| `{entry.spark.__name__}` | {entry.role} | {entry.sklearn} | {entry.notes} |"
        )
    return "\n".join(lines)
