"""POST /invocations speaks MLflow's scoring protocol; /ping, /health, /version as MLflow's server.

Requests are sent the way MLflow's docs show them:
``curl -H 'Content-Type: application/json' -d '{"dataframe_records": [...]}' …/invocations``.
"""

from __future__ import annotations

import json

import pytest

from serving import create_app
from tests.serving.auth_files import write_credentials
from tests.serving.conftest import PENGUIN_ROW

COLUMNS = list(PENGUIN_ROW)
ROW2 = {**PENGUIN_ROW, "bill_length": 55.0, "island": "Biscoe", "member": False}


def invoke(client, body, content_type="application/json", query=""):
    """Exactly what curl -H 'Content-Type: …' -d '…' sends."""
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/invocations{query}", data=data, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def expected(tabular_app):
    reply = invoke(tabular_app.test_client(), {"dataframe_records": [PENGUIN_ROW, ROW2]})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["predictions"]


def test_records_answer_original_string_labels(expected):
    assert len(expected) == 2
    assert all(label in ("Adélie", "Chinstrap", "Gentoo") for label in expected)


@pytest.mark.parametrize(
    "body",
    [
        {
            "dataframe_split": {
                "columns": COLUMNS,
                "data": [list(PENGUIN_ROW.values()), list(ROW2.values())],
            }
        },
        {
            "dataframe_split": {
                "index": [7, 8],
                "columns": COLUMNS[::-1],
                "data": [list(PENGUIN_ROW.values())[::-1], list(ROW2.values())[::-1]],
            }
        },
        {"dataframe_split": {"data": [list(PENGUIN_ROW.values()), list(ROW2.values())]}},
        {"instances": [PENGUIN_ROW, ROW2]},
        {"instances": [list(PENGUIN_ROW.values()), list(ROW2.values())]},
        {"instances": {c: [PENGUIN_ROW[c], ROW2[c]] for c in COLUMNS}},
        {"inputs": {c: [PENGUIN_ROW[c], ROW2[c]] for c in COLUMNS}},
        {"inputs": [PENGUIN_ROW, ROW2]},
        {"dataframe_records": [PENGUIN_ROW, ROW2], "params": {"temperature": 0.1}},
        {"dataframe_records": [PENGUIN_ROW, ROW2], "params": None},
    ],
    ids=[
        "split",
        "split-index-reordered",
        "split-positional",
        "instances-records",
        "instances-lists",
        "instances-columns",
        "inputs-columns",
        "inputs-records",
        "params-ignored",
        "params-null",
    ],
)
def test_every_mlflow_json_format_gives_the_same_answer(tabular_client, expected, body):
    reply = invoke(tabular_client, body)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {"predictions": expected}


def test_csv_body_with_header(tabular_client, expected):
    csv = "bill_length,visits,island,member,plan\n41.5,3,Dream,true,pro\n55.0,3,Biscoe,False,pro\n"
    for content_type in ("text/csv", "text/csv; charset=utf-8"):
        reply = invoke(tabular_client, csv, content_type)
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json() == {"predictions": expected}


def test_nulls_and_unseen_keep_categories_are_scored(tabular_client):
    rows = [
        {**PENGUIN_ROW, "bill_length": None, "island": None, "member": None},
        {"visits": 1, "plan": "basic"},  # nullable columns may be left out
        {**PENGUIN_ROW, "island": "Atlantis"},  # island keeps unseen values
    ]
    reply = invoke(tabular_client, {"dataframe_records": rows})
    assert reply.status_code == 200, reply.get_json()
    assert len(reply.get_json()["predictions"]) == 3
    csv = "bill_length,visits,island,member,plan\n,2,,,basic\n"
    assert invoke(tabular_client, csv, "text/csv").status_code == 200


def test_regression_answers_floats(tabular_client):
    reply = invoke(tabular_client, {"dataframe_records": [PENGUIN_ROW]}, query="?model=bills")
    assert reply.status_code == 200
    (value,) = reply.get_json()["predictions"]
    assert isinstance(value, float)
    assert value == pytest.approx(2 * 41.5 + 3 * 3 + 10, abs=1.0)  # a linear target, fitted


def test_every_problem_is_listed_in_one_400(tabular_client):
    rows = [
        {**PENGUIN_ROW, "bill_length": "long", "visits": 2.5, "colour": "red"},
        {**PENGUIN_ROW, "plan": "gold", "member": "maybe", "visits": None},
        {"bill_length": 40.0},
    ]
    reply = invoke(tabular_client, {"dataframe_records": rows})
    assert reply.status_code == 400
    assert reply.mimetype == "application/problem+json"
    body = reply.get_json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"] == body["detail"]
    found = {(p["field"], p["row"]) for p in body["problems"]}
    assert found == {
        ("colour", None),
        ("bill_length", 0),
        ("visits", 0),
        ("plan", 1),
        ("member", 1),
        ("visits", 1),
        ("visits", 2),
        ("plan", 2),
    }
    assert body["problem_count"] == 8
    messages = " ".join(p["message"] for p in body["problems"])
    for phrase in ("unknown column", "got string", "expected an integer", "unseen category"):
        assert phrase in messages


