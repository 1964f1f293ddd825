"""POST /predict (seed contract + JSON) and the V1 endpoints, including every bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from serving import create_app

from .conftest import png_bytes
from .helpers import assert_problem


def upload(client, data: bytes, query: str = "", field: str = "file"):
    return client.post(f"/predict{query}", data={field: (io.BytesIO(data), "digit.png")})


def test_seed_contract_upload_returns_the_digit(client, digit):
    pixels, label = digit
    response = upload(client, png_bytes(pixels))
    assert response.status_code == 200
    body = response.get_json()
    assert body["digit"] == label
    assert body["model"] == "mnist"
    assert body["version"] == "2"  # latest
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0)
    assert int(np.argmax(body["probabilities"])) == body["digit"]


def test_dark_on_light_rgba_photo_style_upload(client, digit):
    pixels, label = digit
    image = Image.fromarray(((1 - pixels.reshape(28, 28)) * 255).astype(np.uint8))
    image = image.resize((280, 280)).convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert upload(client, buffer.getvalue()).get_json()["digit"] == label


def test_json_pixels_and_instances(client, session_store):
    rows = session_store.images[:5]
    single = client.post("/predict", json={"pixels": rows[0].tolist()})
    assert single.status_code == 200
    assert single.get_json()["digit"] == int(np.argmax(single.get_json()["probabilities"]))
    batch = client.post("/predict", json={"instances": rows.tolist()})
    assert batch.status_code == 200
    predictions = batch.get_json()["predictions"]
    assert predictions[0]["digit"] == single.get_json()["digit"]
    assert len(predictions) == 5


def test_nested_28x28_pixels_are_accepted(client, digit):
    pixels, label = digit
    response = client.post("/predict", json={"pixels": pixels.reshape(28, 28).tolist()})
    assert response.get_json()["digit"] == label


def test_model_and_version_selection(client, digit):
    pixels, _ = digit
    response = upload(client, png_bytes(pixels), "?model=mnist&version=1")
    assert (response.get_json()["model"], response.get_json()["version"]) == ("mnist", "1")
    tabular = client.post("/predict?model=tabular", json={"pixels": [0.9, 0.1, 0.2, 0.3]})
    assert tabular.get_json()["digit"] == "high"


def test_v1_predict_and_status(client, session_store):
    rows = session_store.images[:3].tolist()
    response = client.post("/v1/models/mnist:predict", json={"instances": rows})
    assert response.status_code == 200
    assert len(response.get_json()["predictions"]) == 3
    versioned = client.post("/v1/models/mnist/versions/1:predict", json={"instances": rows})
    assert versioned.get_json() == response.get_json()
    assert client.get("/v1/models/mnist").get_json()["ready"] is True
    tabular = client.post("/v1/models/tabular:predict", json={"instances": [[0.1, 0, 0, 0]]})
    assert tabular.get_json() == {"predictions": ["low"]}


ROW = [0.0] * 784


@pytest.mark.parametrize(
    ("kwargs", "status", "slug"),
    [
        ({"data": {"image": (io.BytesIO(b"x"), "a.png")}}, 400, "missing-field"),
        ({"data": {"file": (io.BytesIO(b"plain text"), "a.png")}}, 400, "not-an-image"),
        ({"data": {"file": (io.BytesIO(b""), "a.png")}}, 400, "missing-field"),
        ({"json": {"pixels": ROW[:783]}}, 400, "invalid-shape"),
        ({"json": {"pixels": [*ROW, 0.0]}}, 400, "invalid-shape"),
        ({"json": {"pixels": []}}, 400, "invalid-shape"),
        ({"json": {"pixels": "0,0,0"}}, 400, "invalid-shape"),
        ({"json": {"pixels": ["a"] * 784}}, 400, "invalid-datatype"),
        ({"json": {"pixels": [None] * 784}}, 400, "non-finite"),
        ({"json": {"instances": [ROW, ROW[:10]]}}, 400, "invalid-datatype"),
        ({"json": {"instances": [[ROW, ROW]]}}, 400, "invalid-shape"),
        ({"json": {"pixels": [2.0] * 784}}, 400, "out-of-range"),
        ({"json": {"pixels": [-1.0] * 784}}, 400, "out-of-range"),
        ({"json": {"nothing": 1}}, 400, "missing-field"),
        ({"json": [1, 2, 3]}, 400, "invalid-json"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid-json"),
        ({"data": '{"pixels": [NaN]}', "content_type": "application/json"}, 400, "invalid-json"),
        ({"data": '{"pixels": [1e999]}', "content_type": "application/json"}, 400, "invalid-json"),
        ({"data": "pixels=1", "content_type": "text/plain"}, 415, "unsupported-media-type"),
        ({}, 415, "unsupported-media-type"),
    ],
)
def test_bad_input_is_a_4xx_problem(client, kwargs, status, slug):
    assert_problem(client.post("/predict", **kwargs), status, slug)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_on_v1(client, value):
    body = json.dumps({"instances": [ROW]}).replace("0.0", value, 1)
    response = client.post("/v1/models/mnist:predict", data=body, content_type="application/json")
    assert_problem(response, 400, "invalid-json")


@pytest.mark.parametrize(
    ("url", "status", "slug"),
    [
        ("/predict?model=nope", 404, "model-not-found"),
        ("/predict?model=mnist&version=9", 404, "version-not-found"),
        ("/v1/models/nope:predict", 404, "model-not-found"),
        ("/v1/models/mnist/versions/9:predict", 404, "version-not-found"),
    ],
)
def test_unknown_model_or_version_is_404(client, url, status, slug):
    body = assert_problem(client.post(url, json={"instances": [ROW]}), status, slug)
    assert "mnist" in body["detail"]  # says what is served instead


def test_image_upload_to_a_tabular_model(client, digit):
    assert_problem(upload(client, png_bytes(digit[0]), "?model=tabular"), 400, "bad-request")


def test_unsupported_image_format(client):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="ICO")
    assert_problem(upload(client, buffer.getvalue()), 415, "unsupported-image-format")


def test_truncated_image(client, digit):
    data = png_bytes(np.random.default_rng(1).random(784))
    assert_problem(upload(client, data[: len(data) - 40]), 400, "truncated-image")


def test_decompression_bomb(client):
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")  # small file, 25 Mpx
    assert_problem(upload(client, buffer.getvalue()), 413, "image-too-large")


def test_batch_over_the_limit(session_store):
    app = create_app(session_store.config(max_batch=4))
    response = app.test_client().post("/predict", json={"instances": [ROW] * 5})
    body = assert_problem(response, 413, "batch-too-large")
    assert "limit is 4" in body["detail"]


def test_body_over_the_limit(session_store, digit):
    app = create_app(session_store.config(max_body_bytes=2000))
    client = app.test_client()
    body = assert_problem(upload(client, b"\x00" * 5000), 413, "body-too-large")
    assert "2000" in body["detail"]
    big_json = client.post("/v1/models/mnist:predict", json={"instances": [ROW, ROW]})
    assert_problem(big_json, 413, "body-too-large")


def test_method_and_route_errors_are_problems(client):
    assert_problem(client.get("/predict"), 405, "method-not-allowed")
    assert_problem(client.get("/no/such/route"), 404, "not-found")
