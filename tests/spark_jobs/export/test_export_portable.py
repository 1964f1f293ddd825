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

from spark_jobs.export import export_model

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
    import joblib, numpy as np
    model_path, x_path, out_path = sys.argv[1:4]
    estimator = joblib.load(model_path)
    x = np.load(x_path)
    np.savez(out_path, labels=estimator.predict(x), proba=estimator.predict_proba(x))
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


def test_loader_really_refuses_the_project(tmp_path):
    """Guard for the test above: the refusing loader cannot import spark_jobs."""
    probe = LOADER.split("import joblib")[0] + "import spark_jobs\n"
    run = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "refused import of spark_jobs" in run.stderr
