"""Bodies bounded by kind (issue 11, item 5): JSON smaller than uploads, values per request,
and tensor shapes numpy cannot represent answered 400 instead of 500."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from serving import create_app
from serving.oip import HEADER_LENGTH
from serving.settings import Settings

from .conftest import png_bytes
from .helpers import assert_problem, binary_request

JSON_LIMIT, VALUES = 20_000, 1_000


@pytest.fixture(scope="module")
def small_limits(session_store):
    app = create_app(
        session_store.config(default_model="mnist", max_json_bytes=JSON_LIMIT, max_values=VALUES)
    )
    return app.test_client()


def test_json_limit_is_smaller_than_the_upload_limit_by_default():
    defaults = Settings()
    assert defaults.max_json_bytes * 4 <= defaults.max_body_bytes


def test_json_body_over_the_json_limit_is_413(small_limits):
    body = json.dumps({"instances": [[0.0] * 784] * 20}).encode()
    assert len(body) > JSON_LIMIT
    for url in ("/predict", "/v1/models/mnist:predict", "/v2/models/mnist/infer"):
        response = small_limits.post(url, data=body, content_type="application/json")
        detail = assert_problem(response, 413, "body-too-large")["detail"]
        assert "SERVING_MAX_JSON_BYTES" in detail


def test_upload_larger_than_the_json_limit_is_accepted(small_limits, digit):
    pixels, label = digit
    data = png_bytes(pixels) + b"\x00" * JSON_LIMIT  # trailing bytes after IEND are ignored
    files = {"file": (io.BytesIO(data), "digit.png", "image/png")}
    response = small_limits.post("/predict", data=files, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["digit"] == label


def test_binary_tensor_bytes_are_not_json(session_store):
    client = create_app(session_store.config(max_json_bytes=JSON_LIMIT)).test_client()
    body, headers = binary_request(session_store.images[:10])  # ~31 kB of tensor data
    assert len(body) > JSON_LIMIT
    response = client.post("/v2/models/mnist/infer", data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_binary_json_header_over_the_json_limit_is_413(small_limits):
    header = json.dumps({"inputs": [], "id": "x" * JSON_LIMIT}).encode()
    response = small_limits.post(
        "/v2/models/mnist/infer", data=header, headers={HEADER_LENGTH: str(len(header))}
    )
    assert_problem(response, 413, "body-too-large")


def test_chunked_json_is_cut_at_the_json_limit(small_limits):
    body = json.dumps({"instances": [[0.0] * 784] * 20}).encode()
    response = small_limits.post(
        "/predict",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as Gunicorn sets for chunked
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("url", "doc"),
    [
        ("/predict", {"instances": [[0.0] * 784] * 2}),
        ("/predict", {"pixels": [[0.0] * 28] * 28 + [[0.0] * 28] * 28}),
        ("/v1/models/mnist:predict", {"instances": [[0.0] * 784] * 2}),
        (
            "/v2/models/mnist/infer",
            {"inputs": [{"name": "input", "shape": [2, 784], "datatype": "FP32",
                         "data": [0.0] * 1568}]},
        ),
    ],
)  # fmt: skip
def test_too_many_values_json(small_limits, url, doc):
    response = small_limits.post(url, json=doc)
    assert "SERVING_MAX_VALUES" in assert_problem(response, 413, "too-many-values")["detail"]


def test_too_many_values_binary_refused_before_conversion(small_limits):
    body, headers = binary_request(np.zeros((2, 784)))
    response = small_limits.post("/v2/models/mnist/infer", data=body, headers=headers)
    assert_problem(response, 413, "too-many-values")


def test_values_within_the_limit_are_served(small_limits, session_store):
    response = small_limits.post("/predict", json={"pixels": session_store.images[0].tolist()})
    assert response.status_code == 200


@pytest.mark.parametrize("dims", [9, 65, 100])
def test_tensor_with_too_many_dimensions_is_400(client, dims):
    doc = {"inputs": [{"name": "input", "shape": [1] * dims, "datatype": "FP32", "data": [0.5]}]}
    response = client.post("/v2/models/mnist/infer", json=doc)
    assert "dimensions" in assert_problem(response, 400, "invalid-shape")["detail"]
