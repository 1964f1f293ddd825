"""A clusterer (the exporter's KMeans) served by column name: cluster ids on every protocol."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

import artifacts
from artifacts.runtime import tabular
from serving import create_app
from tests.serving.conftest import PENGUIN_ROW, PENGUIN_SCHEMA, penguin_frame, penguin_pipeline

ROWS = [PENGUIN_ROW, {**PENGUIN_ROW, "bill_length": 58.0, "island": None, "plan": "basic"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("clusters")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    frame, _, _ = penguin_frame(200)
    model = penguin_pipeline(KMeans(n_clusters=3, n_init=3, random_state=0)).fit(frame)
    artifacts.save(
        model,
        root / "store",
        "segments",
        version="1",
        signer=artifacts.load_signer(key),
        input_schema=PENGUIN_SCHEMA,
        output_schema=artifacts.OutputSchema(
            "clustering", target={"type": "long", "range": [0, 2]}
        ),
    )
    config = {"model_store": root / "store", "verify_key_file": key, "auth_enabled": False,
              "rate_limit_enabled": False, "reload_interval": 0}  # fmt: skip
    expected = model.predict(tabular.from_records(ROWS, PENGUIN_SCHEMA)).tolist()
    return create_app(config).test_client(), expected


def test_invocations_answer_cluster_ids(served):
    client, expected = served
    reply = client.post("/invocations", json={"dataframe_records": ROWS})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json() == {"predictions": expected}
    assert all(isinstance(v, int) for v in reply.get_json()["predictions"])


def test_v1_answers_cluster_ids(served):
    client, expected = served
    reply = client.post("/v1/models/segments:predict", json={"instances": ROWS})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["predictions"] == expected


def test_v2_answers_int64_cluster_ids(served):
    client, expected = served
    datatypes = {"bill_length": "FP64", "visits": "INT64", "island": "BYTES",
                 "member": "BOOL", "plan": "BYTES"}  # fmt: skip
    inputs = [
        {"name": n, "datatype": d, "shape": [len(ROWS)], "data": [r.get(n) for r in ROWS]}
        for n, d in datatypes.items()
    ]
    reply = client.post("/v2/models/segments/infer", json={"inputs": inputs})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    (output,) = reply.get_json()["outputs"]
    assert output["datatype"] == "INT64"
    assert output["data"] == expected
    meta = client.get("/v2/models/segments").get_json()
    assert meta["parameters"]["task"] == "clustering"
    assert np.array(expected).max() <= 2
