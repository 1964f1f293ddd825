"""The exporter's contract cases: one small fitted pipeline per registered Spark class.

Like scikit-learn's estimator checks, every converter goes through the same harness
(``test_export_contract``): fit on a small table, add edge rows, export, and compare the
export with Spark's own ``transform`` on every row. A case names the Spark classes it
covers; a test fails when a registered class has no case, so a new converter cannot land
without one.

Edge rows for vector data: all zeros, all negative (where the model accepts negatives),
large magnitudes, and — for tree models — a row exactly at every split threshold Spark
chose (read from Spark's own ``toDebugString``), where ``<=`` decides the branch. Column
data gets its edges (gaps, unseen categories, bucket splits, messy text) from the
exporter's own edge rows, which every export adds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import clustering as sk
from pyspark.ml import feature as sf
from pyspark.ml import regression as sr

N_FEATURES = 6
SPLIT = re.compile(r"feature (\d+) <= (-?[\d.]+(?:E-?\d+)?)")
MAX_TIES = 12


@dataclass(frozen=True)
class Case:
    """``stages`` (unfitted) fitted on ``data``; ``covers``: the fitted classes it proves."""

    name: str
    covers: tuple[type, ...]
    data: str
    stages: Callable[[], list[Any]]
    edges: tuple[str, ...] = ("zeros", "negative", "large")
    export: dict[str, Any] = field(default_factory=dict)


def _lr(**kw: Any) -> Any:
    return sc.LogisticRegression(maxIter=15, **kw)


def _vec(stage: Any, model: Any = None) -> Callable[[], list[Any]]:
    """A vector stage reading ``features`` and writing ``v``, then a model on ``v``."""
    return lambda: [stage(), model() if model else _lr(featuresCol="v")]


_POSITIVE = ("zeros", "large")
_TREE = ("zeros", "negative", "large", "ties")

CASES: tuple[Case, ...] = (
    # classifiers
    Case("lr-binomial", (sc.LogisticRegressionModel,), "binary", lambda: [_lr()]),
    Case("lr-multinomial", (sc.LogisticRegressionModel,), "multi", lambda: [_lr()]),
    Case("linear-svc", (sc.LinearSVCModel,), "binary", lambda: [sc.LinearSVC(maxIter=10)]),
    Case("nb-multinomial", (sc.NaiveBayesModel,), "positive", lambda: [sc.NaiveBayes()],
         _POSITIVE),
    Case("nb-complement", (sc.NaiveBayesModel,), "positive",
         lambda: [sc.NaiveBayes(modelType="complement")], _POSITIVE),
    Case("nb-bernoulli", (sc.NaiveBayesModel,), "binary01",
         lambda: [sc.NaiveBayes(modelType="bernoulli")], ("zeros",)),
    Case("nb-gaussian", (sc.NaiveBayesModel,), "multi",
         lambda: [sc.NaiveBayes(modelType="gaussian")]),
    Case("mlp", (sc.MultilayerPerceptronClassificationModel,), "multi",
         lambda: [sc.MultilayerPerceptronClassifier(layers=[N_FEATURES, 5, 3], maxIter=30,
                                                    seed=1)]),
    Case("decision-tree", (sc.DecisionTreeClassificationModel,), "multi",
         lambda: [sc.DecisionTreeClassifier(maxDepth=4, seed=1)], _TREE),
    Case("random-forest", (sc.RandomForestClassificationModel,), "multi",
         lambda: [sc.RandomForestClassifier(numTrees=3, maxDepth=3, seed=1)], _TREE),
    Case("gbt", (sc.GBTClassificationModel,), "binary",
         lambda: [sc.GBTClassifier(maxIter=4, maxDepth=2, seed=1)], _TREE),
    Case("one-vs-rest", (sc.OneVsRestModel,), "multi",
         lambda: [sc.OneVsRest(classifier=_lr())]),
    Case("fm-classifier", (sc.FMClassificationModel,), "binary",
         lambda: [sc.FMClassifier(factorSize=2, maxIter=20, seed=1)]),
    # regressors
    Case("linear-regression", (sr.LinearRegressionModel,), "regression",
         lambda: [sr.LinearRegression(regParam=0.1)]),
    Case("glm-poisson", (sr.GeneralizedLinearRegressionModel,), "counts",
         lambda: [sr.GeneralizedLinearRegression(family="poisson", maxIter=10)]),
    Case("glm-binomial-probit", (sr.GeneralizedLinearRegressionModel,), "binary",
         lambda: [sr.GeneralizedLinearRegression(family="binomial", link="probit",
                                                 maxIter=10)]),
    Case("fm-regressor", (sr.FMRegressionModel,), "regression",
         lambda: [sr.FMRegressor(factorSize=2, maxIter=20, seed=1)]),
    Case("isotonic", (sr.IsotonicRegressionModel,), "regression",
         lambda: [sr.IsotonicRegression(featureIndex=2)], _TREE[:-1]),
    Case("tree-regressor", (sr.DecisionTreeRegressionModel,), "regression",
         lambda: [sr.DecisionTreeRegressor(maxDepth=4, seed=1)], _TREE),
    Case("forest-regressor", (sr.RandomForestRegressionModel,), "regression",
         lambda: [sr.RandomForestRegressor(numTrees=3, maxDepth=3, seed=1)], _TREE),
    Case("gbt-regressor", (sr.GBTRegressionModel,), "regression",
         lambda: [sr.GBTRegressor(maxIter=4, maxDepth=2, seed=1)], _TREE),
    # clusterers
    Case("kmeans", (sk.KMeansModel,), "multi", lambda: [sk.KMeans(k=3, seed=1, maxIter=10)]),
    Case("kmeans-cosine", (sk.KMeansModel,), "multi",
         lambda: [sk.KMeans(k=3, seed=1, maxIter=10, distanceMeasure="cosine")],
         ("negative", "large")),  # Spark refuses a zero vector under the cosine distance
    # vector stages
    Case("standard-scaler", (sf.StandardScalerModel,), "binary",
         _vec(lambda: sf.StandardScaler(inputCol="features", outputCol="v", withMean=True))),
    Case("min-max-scaler", (sf.MinMaxScalerModel,), "binary",
         _vec(lambda: sf.MinMaxScaler(inputCol="features", outputCol="v"))),
    Case("max-abs-scaler", (sf.MaxAbsScalerModel,), "binary",
         _vec(lambda: sf.MaxAbsScaler(inputCol="features", outputCol="v"))),
    Case("robust-scaler", (sf.RobustScalerModel,), "binary",
         _vec(lambda: sf.RobustScaler(inputCol="features", outputCol="v", withCentering=True))),
    Case("normalizer", (sf.Normalizer,), "binary",
         _vec(lambda: sf.Normalizer(p=2.0, inputCol="features", outputCol="v"))),
    Case("binarizer", (sf.Binarizer,), "binary",
         _vec(lambda: sf.Binarizer(threshold=0.25, inputCol="features", outputCol="v"))),
    Case("elementwise-product", (sf.ElementwiseProduct,), "binary",
         _vec(lambda: sf.ElementwiseProduct(
             scalingVec=[0.5, -2.0, 0.0, 1.0, 3.0, 1e-3], inputCol="features", outputCol="v"))),
    Case("pca", (sf.PCAModel,), "binary", _vec(lambda: sf.PCA(k=3, inputCol="features",
                                                              outputCol="v"))),
    Case("vector-slicer", (sf.VectorSlicer,), "binary",
         _vec(lambda: sf.VectorSlicer(indices=[4, 0, 2], inputCol="features", outputCol="v"))),
    Case("chi-sq-selector", (sf.ChiSqSelectorModel,), "binary01",
         _vec(lambda: sf.ChiSqSelector(numTopFeatures=3, featuresCol="features",
                                       outputCol="v")), ("zeros",)),
    Case("univariate-selector", (sf.UnivariateFeatureSelectorModel,), "binary",
         _vec(lambda: sf.UnivariateFeatureSelector(
             selectionMode="numTopFeatures", featuresCol="features", outputCol="v",
         ).setFeatureType("continuous").setLabelType("categorical").setSelectionThreshold(3))),
    Case("variance-selector", (sf.VarianceThresholdSelectorModel,), "binary",
         _vec(lambda: sf.VarianceThresholdSelector(varianceThreshold=0.5,
                                                   featuresCol="features", outputCol="v"))),
    Case("polynomial-expansion", (sf.PolynomialExpansion,), "binary",
         _vec(lambda: sf.PolynomialExpansion(degree=2, inputCol="features", outputCol="v"))),
    Case("vector-indexer-tree", (sf.VectorIndexerModel, sc.DecisionTreeClassificationModel),
         "categorical",
         _vec(lambda: sf.VectorIndexer(maxCategories=4, inputCol="features", outputCol="v",
                                       handleInvalid="keep"),
              lambda: sc.DecisionTreeClassifier(featuresCol="v", maxDepth=4, seed=1)),
         ("zeros",)),
    # column stages (named columns of the mixed table; text documents)
    Case("tabular-lr", (sf.ImputerModel, sf.StringIndexerModel, sf.OneHotEncoderModel,
                        sf.VectorAssembler), "mixed", lambda: "tabular", ()),
    Case("bucketizer", (sf.Bucketizer,), "mixed", lambda: "bucketized", ()),
    Case("label-decoding", (sf.StringIndexerModel, sf.IndexToString), "mixed",
         lambda: "decoded", ()),
    Case("text-tfidf", (sf.Tokenizer, sf.StopWordsRemover, sf.NGram, sf.CountVectorizerModel,
                        sf.IDFModel), "text", lambda: "tfidf", ()),
    Case("text-regex", (sf.RegexTokenizer, sf.CountVectorizerModel), "text",
         lambda: "regex", ()),
    Case("text-selected", (sf.RegexTokenizer, sf.ChiSqSelectorModel), "text",
         lambda: "selected", ()),  # a vector stage straight after a column stage
)  # fmt: skip


def vector_data(kind: str, n: int = 160, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A small table of ``N_FEATURES`` columns and a label/target for ``kind``."""
    from sklearn.datasets import make_classification

    classes = 3 if kind in ("multi", "categorical") else 2
    x, y = make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=4, n_redundant=1,
        n_classes=classes, random_state=seed,
    )  # fmt: skip
    if kind == "positive":
        x = np.abs(x)
    elif kind == "binary01":
        x = (x > 0).astype(float)
    elif kind == "categorical":  # two low-cardinality columns for VectorIndexer
        x[:, 1] = np.digitize(x[:, 1], [-1.0, 0.0, 1.0])
        x[:, 3] = (x[:, 3] > 0.3).astype(float) * 2
    elif kind == "regression":
        y = x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0, -0.3]) + 0.1 * np.sin(7 * x[:, 0])
    elif kind == "counts":
        y = np.random.default_rng(seed).poisson(np.exp(0.3 * x[:, 0] - 0.2 * x[:, 1] + 0.5))
    return x, y.astype(float)