def test_missing_required_column_and_bad_csv_cells(tabular_client):
    reply = invoke(tabular_client, {"dataframe_split": {"columns": ["bill_length"], "data": [[1]]}})
    problems = reply.get_json()["problems"]
    assert {(p["field"], p["message"]) for p in problems} >= {
        ("visits", "missing required column"),
        ("plan", "missing required column"),
    }
    csv = "bill_length,visits,island,member,plan\nabc,1,Dream,yes,pro\n"
    reply = invoke(tabular_client, csv, "text/csv")
    assert reply.status_code == 400
    assert {p["field"] for p in reply.get_json()["problems"]} == {"bill_length", "member"}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ({"dataframe_records": [PENGUIN_ROW], "instances": [PENGUIN_ROW]}, None, 400),
        ({"records": [PENGUIN_ROW]}, None, 400),
        ([PENGUIN_ROW], None, 400),
        ("{not json", None, 400),
        ({"dataframe_records": [PENGUIN_ROW], "params": [1]}, None, 400),
        ({"dataframe_records": []}, None, 400),
        ({"dataframe_records": [1, 2]}, None, 400),
        ({"dataframe_split": {"columns": COLUMNS}}, None, 400),
        ({"dataframe_split": {"data": [[1]], "orient": "split"}}, None, 400),
        ({"dataframe_split": {"data": [[1]], "index": [1, 2]}}, None, 400),
        ({"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}, None, 400),
        ({"dataframe_split": {"columns": COLUMNS, "data": [[1]]}}, None, 400),
        ({"instances": "rows"}, None, 400),
        ({"instances": [1, 2]}, None, 400),
        ({"inputs": {"visits": [1, 2], "plan": ["pro"]}}, None, 400),
        ({"dataframe_records": [PENGUIN_ROW]}, "application/json; format=pandas-split", 415),
        ({"dataframe_records": [PENGUIN_ROW]}, "application/json; charset=latin-1", 415),
        ({"dataframe_records": [PENGUIN_ROW]}, "text/plain", 415),
        ("", "text/csv", 400),
        ("bill_length\n", "text/csv", 400),
        ('a,"b\n1,2', "text/csv", 400),
    ],
)
def test_client_mistakes_are_4xx_problems_mlflow_can_read(
    tabular_client, body, content_type, status
):
    reply = invoke(tabular_client, body, content_type or "application/json")
    assert reply.status_code == status, reply.get_json()
    doc = reply.get_json()
    assert doc["status"] == status
    assert doc["error_code"] == "BAD_REQUEST"
    assert doc["message"]


def test_batch_limit(tabular_store):
    app = create_app(tabular_store.config(default_model="penguins", max_batch=2))
    reply = invoke(app.test_client(), {"dataframe_records": [PENGUIN_ROW] * 3})
    assert reply.status_code == 413
    assert reply.get_json()["error_code"] == "BAD_REQUEST"


def test_numeric_vector_model_takes_rows_and_named_columns(tabular_client):
    rows = [[0.9, 0.1, 0.1, 0.1], [0.1, 0.5, 0.5, 0.5]]
    reply = invoke(tabular_client, {"instances": rows}, query="?model=vector")
    assert reply.get_json() == {"predictions": ["high", "low"]}
    split = {"dataframe_split": {"columns": ["f0", "f1", "f2", "f3"], "data": rows}}
    assert invoke(tabular_client, split, query="?model=vector").get_json() == reply.get_json()
    records = [dict(zip(["f0", "f1", "f2", "f3"], row, strict=True)) for row in rows]
    reply = invoke(tabular_client, {"dataframe_records": records}, query="?model=vector")
    assert reply.get_json() == {"predictions": ["high", "low"]}
    csv = "f0,f1,f2,f3\n0.9,0.1,0.1,0.1\n"
    assert invoke(tabular_client, csv, "text/csv", "?model=vector").get_json() == {
        "predictions": ["high"]
    }
    short = invoke(tabular_client, {"instances": [[0.1, 0.2]]}, query="?model=vector")
    assert short.status_code == 400


def test_mnist_model_answers_digits(client, digit):
    pixels, label = digit
    reply = invoke(client, {"inputs": [pixels.tolist()]})
    assert reply.get_json() == {"predictions": [label]}


def test_ping_health_and_version(tabular_client):
    for path in ("/ping", "/health"):
        reply = tabular_client.get(path)
        assert reply.status_code == 200
    version = tabular_client.get("/version")
    assert version.status_code == 200
    assert version.get_data(as_text=True)


def test_ping_is_503_without_a_model(tmp_path, tabular_store):
    app = create_app(tabular_store.config(model_store=tmp_path / "empty"))
    assert app.test_client().get("/ping").status_code == 503


def test_invocations_needs_credentials_and_ping_does_not(tabular_store, tmp_path):
    creds = write_credentials(tmp_path / "creds")
    app = create_app(tabular_store.config(default_model="penguins", **creds.config()))
    client = app.test_client()
    assert client.get("/ping").status_code == 200
    refused = invoke(client, {"dataframe_records": [PENGUIN_ROW]})
    assert refused.status_code == 401
    assert refused.get_json()["error_code"] == "UNAUTHENTICATED"
    allowed = client.post(
        "/invocations",
        data=json.dumps({"dataframe_records": [PENGUIN_ROW]}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {creds.api_key}"},
    )
    assert allowed.status_code == 200
