"""artifacts.runtime.tabular.from_arrays: typed columns give exactly what the per-value path gives.

The reference is ``from_columns({name: array.tolist()})`` — the path batch scoring used before
the typed one — on random typed columns as Parquet/Arrow batches hold them (float64 with gaps,
infinities and fractions, integers, booleans, strings with None/NaN gaps, unseen categories
and the odd pd.NA, number or bytes), in columns of every schema type, nullable or not, with
either unseen policy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifacts import Column, InputSchema
from artifacts.runtime import tabular
from artifacts.runtime.tabular import SchemaMismatch

CATEGORIES = ("Biscoe", "Dream", "Ærø", "")
STRINGS = (*CATEGORIES, "Torgersen", "dream")


def outcome(call):
    """('frame', columns as plain lists) or ('refused', problems, total, message)."""
    try:
        frame = call()
    except SchemaMismatch as exc:
        return ("refused", exc.problems, exc.total, str(exc))
    if isinstance(frame, tabular.Batch):
        frame = frame.to_frame()
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if series.dtype == np.float64:
            values = series.to_numpy()
            columns[name] = (str(series.dtype), values.tobytes(), np.signbit(values).tolist())
        else:  # None stays None, each value keeps its type
            columns[name] = (str(series.dtype), [(type(v), v) for v in series.tolist()])
    return ("frame", list(frame.columns), columns)


def assert_same(arrays: dict[str, np.ndarray], schema: InputSchema) -> None:
    expected = outcome(
        lambda: tabular.from_columns({k: a.tolist() for k, a in arrays.items()}, schema)
    )
    assert outcome(lambda: tabular.from_arrays(arrays, schema)) == expected
    assert outcome(lambda: tabular.from_arrays(arrays, schema, lazy=True)) == expected


# --- strategies -------------------------------------------------------------------------------

floats = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 2.5, 3.0, 2.0**60]),
)
strings = st.one_of(
    st.sampled_from(STRINGS), st.none(), st.just(math.nan), st.sampled_from([pd.NA, 7, b"x"])
)


def typed_array(draw, n: int) -> np.ndarray:
    """One column of ``n`` values in a dtype an Arrow or Parquet batch gives numpy."""
    kind = draw(st.sampled_from(["float64", "float32", "int64", "int32", "bool", "str", "objbool"]))
    if kind in ("float64", "float32"):
        return np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=kind)
    if kind in ("int64", "int32"):
        bound = 2**62 if kind == "int64" else 2**31 - 1
        ints = st.one_of(st.integers(-5, 12), st.integers(-bound, bound))
        return np.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype=kind)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    pool = strings if kind == "str" else st.one_of(st.booleans(), st.none())
    out = np.empty(n, dtype=object)
    out[:] = draw(st.lists(pool, min_size=n, max_size=n))
    return out


def column(draw, name: str) -> Column:
    kind = draw(st.sampled_from(["double", "long", "string", "boolean", "long-cat"]))
    nullable = draw(st.booleans())
    unseen = draw(st.sampled_from(["keep", "error"]))
    if kind in ("double", "long"):
        return Column(name, kind, nullable=nullable)
    if kind == "long-cat":
        return Column(name, "long", nullable=nullable, categories=("1", "2", "3"), unseen=unseen)
    if kind == "boolean":
        categories = draw(st.sampled_from([("false", "true"), ("true",), ("false",)]))
        return Column(name, "boolean", nullable=nullable, categories=categories, unseen=unseen)
    return Column(name, "string", nullable=nullable, categories=CATEGORIES, unseen=unseen)


@st.composite
def typed_batches(draw):
    n = draw(st.integers(1, 12))
    names = ["a", "b", "c", "d"][: draw(st.integers(1, 4))]
    schema = InputSchema.tabular([column(draw, name) for name in names])
    arrays = {}
    for name in names:
        if draw(st.integers(0, 9)) == 0:
            continue  # the column is absent (a problem unless it is nullable)
        arrays[name] = typed_array(draw, n)
    if draw(st.integers(0, 9)) == 0:
        arrays["extra"] = typed_array(draw, n)  # an unknown column
    if not arrays:
        arrays[names[0]] = typed_array(draw, n)
    return arrays, schema


# --- tests ------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_batches())
def test_typed_columns_give_what_the_per_value_path_gives(batch):
    arrays, schema = batch
    assert_same(arrays, schema)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(floats, st.integers(-3, 12), strings, st.booleans()), min_size=1))
def test_parquet_shaped_batches(rows):
    """The batch scoring case: a double, a long, a string with gaps, a boolean; every policy."""
    x, n, s, b = zip(*rows, strict=True)
    text = np.empty(len(s), dtype=object)
    text[:] = s
    arrays = {"x": np.array(x), "n": np.array(n), "s": text, "b": np.array(b)}
    for nullable in (True, False):
        for unseen in ("keep", "error"):
            schema = InputSchema.tabular(
                [
                    Column("x", "double", nullable=nullable),
                    Column("n", "long", nullable=nullable),
                    Column("s", "string", nullable, categories=CATEGORIES, unseen=unseen),
                    Column("b", "boolean", nullable, categories=("true",), unseen=unseen),
                ]
            )
            assert_same(arrays, schema)


def test_clean_columns_take_the_fast_path(monkeypatch):
    """A batch without problems never reaches the per-value validators."""
    schema = InputSchema.tabular(
        [
            Column("x", "double"),
            Column("n", "long", nullable=False),
            Column("s", "string", categories=CATEGORIES, unseen="error"),
            Column("b", "boolean", categories=("false", "true")),
        ]
    )
    text = np.array(["Dream", None, "Ærø", math.nan], dtype=object)
    arrays = {
        "x": np.array([1.5, math.nan, -2.0, 0.0]),
        "n": np.array([1, 2, 3, 4], dtype=np.int64),
        "s": text,
        "b": np.array([True, False, False, True]),
    }

    def refuse(*args):
        raise AssertionError("the per-value path ran")

    monkeypatch.setattr(tabular, "_numeric", refuse)
    monkeypatch.setattr(tabular, "_categorical", refuse)
    frame = tabular.from_arrays(arrays, schema)
    assert frame["s"].tolist() == ["Dream", None, "Ærø", None]
    assert frame["b"].tolist() == ["true", "false", "false", "true"]
    assert frame["n"].dtype == np.float64
    assert text[3] is not None  # the caller's array is left alone
    assert math.isnan(text[3])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.array([1.0, math.inf])}, "row 1: not a finite number: inf"),
        ({"n": np.array([1.0, 2.5])}, "row 1: expected an integer, got 2.5"),
        ({"n": np.array([True, False])}, "row 0: expected a number, got boolean True"),
        ({"s": np.array(["Dream", "Moon"], dtype=object)}, "row 1: unseen category 'Moon'"),
    ],
)
def test_problems_name_the_rows(arrays, message):
    schema = InputSchema.tabular(
        [
            Column("x", "double"),
            Column("n", "long"),
            Column("s", "string", categories=CATEGORIES, unseen="error"),
        ]
    )
    with pytest.raises(SchemaMismatch, match=message):
        tabular.from_arrays(arrays, schema)


def test_frame_equals_from_columns_on_a_big_batch():
    rng = np.random.default_rng(3)
    n = 5000
    s = np.array(["Biscoe", "Dream", "Ærø", None], dtype=object)[rng.integers(0, 4, n)]
    arrays = {
        "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "n": rng.integers(0, 10, n),
        "s": s,
        "b": rng.random(n) < 0.5,
    }
    schema = InputSchema.tabular(
        [
            Column("x", "double"),
            Column("n", "long", nullable=False),
            Column("s", "string", categories=CATEGORIES, unseen="error"),
            Column("b", "boolean", categories=("false", "true")),
        ]
    )
    pd.testing.assert_frame_equal(
        tabular.from_arrays(arrays, schema),
        tabular.from_columns({k: a.tolist() for k, a in arrays.items()}, schema),
    )
