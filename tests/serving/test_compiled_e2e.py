"""/invocations answers byte for byte the same with the compiled tabular path as without it."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from serving import create_app
from tests.serving.conftest import PENGUIN_ROW

ISLANDS = ["Biscoe", "Dream", "Torgersen", "Ærø", None, "Atlantis"]


def many_rows(n: int) -> list[dict]:
    rng = np.random.default_rng(3)
    return [
        {
            **PENGUIN_ROW,
            "bill_length": None if i % 9 == 0 else float(rng.uniform(20, 70)),
            "visits": int(rng.integers(0, 12)),
            "island": ISLANDS[i % len(ISLANDS)],
            "member": None if i % 5 == 0 else bool(i % 2),
            "plan": "basic" if i % 4 else "pro",
        }
        for i in range(n)
    ]


ROWS = many_rows(256)
JSON_BODIES = [
    {"dataframe_records": [PENGUIN_ROW]},
    {"dataframe_records": ROWS},
    {"dataframe_split": {"columns": list(PENGUIN_ROW), "data": [list(r.values()) for r in ROWS]}},
    {"instances": ROWS[:7]},
    {"inputs": {name: [r[name] for r in ROWS[:5]] for name in PENGUIN_ROW}},
    {"dataframe_records": [{"visits": 1, "plan": "pro"}]},  # nullable columns left out
    {"dataframe_records": [{**PENGUIN_ROW, "plan": "gold"}]},  # refused: 400
    {"dataframe_records": [{**PENGUIN_ROW, "visits": None, "island": 3}]},  # refused: 400
]
CSV = (
    "bill_length,visits,island,member,plan\n"
    "41.5,3,Dream,true,pro\n,0,,,basic\n60,9,Mars,false,pro\n"
)


@pytest.fixture(scope="module")
def clients(tabular_store):
    compiled = create_app(tabular_store.config(default_model="penguins"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("artifacts.runtime.model.compile_tabular", lambda *args: None)
        plain = create_app(tabular_store.config(default_model="penguins"))
    return compiled.test_client(), plain.test_client()


def test_tabular_models_are_compiled(clients):
    compiled, plain = clients
    for client, expected in ((compiled, True), (plain, False)):
        with client.application.app_context():
            from serving.state import server_state

            snapshot = server_state().registry.snapshot
            assert snapshot.get("penguins").fast_path is expected
            assert snapshot.get("bills").fast_path is expected


@pytest.mark.parametrize("model", ["penguins", "bills", "numeric"])
@pytest.mark.parametrize("body", range(len(JSON_BODIES)))
def test_json_replies_are_identical(clients, model, body):
    doc = JSON_BODIES[body]
    if model == "numeric":
        doc = {"dataframe_records": [{"a": r["bill_length"], "b": r["visits"]} for r in ROWS]}
    replies = [
        client.post(f"/invocations?model={model}", data=orjson.dumps(doc), headers=JSON)
        for client in clients
    ]
    assert replies[0].status_code == replies[1].status_code
    assert replies[0].get_data() == replies[1].get_data()


def test_csv_and_v1_v2_replies_are_identical(clients):
    compiled, plain = clients
    for path, kwargs in (
        ("/invocations", {"data": CSV, "headers": {"Content-Type": "text/csv"}}),
        ("/v1/models/penguins:predict", {"json": {"instances": ROWS[:20]}}),
        ("/v1/models/bills:predict", {"json": {"instances": ROWS[:20]}}),
    ):
        first, second = compiled.post(path, **kwargs), plain.post(path, **kwargs)
        assert first.status_code == second.status_code == 200, first.get_data()
        assert first.get_data() == second.get_data()


JSON = {"Content-Type": "application/json"}
