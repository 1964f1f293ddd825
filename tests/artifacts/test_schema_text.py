"""The text column kind: a string column that is tokenised, not a label set."""

from __future__ import annotations

import pytest

from artifacts.errors import ManifestInvalid
from artifacts.runtime import tabular
from artifacts.schema import Column, InputSchema

SCHEMA = InputSchema.tabular(
    [
        Column("review", "string", nullable=False, text=True),
        Column("stars", "double", nullable=True, range=(1.0, 5.0)),
        Column("shop", "string", nullable=True, categories=("a", "b"), unseen="error"),
    ]
)


def test_text_column_round_trips_through_the_manifest_form():
    doc = SCHEMA.to_dict()
    assert doc["columns"][0] == {
        "name": "review",
        "type": "string",
        "nullable": False,
        "categories": [],
        "unseen": "keep",
        "text": True,
    }
    assert "text" not in doc["columns"][1]
    assert "text" not in doc["columns"][2]
    assert InputSchema.from_dict(doc) == SCHEMA


def test_manifests_without_the_key_read_as_before():
    old = {"name": "shop", "type": "string", "categories": ["a"], "unseen": "keep"}
    column = Column.from_dict(old)
    assert not column.text
    assert column.categories == ("a",)


def test_a_reader_that_ignores_text_still_gets_a_valid_open_string_column():
    """A server that predates ``text`` sees categories [] and unseen keep: any string passes."""
    doc = SCHEMA.to_dict()["columns"][0]
    legacy = Column.from_dict({k: v for k, v in doc.items() if k != "text"})
    assert legacy.categorical
    assert legacy.unseen == "keep"


@pytest.mark.parametrize(
    "doc",
    [
        {"name": "t", "type": "double", "text": True},
        {"name": "t", "type": "string", "text": True, "unseen": "error"},
    ],
)
def test_a_text_column_must_be_an_open_string_column(doc):
    with pytest.raises(ManifestInvalid, match="text column"):
        Column.from_dict(doc)


def test_any_string_is_a_valid_document_and_nulls_are_refused():
    frame = tabular.from_records(
        [
            {"review": "Great  shop!", "stars": 5, "shop": "a"},
            {"review": "", "stars": None, "shop": None},
            {"review": "never seen\u00a0words", "shop": "b"},
        ],
        SCHEMA,
    )
    assert frame["review"].tolist() == ["Great  shop!", "", "never seen\u00a0words"]
    with pytest.raises(tabular.SchemaMismatch) as caught:
        tabular.from_records([{"review": None, "stars": 1}, {"review": 3, "stars": 1}], SCHEMA)
    fields = [(p["field"], p["row"]) for p in caught.value.problems]
    assert fields == [("review", 0), ("review", 1)]


def test_an_empty_csv_cell_is_an_empty_document_but_a_gap_elsewhere():
    frame = tabular.from_csv("review,stars,shop\n,,\nok,2,a\n", SCHEMA)
    assert frame["review"].tolist() == ["", "ok"]
    assert frame["shop"].tolist() == [None, "a"]
