"""MLlib pipelines, one per model family, built from the job settings.

Vector data: ``[optional scaler] → classifier`` on ``features``/``label``. Tabular data: the
column stages of ``preprocessing`` (Imputer → StringIndexer → OneHotEncoder → VectorAssembler
→ optional scaler) then a classifier or regressor (``estimator``). Only stages the exporter can
translate to scikit-learn are used. MLlib's LinearSVC and GBT classifiers are
binary; for more classes they are wrapped in ``OneVsRest``.
"""

from __future__ import annotations

import dataclasses

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
    if s.model != "gbt":
        raise ValueError(f"unknown classifier family {s.model!r}")
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
    settings = dataclasses.replace(settings, model=settings.model_for("classification"))
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


# --- tabular pipelines --------------------------------------------------------------------

FEATURES = "_features"
LABEL = "_label"
_GLM_LINKS = {"gaussian": "identity", "poisson": "log", "gamma": "log", "tweedie": None}
"""GLM links: each family's canonical link, except gamma, whose canonical inverse link has no
exact scikit-learn counterpart; log is what ``GammaRegressor`` uses. Tweedie takes
``variancePower`` 1.5 with ``linkPower`` 0 (log), as ``TweedieRegressor(power=1.5)`` does."""
TWEEDIE_POWER = 1.5


def _encoded(name: str, kind: str) -> str:
    return f"_{kind}_{name}"


def preprocessing(settings: JobSettings, data) -> list:
    """Column stages for a ``TabularDataset``: label indexer, Imputer, StringIndexer,
    OneHotEncoder, VectorAssembler (features in source column order), optional scaler."""
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        StringIndexer,
        StringIndexerModel,
        VectorAssembler,
    )

    stages: list = []
    if data.task == "classification":
        stages.append(
            StringIndexerModel.from_labels(
                data.label_strings, inputCol=data.label, outputCol=LABEL, handleInvalid="error"
            )
        )
    if data.numeric:
        stages.append(
            Imputer(
                inputCols=data.numeric,
                outputCols=[_encoded(c, "num") for c in data.numeric],
                strategy=settings.impute,
            )
        )
    cats = data.categorical
    if cats:
        stages.append(
            StringIndexer(
                inputCols=cats,
                outputCols=[_encoded(c, "idx") for c in cats],
                handleInvalid="keep",
                stringOrderType="frequencyDesc",
            )
        )
        stages.append(
            OneHotEncoder(
                inputCols=[_encoded(c, "idx") for c in cats],
                outputCols=[_encoded(c, "ohe") for c in cats],
            )
        )
    inputs = [_encoded(c, "ohe" if c in cats else "num") for c in data.columns]
    assembled = "_assembled" if settings.scaler != "none" else FEATURES
    stages.append(VectorAssembler(inputCols=inputs, outputCol=assembled))
    if settings.scaler == "standard":
        stages.append(StandardScaler(inputCol=assembled, outputCol=FEATURES, withMean=True))
    elif settings.scaler == "minmax":
        stages.append(MinMaxScaler(inputCol=assembled, outputCol=FEATURES))
    return stages


def _regressor(settings: JobSettings, model: str, label: str):
    from pyspark.ml import regression as reg

    s = settings
    common = {"featuresCol": FEATURES, "labelCol": label}
    if model == "linear":
        return reg.LinearRegression(
            maxIter=s.max_iter, regParam=s.reg_param, elasticNetParam=s.elastic_net, **common
        )
    if model == "glm":
        extra = {}
        if s.family == "tweedie":
            extra = {"variancePower": TWEEDIE_POWER, "linkPower": 0.0}
        else:
            extra = {"link": _GLM_LINKS[s.family]}
        return reg.GeneralizedLinearRegression(
            family=s.family, maxIter=s.max_iter, regParam=s.reg_param, **extra, **common
        )
    if model == "dt":
        return reg.DecisionTreeRegressor(
            maxDepth=s.max_depth, maxBins=s.max_bins, seed=s.seed, **common
        )
    if model == "rf":
        return reg.RandomForestRegressor(
            numTrees=s.num_trees, maxDepth=s.max_depth, maxBins=s.max_bins, seed=s.seed, **common
        )
    return reg.GBTRegressor(
        maxIter=s.max_iter,
        maxDepth=s.max_depth,
        maxBins=s.max_bins,
        stepSize=s.step_size,
        seed=s.seed,
        **common,
    )


def estimator(settings: JobSettings, model: str, data, num_features: int):
    """The model stage for a tabular pipeline: it reads ``_features`` and, to classify,
    ``_label`` (the indexed label); a regressor reads the label column itself."""
    if data.task == "regression":
        return _regressor(settings, model, data.label)
    num_classes = len(data.classes)
    family = _classifier(
        dataclasses.replace(settings, model=model), FEATURES, num_features, num_classes
    )
    family.setLabelCol(LABEL)
    if hasattr(family, "getClassifier"):
        family.getClassifier().setLabelCol(LABEL)
    return family
