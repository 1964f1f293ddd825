"""Every model family builds a pipeline that fits and predicts; binary-only families are guarded."""

from __future__ import annotations

import numpy as np
import pytest

from spark_jobs.errors import UsageError
from spark_jobs.job import _check_fit
from spark_jobs.models import BINARY_ONLY, build_pipeline
from spark_jobs.sources import Dataset

from .conftest import settings

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
    classes = 2 if model in BINARY_ONLY else 3
    frame = tiny.where(f"label < {classes}")
    s = settings(model=model, scaler=scaler, max_iter=10, num_trees=3, max_depth=3, layers=(5,))
    fitted = build_pipeline(s, 4, classes).fit(frame)
    predictions = fitted.transform(frame).select("label", "prediction").collect()
    accuracy = np.mean([r.label == r.prediction for r in predictions])
    assert accuracy > 0.8, f"{model} learned nothing: {accuracy}"


def test_binary_only_families_refuse_multiclass_data_before_fitting(tiny):
    data = Dataset(tiny, "src", "csv", False, [0.0, 1.0, 2.0], 4, 0.0, None, 60)
    for model in BINARY_ONLY:
        with pytest.raises(UsageError, match="binary"):
            _check_fit(settings(model=model), data)
    _check_fit(settings(model="lr"), data)
