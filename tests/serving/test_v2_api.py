"""Open Inference Protocol V2 in-process: metadata, JSON and binary inference, bad requests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.oip import HEADER_LENGTH

from .helpers import assert_problem, binary_request


def tensor(rows: np.ndarray, datatype: str = "FP32", name: str = "input") -> dict:
    return {"name": name, "shape": list(rows.shape), "datatype": datatype, "data": rows.tolist()}


def test_server_endpoints(client):
    assert client.get("/v2").get_json()["extensions"] == ["binary_tensor_data"]
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").get_json() == {"ready": True}


def test_metadata_and_readiness(client):
    meta = client.get("/v2/models/mnist").get_json()
    assert meta["name"] == "mnist"
    assert meta["versions"] == ["1", "2"]
    assert meta["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, 784]}
    assert meta["outputs"][1]["shape"] == [-1, 10]
    assert client.get("/v2/models/mnist/versions/1").get_json()["versions"] == ["1"]
    assert client.get("/v2/models/mnist/ready").get_json()["ready"] is True
    assert client.get("/v2/models/mnist/versions/1/ready").status_code == 200
    tabular = client.get("/v2/models/tabular").get_json()
    assert tabular["outputs"][0]["datatype"] == "BYTES"


def test_json_inference(client, session_store):
    rows = session_store.images[:4]
    response = client.post("/v2/models/mnist/infer", json={"id": "a", "inputs": [tensor(rows)]})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("mnist", "2", "a")
    label, probabilities = body["outputs"]
    assert label == {"name": "label", "datatype": "INT64", "shape": [4], "data": label["data"]}
    assert probabilities["shape"] == [4, 10]
    grid = np.array(probabilities["data"]).reshape(4, 10)
    assert label["data"] == grid.argmax(axis=1).tolist()


def test_28x28_tensor_and_integer_dtypes(client, digit):
    pixels, label = digit
    image = pixels.reshape(1, 28, 28)
    response = client.post("/v2/models/mnist/infer", json={"inputs": [tensor(image, "FP64")]})
    assert response.get_json()["outputs"][0]["data"] == [label]
    zeros = np.zeros((1, 784), dtype=np.uint8)
    ok = client.post("/v2/models/mnist/infer", json={"inputs": [tensor(zeros, "UINT8")]})
    assert ok.status_code == 200


def test_binary_inference_and_requested_outputs(client, session_store):
    rows = session_store.images[:8]
    body, headers = binary_request(rows, [{"name": "label", "parameters": {"binary_data": True}}])
    response = client.post("/v2/models/mnist/infer", data=body, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    size = int(response.headers[HEADER_LENGTH])
    raw = response.get_data()
    doc = json.loads(raw[:size])
    assert [o["name"] for o in doc["outputs"]] == ["label"]
    labels = np.frombuffer(raw[size:], dtype="<i8")
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == labels.nbytes
    json_response = client.post("/v2/models/mnist/infer", json={"inputs": [tensor(rows)]})
    assert labels.tolist() == json_response.get_json()["outputs"][0]["data"]


def test_binary_bytes_labels(client):
    rows = np.array([[0.9, 0, 0, 0], [0.1, 0, 0, 0]])
    body, headers = binary_request(rows, [{"name": "label", "parameters": {"binary_data": True}}])
    response = client.post("/v2/models/tabular/infer", data=body, headers=headers)
    raw = response.get_data()[int(response.headers[HEADER_LENGTH]) :]
    assert raw == b"\x04\x00\x00\x00high\x03\x00\x00\x00low"


ROW = np.zeros((1, 784))


@pytest.mark.parametrize(
    ("doc", "slug"),
    [
        ({"inputs": []}, "invalid-shape"),
        ({"inputs": [tensor(ROW), tensor(ROW)]}, "invalid-shape"),
        ({"inputs": "x"}, "invalid-shape"),
        ({"inputs": [tensor(ROW, "BYTES")]}, "invalid-datatype"),
        ({"inputs": [tensor(ROW, "BOOL")]}, "invalid-datatype"),
        ({"inputs": [tensor(np.zeros((1, 10)))]}, "invalid-shape"),
        ({"inputs": [{**tensor(ROW), "shape": [1, 783]}]}, "invalid-shape"),
        ({"inputs": [{**tensor(ROW), "shape": [1, -784]}]}, "invalid-shape"),
        ({"inputs": [{**tensor(ROW), "data": None}]}, "invalid-shape"),
        ({"inputs": [{**tensor(ROW), "data": ["x"] * 784}]}, "invalid-datatype"),
        ({"inputs": [{**tensor(ROW), "name": 3}]}, "invalid-shape"),
        ({"inputs": [tensor(ROW + 2)]}, "out-of-range"),
        ({"inputs": [tensor(ROW)], "outputs": [{"name": "logits"}]}, "invalid-shape"),
        ([1, 2], "invalid-shape"),
    ],
)
def test_bad_json_requests(client, doc, slug):
    response = client.post("/v2/models/mnist/infer", json=doc)
    body = assert_problem(response, 400, slug)
    assert body["error"] == body["detail"]  # what tritonclient shows its users


def test_bad_binary_requests(client):
    body, headers = binary_request(ROW)
    url = "/v2/models/mnist/infer"
    assert_problem(client.post(url, data=body[:-4], headers=headers), 400, "invalid-shape")
    assert_problem(client.post(url, data=body + b"xx", headers=headers), 400, "bad-request")
    for length in ("abc", "0", str(len(body) + 1)):
        response = client.post(url, data=body, headers={HEADER_LENGTH: length})
        assert_problem(response, 400, "bad-request")
    assert_problem(client.post(url, data=b"\xff\xfe", headers={}), 400, "invalid-json")


def test_non_finite_binary_values(client):
    rows = ROW.copy()
    rows[0, 5] = np.inf
    body, headers = binary_request(rows)
    response = client.post("/v2/models/mnist/infer", data=body, headers=headers)
    assert_problem(response, 400, "non-finite")


def test_unknown_model_and_version(client):
    assert_problem(client.get("/v2/models/nope"), 404, "model-not-found")
    assert_problem(client.get("/v2/models/mnist/versions/7/ready"), 404, "version-not-found")
    response = client.post("/v2/models/nope/infer", json={"inputs": [tensor(ROW)]})
    assert_problem(response, 404, "model-not-found")
