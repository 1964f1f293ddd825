"""MLlib pipelines, one per model family, built from the job settings.

Each pipeline is ``[optional scaler] → classifier`` on ``features``/``label``, using only
stages the exporter can translate to scikit-learn. MLlib's LinearSVC and GBT classifiers are
binary; for more classes they are wrapped in ``OneVsRest``.
"""

from __future__ import annotations

from pyspark.ml import Pipeline
from pyspark.ml import classification as cls
from pyspark.ml.feature import MinMaxScaler, StandardScaler

from spark_jobs.settings import JobSettings

SCALED = "scaled_features"
BINARY_ONLY = ("svc", "gbt")
"""Families MLlib fits for two classes only; more classes are wrapped in ``OneVsRest``."""


def _classifier(settings: JobSettings, features: str, num_features: int, num_classes: int):
    s = settings
    common = {"featuresCol": features, "labelCol": "label"}
    if s.model == "lr":
        return cls.LogisticRegression(
            maxIter=s.max_iter,
            regParam=s.reg_param,
            elasticNetParam=s.elastic_net,
            family="multinomial" if num_classes > 2 else "auto",
            **common,
        )
    if s.model == "svc":
        svc = cls.LinearSVC(maxIter=s.max_iter, regParam=s.reg_param, **common)
        return svc if num_classes <= 2 else cls.OneVsRest(classifier=svc, **common)
    if s.model == "nb":
        return cls.NaiveBayes(modelType="multinomial", smoothing=s.smoothing, **common)
    if s.model == "mlp":
        layers = [num_features, *s.layers, num_classes]
        return cls.MultilayerPerceptronClassifier(
            layers=layers, maxIter=s.max_iter, stepSize=s.step_size, seed=s.seed, **common
        )
    if s.model == "dt":
        return cls.DecisionTreeClassifier(
            maxDepth=s.max_depth, maxBins=s.max_bins, seed=s.seed, **common
        )
    if s.model == "rf":
        return cls.RandomForestClassifier(
            numTrees=s.num_trees, maxDepth=s.max_depth, maxBins=s.max_bins, seed=s.seed, **common
        )
    gbt = cls.GBTClassifier(
        maxIter=s.max_iter,
        maxDepth=s.max_depth,
        maxBins=s.max_bins,
        stepSize=s.step_size,
        seed=s.seed,
        **common,
    )
    return gbt if num_classes <= 2 else cls.OneVsRest(classifier=gbt, **common)


def build_pipeline(settings: JobSettings, num_features: int, num_classes: int) -> Pipeline:
    """The unfitted pipeline for ``settings.model``; ``num_classes`` = max label + 1."""
    stages = []
    features = "features"
    if settings.scaler == "standard":
        stages.append(StandardScaler(inputCol=features, outputCol=SCALED, withMean=True))
        features = SCALED
    elif settings.scaler == "minmax":
        stages.append(MinMaxScaler(inputCol=features, outputCol=SCALED))
        features = SCALED
    stages.append(_classifier(settings, features, num_features, num_classes))
    return Pipeline(stages=stages)
