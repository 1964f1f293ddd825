"""Every model family builds a pipeline that fits and predicts (binary-only ones via OneVsRest)."""

from __future__ import annotations

import numpy as np
import pytest

from spark_jobs.train.models import BINARY_ONLY, build_pipeline

from ..conftest import settings

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def tiny(spark):
    from pyspark.ml.linalg import Vectors

    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        label = i % 3
        x = rng.random(4) * 0.2
        x[label] += 0.8  # one informative feature per class
        rows.append((float(label), Vectors.dense(x)))
    return spark.createDataFrame(rows, ["label", "features"]).persist()


@pytest.mark.parametrize(
    ("model", "scaler"),
    [("lr", "standard"), ("svc", "none"), ("nb", "none"), ("mlp", "minmax"), ("dt", "none"),
     ("rf", "none"), ("gbt", "none")],
)  # fmt: skip
def test_family_fits_and_predicts(tiny, model, scaler):
    classes = 3
    frame = tiny
    s = settings(model=model, scaler=scaler, max_iter=10, num_trees=3, max_depth=3, layers=(5,))
    pipeline = build_pipeline(s, 4, classes)
    wrapped = type(pipeline.getStages()[-1]).__name__ == "OneVsRest"
    assert wrapped == (model in BINARY_ONLY)
    fitted = pipeline.fit(frame)
    predictions = fitted.transform(frame).select("label", "prediction").collect()
    accuracy = np.mean([r.label == r.prediction for r in predictions])
    assert accuracy > 0.8, f"{model} learned nothing: {accuracy}"


def test_default_family_is_logistic_regression(spark):
    stages = build_pipeline(settings(), 4, 3).getStages()
    assert [type(s).__name__ for s in stages] == ["LogisticRegression"]