def edge_rows(kind: str, edges: tuple[str, ...], template: np.ndarray) -> list[np.ndarray]:
    rows = []
    if "zeros" in edges:
        rows.append(np.zeros(N_FEATURES))
    if "negative" in edges and kind not in ("positive", "binary01", "categorical"):
        rows.append(np.full(N_FEATURES, -3.0))
    if "large" in edges and kind not in ("binary01", "categorical"):
        rows.append(np.abs(template) * 50 + 1)
    return rows


def tie_rows(fitted: Any, template: np.ndarray) -> list[np.ndarray]:
    """Copies of ``template`` with one feature exactly at each of Spark's split thresholds."""
    final = fitted.stages[-1]
    found = sorted({(int(f), float(t)) for f, t in SPLIT.findall(final.toDebugString)})
    rows = []
    for feature, threshold in found[:MAX_TIES]:
        row = template.copy()
        row[feature] = threshold
        rows.append(row)
    return rows


def column_pipeline(recipe: str) -> tuple[Pipeline, str]:
    """Named-column pipelines over the mixed table or the text documents, and the label."""
    from .helpers import tabular_pipeline

    if recipe == "tabular":
        return tabular_pipeline(_lr(labelCol="k"), extra=("flag",)), "k"
    if recipe == "bucketized":
        stages = [
            sf.Imputer(inputCols=["size"], outputCols=["size_imp"]),
            sf.Bucketizer(splits=[-float("inf"), 8.0, 10.0, 12.0, float("inf")],
                          inputCol="size_imp", outputCol="size_bin", handleInvalid="keep"),
            sf.VectorAssembler(inputCols=["size_bin"], outputCol="features"),
            _lr(labelCol="k"),
        ]  # fmt: skip
        return Pipeline(stages=stages), "k"
    if recipe == "decoded":
        indexer = sf.StringIndexer(inputCol="s", outputCol="s_idx")
        stages = [
            sf.Imputer(inputCols=["size", "count"], outputCols=["size_imp", "count_imp"]),
            indexer,
            sf.VectorAssembler(inputCols=["size_imp", "count_imp"], outputCol="features"),
            _lr(labelCol="s_idx"),
        ]
        return Pipeline(stages=stages), "s"
    tokenizer = (
        sf.Tokenizer(inputCol="text", outputCol="tokens")
        if recipe == "tfidf"
        else sf.RegexTokenizer(inputCol="text", outputCol="tokens", pattern="\\W+")
    )
    stages = [tokenizer]
    words = "tokens"
    if recipe == "tfidf":
        stages += [
            sf.StopWordsRemover(inputCol="tokens", outputCol="kept", stopWords=["the", "a"]),
            sf.NGram(n=1, inputCol="kept", outputCol="grams"),
        ]
        words = "grams"
    stages.append(sf.CountVectorizer(inputCol=words, outputCol="counts", vocabSize=40))
    counts = "counts"
    if recipe == "selected":
        stages.append(sf.ChiSqSelector(numTopFeatures=5, featuresCol="counts", outputCol="top"))
        counts = "top"
    if recipe == "tfidf":
        stages.append(sf.IDF(inputCol="counts", outputCol="tfidf"))
        counts = "tfidf"
    stages.append(_lr(featuresCol=counts, labelCol="label"))
    return Pipeline(stages=stages), "label"


def decoded_stage(fitted: Any) -> Any:
    """The IndexToString decoding the predicted index of the label-decoding case."""
    indexer = fitted.stages[1]
    return sf.IndexToString(inputCol="prediction", outputCol="decoded", labels=indexer.labels)
