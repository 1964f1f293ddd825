"""Tabular models on KServe V1 (row objects) and Open Inference Protocol V2 (one input per column,
as MLServer's pandas codec sends a DataFrame)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.oip import HEADER_LENGTH
from tests.serving.conftest import PENGUIN_ROW

ROW2 = {**PENGUIN_ROW, "bill_length": 55.0, "island": "Biscoe", "member": False}
DATATYPES = {
    "bill_length": "FP64",
    "visits": "INT64",
    "island": "BYTES",
    "member": "BOOL",
    "plan": "BYTES",
}


def v1(client, name, instances):
    return client.post(f"/v1/models/{name}:predict", json={"instances": instances})


def columns_request(rows, shape_suffix=(1,)) -> dict:
    return {
        "inputs": [
            {
                "name": name,
                "datatype": datatype,
                "shape": [len(rows), *shape_suffix],
                "data": [row.get(name) for row in rows],
            }
            for name, datatype in DATATYPES.items()
        ]
    }


@pytest.fixture
def labels(tabular_client):
    reply = v1(tabular_client, "penguins", [PENGUIN_ROW, ROW2])
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["predictions"]


def test_v1_row_objects_and_positional_rows(tabular_client, labels):
    assert all(isinstance(label, str) for label in labels)
    positional = [list(PENGUIN_ROW.values()), list(ROW2.values())]
    assert v1(tabular_client, "penguins", positional).get_json() == {"predictions": labels}


def test_v1_regression_and_numeric_models(tabular_client):
    (value,) = v1(tabular_client, "bills", [PENGUIN_ROW]).get_json()["predictions"]
    assert isinstance(value, float)
    reply = v1(tabular_client, "numeric", [{"a": 0.9, "b": 2}, {"a": 0.1, "b": None}])
    assert reply.status_code == 400  # b had no nulls in training
    assert reply.get_json()["problems"] == [
        {"field": "b", "row": 1, "message": "null in a column that had no nulls in training"}
    ]
    rows = [{"a": 0.9, "b": 2}, {"a": 0.1, "b": 1}, {"a": None, "b": 1}]
    predictions = v1(tabular_client, "numeric", rows).get_json()["predictions"]
    assert predictions[:2] == [1, 0]
    assert predictions[2] in (0, 1)


def test_v1_validation_lists_every_problem(tabular_client):
    reply = v1(tabular_client, "penguins", [{**PENGUIN_ROW, "visits": "3", "plan": 1, "x": 0}])
    assert reply.status_code == 400
    assert {p["field"] for p in reply.get_json()["problems"]} == {"visits", "plan", "x"}


def test_predict_endpoint_takes_row_objects_too(tabular_client):
    reply = tabular_client.post("/predict?model=bills", json={"instances": [PENGUIN_ROW]})
    assert reply.status_code == 200
    assert isinstance(reply.get_json()["predictions"][0]["prediction"], float)
    pixels = tabular_client.post("/predict?model=penguins", json={"pixels": [1, 2]})
    assert pixels.status_code == 400


def test_v2_metadata_lists_columns(tabular_client):
    meta = tabular_client.get("/v2/models/penguins").get_json()
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == list(DATATYPES.items())
    island = meta["inputs"][2]
    assert island["shape"] == [-1, 1]
    assert island["parameters"]["content_type"] == "str"
    assert "Ærø" in island["parameters"]["categories"]
    assert meta["parameters"]["content_type"] == "pd"
    assert [o["name"] for o in meta["outputs"]] == ["label", "probabilities"]
    assert meta["outputs"][0]["datatype"] == "BYTES"
    bills = tabular_client.get("/v2/models/bills").get_json()
    assert bills["outputs"] == [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]


@pytest.mark.parametrize("suffix", [(1,), ()])
def test_v2_one_input_per_column(tabular_client, labels, suffix):
    reply = tabular_client.post(
        "/v2/models/penguins/infer", json=columns_request([PENGUIN_ROW, ROW2], suffix)
    )
    assert reply.status_code == 200, reply.get_json()
    outputs = {o["name"]: o for o in reply.get_json()["outputs"]}
    assert outputs["label"]["data"] == labels
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["probabilities"]["shape"] == [2, 3]


def test_v2_nulls_in_columns(tabular_client):
    row = {**PENGUIN_ROW, "bill_length": None, "island": None, "member": None}
    reply = tabular_client.post("/v2/models/penguins/infer", json=columns_request([row]))
    assert reply.status_code == 200, reply.get_json()


def test_v2_regression_output(tabular_client):
    reply = tabular_client.post("/v2/models/bills/infer", json=columns_request([PENGUIN_ROW]))
    (output,) = reply.get_json()["outputs"]
    assert output["name"] == "predictions"
    assert output["datatype"] == "FP64"
    assert isinstance(output["data"][0], float)


def test_v2_binary_bytes_and_numbers(tabular_client, labels):
    """The binary extension: BYTES elements length-prefixed, numbers raw little-endian."""
    rows = [PENGUIN_ROW, ROW2]
    inputs, chunks = [], []
    for name, datatype in DATATYPES.items():
        values = [row[name] for row in rows]
        if datatype == "BYTES":
            raw = b"".join(len(v.encode()).to_bytes(4, "little") + v.encode() for v in values)
        else:
            dtype = {"FP64": "<f8", "INT64": "<i8", "BOOL": "?"}[datatype]
            raw = np.asarray(values, dtype=dtype).tobytes()
        chunks.append(raw)
        inputs.append(
            {
                "name": name,
                "datatype": datatype,
                "shape": [2, 1],
                "parameters": {"binary_data_size": len(raw)},
            }
        )
    header = json.dumps({"inputs": inputs}).encode()
    reply = tabular_client.post(
        "/v2/models/penguins/infer",
        data=header + b"".join(chunks),
        headers={HEADER_LENGTH: str(len(header)), "Content-Type": "application/octet-stream"},
    )
    assert reply.status_code == 200, reply.get_json()
    labels_out = next(o for o in reply.get_json()["outputs"] if o["name"] == "label")
    assert labels_out["data"] == labels


def test_v2_every_column_problem_at_once(tabular_client):
    doc = columns_request([PENGUIN_ROW])
    doc["inputs"][1] = {"name": "visits", "datatype": "BYTES", "shape": [1], "data": ["3"]}
    doc["inputs"].append({"name": "colour", "datatype": "BYTES", "shape": [1], "data": ["red"]})
    del doc["inputs"][4]  # plan: required
    reply = tabular_client.post("/v2/models/penguins/infer", json=doc)
    assert reply.status_code == 400
    assert {p["field"] for p in reply.get_json()["problems"]} == {"visits", "colour", "plan"}


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "island", "datatype": "BYTES", "shape": [2], "data": ["a"]},
        {"name": "island", "datatype": "BYTES", "shape": [1], "data": [3]},
        {"name": "island", "datatype": "BYTES", "shape": [1, 2], "data": [["a", "b"]]},
        {"name": "island", "datatype": "BYTES", "shape": [1]},
    ],
)
def test_v2_malformed_columns_are_400(tabular_client, spec):
    doc = columns_request([PENGUIN_ROW])
    doc["inputs"][2] = spec
    assert tabular_client.post("/v2/models/penguins/infer", json=doc).status_code == 400


def test_v2_all_numeric_table_takes_one_matrix_or_columns(tabular_client):
    matrix = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 2], "data": [0.9, 2, 0.1, 1]}]
    }
    reply = tabular_client.post("/v2/models/numeric/infer", json=matrix)
    assert reply.status_code == 200, reply.get_json()
    label = next(o for o in reply.get_json()["outputs"] if o["name"] == "label")
    assert label["data"] == [1, 0]
    assert label["datatype"] == "INT64"
    columns = {
        "inputs": [
            {"name": "a", "datatype": "FP64", "shape": [2], "data": [0.9, 0.1]},
            {"name": "b", "datatype": "INT64", "shape": [2], "data": [2, 1]},
        ]
    }
    again = tabular_client.post("/v2/models/numeric/infer", json=columns)
    assert next(o for o in again.get_json()["outputs"] if o["name"] == "label") == label
    refused = {"inputs": [{**matrix["inputs"][0], "shape": [1, 5], "data": [1] * 5}]}
    assert tabular_client.post("/v2/models/penguins/infer", json=refused).status_code == 400


def test_v2_image_models_still_take_one_fp32_tensor(client, digit):
    pixels, label = digit
    doc = {
        "inputs": [
            {"name": "input", "datatype": "FP32", "shape": [1, 784], "data": pixels.tolist()}
        ]
    }
    reply = client.post("/v2/models/mnist/infer", json=doc)
    assert next(o for o in reply.get_json()["outputs"] if o["name"] == "label")["data"] == [label]
    two = {"inputs": [doc["inputs"][0], {**doc["inputs"][0], "name": "other"}]}
    assert client.post("/v2/models/mnist/infer", json=two).status_code == 400
    text = {"inputs": [{"name": "input", "datatype": "BYTES", "shape": [1], "data": ["x"]}]}
    assert client.post("/v2/models/mnist/infer", json=text).status_code == 400
