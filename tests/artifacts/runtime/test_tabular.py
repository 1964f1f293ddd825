"""artifacts.runtime.tabular: every request shape → the frame form, and every problem reported
at once."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifacts import ArtifactError, Column, InputSchema
from artifacts.runtime import tabular
from artifacts.runtime.tabular import SchemaMismatch

SCHEMA = InputSchema.tabular(
    [
        Column("x", "double", nullable=True, range=(0.0, 1.0)),
        Column("n", "long", nullable=False),
        Column("city", "string", nullable=True, categories=("Oslo", "Zürich", "")),
        Column("flag", "boolean", nullable=True, categories=("false", "true")),
        Column("grade", "long", nullable=False, categories=("1", "2", "3"), unseen="error"),
        Column("ratio", "double", nullable=True, categories=("0.5", "1.0")),
    ]
)
ROW = {"x": 0.5, "n": 3, "city": "Zürich", "flag": True, "grade": 2, "ratio": 1}
FORM = [0.5, 3.0, "Zürich", "true", "2", "1.0"]


def problems(exc: pytest.ExceptionInfo) -> set[tuple]:
    return {(p["field"], p["row"]) for p in exc.value.problems}


def test_records_become_the_frame_form():
    frame = tabular.from_records([ROW, {"n": 1, "grade": 3}], SCHEMA)
    assert list(frame.columns) == SCHEMA.column_names
    assert frame.iloc[0].tolist() == FORM
    assert [str(t) for t in frame.dtypes] == ["float64", "float64", *["object"] * 4]
    missing = frame.iloc[1]
    assert math.isnan(missing["x"])
    assert missing["city"] is None
    assert missing["flag"] is None
    assert missing["ratio"] is None


def test_every_shape_gives_the_same_frame():
    expected = tabular.from_records([ROW, ROW], SCHEMA)
    values = list(ROW.values())
    shapes = [
        tabular.from_split(list(ROW), [values, values], SCHEMA),
        tabular.from_split(list(ROW)[::-1], [values[::-1], values[::-1]], SCHEMA),
        tabular.from_rows([values, values], SCHEMA),
        tabular.from_columns({k: [v, v] for k, v in ROW.items()}, SCHEMA),
        tabular.from_columns(ROW, SCHEMA).loc[[0, 0]].reset_index(drop=True),
        tabular.from_csv(
            "x,n,city,flag,grade,ratio\n0.5,3,Zürich,True,2,1\n0.5,3,Zürich,true,2,1.0\n", SCHEMA
        ),
        tabular.conform(pd.DataFrame([ROW, ROW]), SCHEMA),
    ]
    for frame in shapes:
        pd.testing.assert_frame_equal(frame, expected)


def test_csv_empty_cells_are_missing_and_numbers_are_parsed():
    frame = tabular.from_csv('n,grade,city,x\n7,1,"",\n8,3,Oslo,NaN\n', SCHEMA)
    assert frame["city"].tolist() == [None, "Oslo"]
    assert np.isnan(frame["x"]).all()
    assert frame["n"].tolist() == [7.0, 8.0]


def test_every_problem_is_collected():
    rows = [
        {**ROW, "x": "0.5", "n": 1.5, "extra": 1, "city": 5},
        {**ROW, "n": None, "flag": "yes", "grade": 9, "x": True},
        {"x": 1.0},
    ]
    with pytest.raises(SchemaMismatch) as exc:
        tabular.from_records(rows, SCHEMA)
    assert isinstance(exc.value, ArtifactError)
    assert problems(exc) == {
        ("extra", None),
        ("x", 0),
        ("n", 0),
        ("city", 0),
        ("x", 1),
        ("n", 1),
        ("flag", 1),
        ("grade", 1),
        ("n", 2),
        ("grade", 2),
    }
    assert exc.value.total == 10
    assert "10 problem(s)" in str(exc.value)


def test_missing_required_columns_and_unknown_columns():
    with pytest.raises(SchemaMismatch) as exc:
        tabular.from_split(["x", "other"], [[0.1, 1]], SCHEMA)
    messages = {(p["field"], p["message"]) for p in exc.value.problems}
    assert ("n", "missing required column") in messages
    assert ("grade", "missing required column") in messages
    assert any(field == "other" and "unknown column" in msg for field, msg in messages)


def test_unseen_categories_follow_the_policy():
    frame = tabular.from_records([{**ROW, "city": "Paris", "ratio": 0.25}], SCHEMA)
    assert frame["city"].tolist() == ["Paris"]  # keep: the encoder's unseen bucket
    assert frame["ratio"].tolist() == ["0.25"]
    with pytest.raises(SchemaMismatch, match="unseen category '4'"):
        tabular.from_records([{**ROW, "grade": 4}], SCHEMA)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tabular.from_records([], SCHEMA), "non-empty list"),
        (lambda: tabular.from_records([1], SCHEMA), "must be an object"),
        (lambda: tabular.from_split("x", [[1]], SCHEMA), "'columns' must be a list"),
        (lambda: tabular.from_split(["x", "x"], [[1, 2]], SCHEMA), "repeat"),
        (lambda: tabular.from_split(["x"], [[1, 2]], SCHEMA), "list of 1 values"),
        (lambda: tabular.from_rows([[1]], SCHEMA), "list of 6 values"),
        (lambda: tabular.from_columns([], SCHEMA), "object of column"),
        (lambda: tabular.from_columns({"x": [1], "n": [1, 2]}, SCHEMA), "differ in length"),
        (lambda: tabular.from_columns({"x": [], "n": []}, SCHEMA), "no rows"),
        (lambda: tabular.from_columns({"x": 1, "n": [1]}, SCHEMA), "must be a list"),
        (lambda: tabular.from_csv("x,n\n", SCHEMA), "header row"),
        (lambda: tabular.from_csv('x,"n\n1,2', SCHEMA), "header row"),
    ],
)
def test_malformed_shapes(call, message):
    with pytest.raises(SchemaMismatch, match=message):
        call()


def test_problem_list_is_capped_but_counted():
    with pytest.raises(SchemaMismatch) as exc:
        tabular.from_records([{**ROW, "n": "x"}] * 500, SCHEMA)
    assert len(exc.value.problems) == tabular.MAX_PROBLEMS
    assert exc.value.total == 500


def test_conform_treats_nan_as_missing_and_keeps_booleans():
    frame = pd.DataFrame(
        {
            "x": [np.nan],
            "n": [np.int64(4)],
            "city": [None],
            "flag": [np.False_],
            "grade": [1],
            "ratio": [np.nan],
        }
    )
    out = tabular.conform(frame, SCHEMA)
    assert out.iloc[0].tolist()[1:5] == [4.0, None, "false", "1"]
    assert tabular.conform(frame.iloc[:0], SCHEMA).shape == (0, 6)


numbers = st.one_of(
    st.none(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False)
)
anything = st.one_of(
    numbers, st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2)
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from([*SCHEMA.column_names, "zz"]), anything), max_size=5)
)
def test_any_json_rows_give_a_frame_or_a_schema_mismatch(rows):
    """Never another exception; a frame always has the schema's columns and dtypes."""
    try:
        frame = tabular.from_records(rows, SCHEMA)
    except SchemaMismatch as exc:
        refused = exc
    else:
        refused = None
    if refused is not None:
        assert refused.total >= len(refused.problems) >= 1
        return
    assert list(frame.columns) == SCHEMA.column_names
    assert len(frame) == len(rows)
    for column in SCHEMA.columns:
        values = frame[column.name].tolist()
        if column.categorical:
            assert all(v is None or isinstance(v, str) for v in values)
        else:
            assert frame[column.name].dtype == np.float64


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(numbers, st.integers(0, 9), st.booleans()), min_size=1, max_size=5))
def test_valid_rows_round_trip_through_csv(rows):
    """JSON records and the same table as CSV text give the same frame."""
    records = [{"x": x, "n": n, "flag": f, "grade": 1 + n % 3} for x, n, f in rows]
    lines = ["x,n,flag,grade"] + [
        f"{'' if x is None else repr(float(x))},{n},{str(f).lower()},{1 + n % 3}"
        for x, n, f in rows
    ]
    from_json = tabular.from_records(records, SCHEMA)
    from_text = tabular.from_csv("\n".join(lines) + "\n", SCHEMA)
    pd.testing.assert_frame_equal(from_json, from_text)
