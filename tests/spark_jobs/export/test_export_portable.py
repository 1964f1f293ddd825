"""An exported artifact must load and predict where neither this project nor pyspark is."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from pyspark.ml import regression as sr

from spark_jobs.export import export_model
from spark_jobs.export.frame import to_frame

from .helpers import tabular_pipeline

pytestmark = pytest.mark.spark

# Runs under `python -I` (no cwd, no PYTHONPATH on sys.path) and additionally refuses to
# import spark_jobs or pyspark, so an editable install cannot mask a dependency.
LOADER = textwrap.dedent(
    """
    import importlib.abc, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("spark_jobs", "pyspark", "py4j"):
                raise ImportError("refused import of " + name)
            return None

    sys.meta_path.insert(0, Refuse())
    import joblib, numpy as np, pandas as pd
    model_path, x_path, out_path = sys.argv[1:4]
    estimator = joblib.load(model_path)
    x = pd.read_pickle(x_path) if x_path.endswith(".pkl") else np.load(x_path)
    outputs = {"labels": estimator.predict(x)}
    if hasattr(estimator, "predict_proba"):
        outputs["proba"] = estimator.predict_proba(x)
    np.savez(out_path, **outputs)
    """
)

PIPELINES = [
    pytest.param(
        "tabular_multi",
        lambda: [
            sf.StandardScaler(inputCol="features", outputCol="scaled", withMean=True),
            sc.LogisticRegression(featuresCol="scaled", maxIter=10),
        ],
        id="standardscaler-lr",
    ),
    pytest.param(
        "tabular_binary",
        lambda: [
            sf.MinMaxScaler(inputCol="features", outputCol="scaled"),
            sc.GBTClassifier(featuresCol="scaled", maxIter=4, maxDepth=3, seed=1),
        ],
        id="minmaxscaler-gbt",
    ),
]


@pytest.mark.parametrize(("data", "stages"), PIPELINES, indirect=["data"])
def test_dumped_estimator_predicts_without_the_project(tmp_path, data, stages):
    model = Pipeline(stages=stages()).fit(data.train)
    result = export_model(model, data.test)
    x = np.vstack([r["features"].toArray() for r in data.test.collect()])
    joblib.dump(result.estimator, tmp_path / "model.joblib.gz", compress=("gzip", 3))
    np.save(tmp_path / "x.npy", x)

    subprocess.run(
        [sys.executable, "-I", "-c", LOADER, str(tmp_path / "model.joblib.gz"),
         str(tmp_path / "x.npy"), str(tmp_path / "out.npz")],
        check=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip

    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(out["labels"], result.estimator.predict(x))
    np.testing.assert_array_equal(out["proba"], result.estimator.predict_proba(x))


def _run_loader(tmp_path, estimator, x_file) -> dict:
    joblib.dump(estimator, tmp_path / "model.joblib.gz", compress=("gzip", 3))
    subprocess.run(
        [sys.executable, "-I", "-c", LOADER, str(tmp_path / "model.joblib.gz"),
         str(x_file), str(tmp_path / "out.npz")],
        check=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    return dict(np.load(tmp_path / "out.npz", allow_pickle=True))


TABULAR = [
    pytest.param(lambda: sc.GBTClassifier(labelCol="k", maxIter=3, maxDepth=2, seed=1), "k",
                 id="tabular-gbt-classifier"),
    pytest.param(lambda: sr.RandomForestRegressor(labelCol="y", numTrees=3, maxDepth=3, seed=1),
                 "y", id="tabular-rf-regressor"),
    pytest.param(lambda: sr.GeneralizedLinearRegression(labelCol="pos", family="poisson"), "pos",
                 id="tabular-poisson-glm"),
]  # fmt: skip


@pytest.mark.parametrize(("factory", "label"), TABULAR)
def test_tabular_pipeline_predicts_from_a_dataframe_without_the_project(
    tmp_path, mixed, factory, label
):
    model = tabular_pipeline(factory(), extra=("flag",)).fit(mixed.train)
    result = export_model(model, mixed.test, label_col=label)
    frame, _ = to_frame(mixed.test, result.input_schema)
    frame.loc[0, "colour"] = "never seen"  # the keep bucket, outside this project too
    frame.to_pickle(tmp_path / "x.pkl")

    out = _run_loader(tmp_path, result.estimator, tmp_path / "x.pkl")

    np.testing.assert_array_equal(out["labels"], result.estimator.predict(frame))
    if "proba" in out:
        np.testing.assert_array_equal(out["proba"], result.estimator.predict_proba(frame))


def test_loader_really_refuses_the_project(tmp_path):
    """Guard for the test above: the refusing loader cannot import spark_jobs."""
    probe = LOADER.split("import joblib")[0] + "import spark_jobs\n"
    run = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "refused import of spark_jobs" in run.stderr
