"""New model types, exported from Spark and served in-process: the answers are Spark's.

A GLM with the logit link (nested TransformedTargetRegressor), an FM regressor
(PolynomialFeatures pipeline) and a cosine KMeans (clusterer) go through ``export_model``,
a signed artifact and ``create_app``; ``/invocations``, V1 and V2 must answer what Spark's
``transform`` gives for the same rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.ml import clustering as sk
from pyspark.ml import regression as sr

import artifacts
from serving import create_app
from spark_jobs.export import export_model

from .helpers import tabular_pipeline

pytestmark = pytest.mark.spark

MODELS = {
    "glm-logit": lambda: sr.GeneralizedLinearRegression(labelCol="k", family="binomial"),
    "fm": lambda: sr.FMRegressor(labelCol="y", factorSize=2, maxIter=20, stepSize=0.05, seed=1),
    "cosine": lambda: sk.KMeans(k=3, seed=1, maxIter=10, distanceMeasure="cosine"),
}
V2_TYPES = {"colour": "BYTES", "size": "FP64", "count": "INT64"}


@pytest.fixture(scope="module")
def served(mixed, tmp_path_factory):
    """Every model exported and saved in one signed store; the app and Spark's answers."""
    root = tmp_path_factory.mktemp("exported")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    signer = artifacts.load_signer(key)
    expected = {}
    for name, factory in MODELS.items():
        estimator = factory()
        label = estimator.getLabelCol() if estimator.hasParam("labelCol") else "label"
        model = tabular_pipeline(estimator).fit(mixed.train)
        result = export_model(model, mixed.test, label_col=label)
        artifacts.save(result.estimator, root / "store", name, version="1", signer=signer,
                       input_schema=result.input_schema, output_schema=result.output_schema,
                       parity=result.parity)  # fmt: skip
        expected[name] = [r["prediction"] for r in model.transform(mixed.test).collect()]
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in (r.asDict() for r in mixed.test.select(*V2_TYPES).collect())
    ]
    config = {"model_store": root / "store", "verify_key_file": key, "auth_enabled": False,
              "rate_limit_enabled": False, "reload_interval": 0}  # fmt: skip
    return create_app(config).test_client(), records, expected


@pytest.mark.parametrize("name", list(MODELS))
def test_invocations_and_v1_answer_what_spark_predicts(served, name):
    client, records, expected = served
    reply = client.post(f"/invocations?model={name}", json={"dataframe_records": records})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    invocations = reply.get_json()["predictions"]
    reply = client.post(f"/v1/models/{name}:predict", json={"instances": records})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    v1 = reply.get_json()["predictions"]

    _assert_spark(name, invocations, expected[name])
    _assert_spark(name, v1, expected[name])


@pytest.mark.parametrize("name", list(MODELS))
def test_v2_answers_what_spark_predicts(served, name):
    client, records, expected = served
    keep = [i for i, r in enumerate(records) if r["count"] is not None]  # INT64 has no null
    rows = [records[i] for i in keep]
    inputs = [
        {"name": n, "datatype": d, "shape": [len(rows)], "data": [r[n] for r in rows]}
        for n, d in V2_TYPES.items()
    ]
    reply = client.post(f"/v2/models/{name}/infer", json={"inputs": inputs})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    (output,) = reply.get_json()["outputs"]

    assert output["datatype"] == ("INT64" if name == "cosine" else "FP64")
    _assert_spark(name, output["data"], [expected[name][i] for i in keep])


def _assert_spark(name, got, want):
    if name == "cosine":
        assert got == [int(v) for v in want]
        assert all(isinstance(v, int) for v in got)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
