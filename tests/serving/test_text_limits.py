"""A text column's value is capped (SERVING_MAX_TEXT_CHARS) on every protocol (issue 27, item 4).

The model is a stock scikit-learn text pipeline on a ``text`` column next to a number, signed
into a store as an export would be; the cap is set low so the requests stay small.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import artifacts
from artifacts.runtime import tabular
from serving import create_app
from serving.settings import Settings

from .helpers import assert_problem

LIMIT = 1000
SCHEMA = artifacts.InputSchema.tabular(
    [artifacts.Column("text", "string", nullable=False, text=True), artifacts.Column("x", "double")]
)


@pytest.fixture(scope="module")
def text_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-limits")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    records = [
        {"text": ("fast model " if i % 2 else "slow ") * (i % 4), "x": i / 7} for i in range(40)
    ]
    labels = np.array(["yes" if i % 2 else "no" for i in range(40)])
    columns = ColumnTransformer(
        [("text", CountVectorizer(vocabulary=["fast", "model", "slow"]), "text"),
         ("num", "passthrough", ["x"])]
    )  # fmt: skip
    model = Pipeline([("columns", columns), ("lr", LogisticRegression())])
    model.fit(tabular.from_records(records, SCHEMA), labels)
    artifacts.save(model, root / "store", "reviews", version="1",
                   signer=artifacts.load_signer(key), input_schema=SCHEMA,
                   output_schema=artifacts.OutputSchema("classification", label="label",
                                                        classes=("no", "yes")))  # fmt: skip
    config = {"model_store": root / "store", "verify_key_file": key, "auth_enabled": False,
              "rate_limit_enabled": False, "reload_interval": 0,
              "max_text_chars": LIMIT}  # fmt: skip
    return create_app(config).test_client()


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "x"])
    writer.writerows([r["text"], repr(r["x"])] for r in rows)
    return out.getvalue()


def _requests(text: str) -> list[tuple[str, dict]]:
    """(path, client.post keyword arguments) for every protocol that takes a text column."""
    rows = [{"text": "fast", "x": 1.0}, {"text": text, "x": 0.5}]
    split = {"columns": ["text", "x"], "data": [[r["text"], r["x"]] for r in rows]}
    v2 = {"inputs": [
        {"name": "text", "datatype": "BYTES", "shape": [2], "data": [r["text"] for r in rows]},
        {"name": "x", "datatype": "FP64", "shape": [2], "data": [r["x"] for r in rows]},
    ]}  # fmt: skip
    return [
        ("/invocations", {"json": {"dataframe_records": rows}}),
        ("/invocations", {"json": {"dataframe_split": split}}),
        ("/invocations", {"json": {"inputs": {"text": [r["text"] for r in rows],
                                              "x": [r["x"] for r in rows]}}}),
        ("/invocations", {"data": _csv(rows), "content_type": "text/csv"}),
        ("/v1/models/reviews:predict", {"json": {"instances": rows}}),
        ("/predict", {"json": {"instances": rows}}),
        ("/v2/models/reviews/infer", {"json": v2}),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(len(_requests(""))))
def test_text_at_the_cap_is_scored(text_client, index):
    path, kwargs = _requests("slow " * (LIMIT // 5))[index]
    reply = text_client.post(path, **kwargs)
    assert reply.status_code == 200, reply.get_data(as_text=True)


@pytest.mark.parametrize("index", range(len(_requests(""))))
def test_longer_text_is_a_400_naming_the_column(text_client, index):
    path, kwargs = _requests(" " * (LIMIT + 1))[index]
    reply = text_client.post(path, **kwargs)
    body = assert_problem(reply, 400, "schema-mismatch")
    assert "column 'text', row 1" in body["detail"]
    assert "SERVING_MAX_TEXT_CHARS" in body["detail"]
    assert body["problems"] == [
        {"field": "text", "row": 1, "message": body["problems"][0]["message"]}
    ]
    assert f"{LIMIT + 1} characters" in body["problems"][0]["message"]


def test_the_default_cap_is_far_above_real_text():
    assert Settings().max_text_chars == 100_000
