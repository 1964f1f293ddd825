"""An empty batch and an absurd shape are the client's mistake on every protocol (issue 27,
item 6): 400 problem+json naming the problem, never a 500 from the model or from numpy."""

from __future__ import annotations

import pytest

from .conftest import PENGUIN_ROW

HUGE = 2**62
V2_DATATYPE = {str: "BYTES", bool: "BOOL", int: "INT64", float: "FP64"}


def v2_matrix(shape: list[int]) -> dict:
    return {"inputs": [{"name": "input", "shape": shape, "datatype": "FP32", "data": []}]}


def v2_columns(shape: list[int]) -> dict:
    return {
        "inputs": [
            {"name": name, "shape": shape, "datatype": V2_DATATYPE[type(value)], "data": []}
            for name, value in PENGUIN_ROW.items()
        ]
    }


IMAGE_CASES = [
    ("/v2/models/mnist/infer", v2_matrix([0, 784])),
    ("/v2/models/mnist/infer", v2_matrix([HUGE, 0])),
    ("/v2/models/mnist/infer", v2_matrix([0, HUGE])),
    ("/v2/models/mnist/infer", v2_matrix([HUGE, HUGE, 0])),
    ("/v1/models/mnist:predict", {"instances": []}),
    ("/v1/models/mnist:predict", {"instances": [[]]}),
    ("/predict", {"pixels": []}),
    ("/invocations", {"instances": []}),
    ("/invocations", {"inputs": []}),
    ("/invocations", {"inputs": [[]]}),
    ("/invocations", {"dataframe_split": {"data": []}}),
]
TABULAR_CASES = [
    ("/v2/models/penguins/infer", v2_columns([0])),
    ("/v2/models/penguins/infer", v2_columns([HUGE, 0])),
    ("/v2/models/penguins/infer", v2_columns([0, HUGE])),
    ("/v1/models/penguins:predict", {"instances": []}),
    ("/invocations", {"dataframe_records": []}),
    ("/invocations", {"dataframe_split": {"columns": list(PENGUIN_ROW), "data": []}}),
    ("/invocations", {"instances": []}),
    ("/invocations", {"inputs": {name: [] for name in PENGUIN_ROW}}),
]


def assert_refused(response) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]


@pytest.mark.parametrize(("path", "body"), IMAGE_CASES)
def test_image_model(client, path, body):
    assert_refused(client.post(path, json=body))


@pytest.mark.parametrize(("path", "body"), TABULAR_CASES)
def test_tabular_model(tabular_client, path, body):
    assert_refused(tabular_client.post(path, json=body))


def test_empty_csv(tabular_client):
    header = ",".join(PENGUIN_ROW) + "\n"
    response = tabular_client.post("/invocations", data=header, content_type="text/csv")
    assert_refused(response)


def test_absurd_shape_is_named(client):
    body = client.post("/v2/models/mnist/infer", json=v2_matrix([HUGE, 0])).get_json()
    assert str(HUGE) in body["detail"]
